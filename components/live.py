"""Reach a deployed cluster from the operator's machine: stack settings + root password -> a session.

The same connection path as the providers (`tdengine.session`: `adminUrl`, else a port-forward to a ready
pod through the Kubernetes API), so `status` and `verify` see what `pulumi up` sees.
"""

from __future__ import annotations

from typing import Any

from components.args import ClusterArgs
from components.tdengine.connection import Connection
from components.tdengine.kube_types import PodOps
from components.tdengine.rows import topology
from components.tdengine.session import default_kube, read_state, session


def connection(args: ClusterArgs, password: str, statement_timeout: float = 30.0) -> Connection:
    return Connection(args.naming, args.rest_port, password, args.admin_url, statement_timeout)


def kube_for(args: ClusterArgs, kubeconfig: str | None) -> PodOps:
    """Kubernetes access as the stack has it: the given kubeconfig, else the stack's, else the ambient one."""
    return default_kube(kubeconfig or args.kubeconfig, args.kube_context)


def read_topology(args: ClusterArgs, password: str, kubeconfig: str | None = None) -> dict[str, Any]:
    """The live dnodes and mnodes, in the shape of the ClusterMembership `topology` output."""
    kube = None if args.admin_url else kube_for(args, kubeconfig)
    with session(connection(args, password), kube, args.members) as s:
        state = read_state(s.admin)
    return topology(state, args.naming)
