"""What every dynamic provider of this program shares about values in the host: inputs as the host hands them
(unknowns in preview, every number a float over gRPC), which of them changed, and the outputs it stores (never
the kubeconfig). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi.output import Unknown

NEVER_OUTPUT = ("kubeconfig",)
"""Inputs never stored as outputs: `delete` and `read`, which see only outputs, get the kubeconfig from the stack's
config instead (`configure`), and `kubeconfigSet` says one was given."""


def unknown(value: Any) -> bool:
    """A value not known yet (preview), or a list or mapping holding one."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(unknown(v) for v in value)
    return False


def same(a: Any, b: Any) -> bool:
    """Equal, with numbers compared as numbers (an int sent, a float read back)."""
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return float(a) == float(b)
    return bool(a == b)


def changed(olds: Mapping[str, Any], news: Mapping[str, Any], keys: Iterable[str]) -> list[str]:
    """The keys whose value changed, or is not known yet, in the order given."""
    return [k for k in keys if unknown(news.get(k)) or not same(olds.get(k), news.get(k))]


def public(props: Mapping[str, Any], **computed: Any) -> dict[str, Any]:
    """Outputs: the inputs without the kubeconfig, whether one was given (for `delete`), and what was computed."""
    kept = {k: v for k, v in props.items() if k not in NEVER_OUTPUT}
    return {**kept, "kubeconfigSet": bool(props.get("kubeconfig")), **computed}
