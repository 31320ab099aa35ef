"""What every dynamic provider of this program is, written once: nothing secret captured in `__provider` (the
state holds only a reference to the provider's class), and the stack's kubeconfig kept for `read` and `delete`,
which get only outputs, never the kubeconfig.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi import dynamic


class ProviderBase(dynamic.ResourceProvider):
    """The base of the four providers."""

    serialize_as_secret_always = False

    def configure(self, req: dynamic.ConfigureRequest) -> None:
        """Keep the stack's kubeconfig: `read` and `delete` get only outputs, which never carry it."""
        self._stack_kubeconfig = req.config.get("kubeconfig") or ""

    def kubeconfig_for(self, props: Mapping[str, Any]) -> str | None:
        """The kubeconfig that reaches this resource's cluster: its inputs' (create, update), else the stack's
        (read, delete); '' is the ambient one. None when the cluster was deployed with the stack's kubeconfig and it
        is not available now: never the ambient one then, which may name another cluster."""
        own = str(props.get("kubeconfig") or "")
        if own:
            return own
        stack = str(getattr(self, "_stack_kubeconfig", ""))
        return None if props.get("kubeconfigSet") and not stack else stack
