"""What the day-2 providers share: the Kubernetes seam, values as the dynamic host hands them (unknowns in preview,
numbers as floats), the naming from the inputs, and the outputs (never the kubeconfig)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi.output import Unknown

from components.args import default
from components.rollout.shape import ClusterShape
from components.tdengine.kube_types import WorkloadOps
from components.tdengine.naming import Naming


def workload_for(kubeconfig: str, context: str) -> WorkloadOps:
    from components.tdengine.session import default_workload

    return default_workload(kubeconfig, context)


KUBE_FACTORY: Callable[[str, str], WorkloadOps] = workload_for
"""The seam where tests put a fake Kubernetes; production uses the official client."""


def kube(props: Mapping[str, Any], stack_kubeconfig: str = "") -> WorkloadOps:
    return KUBE_FACTORY(str(props.get("kubeconfig") or "") or stack_kubeconfig, str(props.get("kubeContext") or ""))


def unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(unknown(v) for v in value)
    return False


def same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return float(a) == float(b)
    return bool(a == b)


def changed(olds: Mapping[str, Any], news: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [k for k in keys if unknown(news.get(k)) or not same(olds.get(k), news.get(k))]


def naming_of(inputs: Mapping[str, Any]) -> Naming:
    s = ClusterShape.from_inputs(inputs)
    domain, port = s.cluster_domain or default("clusterDomain"), s.server_port or default("serverPort")
    return Naming(s.statefulset, s.service, s.namespace, domain, port)


def public(props: Mapping[str, Any], **computed: Any) -> dict[str, Any]:
    """Outputs: the inputs without the kubeconfig, and whether one was given (for `delete`)."""
    kept = {k: v for k, v in props.items() if k != "kubeconfig"}
    return {**kept, "kubeconfigSet": bool(props.get("kubeconfig")), **computed}
