"""`pulumi refresh` of the membership resources: the members as the cluster has them (`rejoin.live_members`) and
its live topology. With them in the state, setting `replicas` back after a scale-in that stopped half-way is a
change the (offline) diff sees, and `pulumi up` carries it out.
"""

from __future__ import annotations

from typing import Any

from components.membership import rejoin
from components.membership.props import MembershipProps
from components.tdengine.errors import ClusterError
from components.tdengine.kube_types import PodOps
from components.tdengine.rows import topology
from components.tdengine.session import read_cluster, session
from components.tdengine.wait import Deadline

READ_SECONDS = 60.0
"""How long a refresh rides out an unreachable taosAdapter (readyTimeoutSeconds is for deployments)."""


def live(p: MembershipProps, kube: PodOps) -> tuple[list[str], dict[str, Any]]:
    """(members, topology) as the cluster has them now."""
    deadline = Deadline.after(min(p.ready_timeout, READ_SECONDS), "refresh")
    try:
        with session(p.connection(), kube, list(p.members)) as s:
            state = read_cluster(s, "refresh", deadline)
    except ClusterError as err:
        raise ClusterError(
            f"refresh could not read the cluster: {err}. Fix: make taosAdapter reachable (a ready member pod to "
            "port-forward to, or adminUrl) and run `pulumi refresh` again; nothing in the state was changed"
        ) from err
    return rejoin.live_members(state, p.naming), topology(state, p.naming)
