"""How a dynamic provider's failure reads in `pulumi up`: one line for an error raised on purpose (a refusal, a
wait that ran out, an unreachable cluster, invalid settings), a traceback only for a bug.

The dynamic-provider host (`python -m pulumi.dynamic`) answers every exception of check/diff/create/update/
delete/read with the gRPC error `traceback.format_exc()` (`_abort_with_traceback` in pulumi/dynamic/__main__.py),
which the CLI prints whole: a refusal's one useful line came last, under 20 lines of the host's own frames.
`install()` gives that module a `traceback` whose `format_exc()` is the message alone for a `ClusterError` or
`ConfigError` (messages that name the reason and the fix, and never a secret) and the full traceback otherwise.
It changes nothing in any other process: the providers call it on import, and only the host has that module.
"""

from __future__ import annotations

import sys
import traceback
import types
from collections.abc import MutableMapping
from typing import Any

from components.args import ConfigError
from components.tdengine.errors import ClusterError

KNOWN_ERRORS: tuple[type[BaseException], ...] = (ClusterError, ConfigError)
"""Errors raised on purpose: their message is the whole report."""
HOST_MODULES = ("__main__", "pulumi.dynamic.__main__")
"""Where the host's module lives: `python -m pulumi.dynamic` runs it as `__main__`."""


def message(err: BaseException) -> str | None:
    """What the engine should print for `err`: its message when it was raised on purpose, else None."""
    return str(err) if isinstance(err, KNOWN_ERRORS) else None


class _HostTraceback:
    """The `traceback` module as the host sees it: `format_exc()` of a known error is its message."""

    def __init__(self, real: types.ModuleType) -> None:
        self._real = real

    def format_exc(self, *args: Any, **kwargs: Any) -> str:
        text = message(sys.exc_info()[1] or Exception())
        return text if text is not None else str(self._real.format_exc(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def install(modules: MutableMapping[str, types.ModuleType] = sys.modules) -> bool:
    """Make the dynamic-provider host report known errors as their message; True when this process is one."""
    installed = False
    for name in HOST_MODULES:
        module = modules.get(name)
        if module is None or not hasattr(module, "DynamicResourceProviderServicer"):
            continue
        current = getattr(module, "traceback", None)
        if isinstance(current, _HostTraceback):
            installed = True
        elif current is traceback:
            setattr(module, "traceback", _HostTraceback(traceback))  # noqa: B010 (a module attribute mypy cannot see)
            installed = True
    return installed
