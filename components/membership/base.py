"""What every dynamic provider of this program is, written once: nothing secret captured in `__provider` (the
state holds only a reference to the provider's class), the stack's kubeconfig kept for `read` and `delete`,
which get only outputs, never the kubeconfig, and the one seam where tests put a fake Kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi import dynamic

from components.tdengine.kube_types import WorkloadOps


def official_client(kubeconfig: str, context: str) -> WorkloadOps:
    """The official Kubernetes client (imported only when a provider talks to the cluster)."""
    from components.tdengine.session import default_workload

    return default_workload(kubeconfig, context)


KUBE_FACTORY: Callable[[str, str], WorkloadOps] = official_client
"""The one seam, for every provider, where tests put a fake Kubernetes; production always uses the official client."""


def kube(kubeconfig: str, context: str) -> WorkloadOps:
    """Kubernetes, through the seam: a kubeconfig (path or content, '' = ambient) and its context ('' = current)."""
    return KUBE_FACTORY(kubeconfig, context)


def kube_of(props: Mapping[str, Any], kubeconfig: str = "") -> WorkloadOps:
    """Kubernetes as a resource's inputs name it: their kubeconfig (else `kubeconfig`) and `kubeContext`."""
    return kube(str(props.get("kubeconfig") or "") or kubeconfig, str(props.get("kubeContext") or ""))


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
