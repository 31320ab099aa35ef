"""Reach a deployed cluster from the operator's machine: stack settings + root password -> a session.

The same connection path as the providers (`execute.session`: `adminUrl`, else a port-forward to a
ready pod through the Kubernetes API), so `status` and `verify` see what `pulumi up` sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from components.args import ClusterArgs
from components.membership import execute
from components.membership.kube_types import KubeOps
from components.membership.topology import Naming


def naming(args: ClusterArgs) -> Naming:
    return Naming(
        statefulset=args.cluster_name,
        service=args.service_name,
        namespace=args.namespace,
        cluster_domain=args.cluster_domain,
        server_port=args.server_port,
    )


def members(args: ClusterArgs) -> list[str]:
    return [f"{args.cluster_name}-{i}" for i in range(args.replicas)]


def connection(args: ClusterArgs, password: str, statement_timeout: float = 30.0) -> execute.Connection:
    return execute.Connection(naming(args), args.rest_port, password, args.admin_url, statement_timeout)


def default_kube(args: ClusterArgs, kubeconfig: str | None) -> KubeOps:
    from components.membership.kube import KubernetesApi  # the client is imported only where it is used

    return KubernetesApi(kubeconfig or args.kubeconfig or None, args.kube_context or None)


KUBE_FACTORY: Callable[[ClusterArgs, str | None], KubeOps] = default_kube
"""The seam where tests put a fake Kubernetes."""


def read_topology(args: ClusterArgs, password: str, kubeconfig: str | None = None) -> dict[str, Any]:
    """The live dnodes and mnodes, in the shape of the ClusterMembership `topology` output."""
    kube = None if args.admin_url else KUBE_FACTORY(args, kubeconfig)
    with execute.session(connection(args, password), kube, members(args)) as s:
        state = execute.read_cluster(s.admin)
    return execute.topology(state, naming(args))
