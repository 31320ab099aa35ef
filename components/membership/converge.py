"""The seed's "创建mnode" and the joining half of "集群扩容", after the StatefulSet is ready (ClusterMembership):
a ready dnode for every member pod (`create dnode`, since the image's own auto-join fails once the root password
changed) and min(3, members) mnodes on the lowest ordinals, settled as one leader and followers.
"""

from __future__ import annotations

from components.membership import act, plan
from components.membership.plan import StepKind
from components.tdengine import wait
from components.tdengine.errors import ClusterError
from components.tdengine.naming import Naming
from components.tdengine.rows import ClusterState
from components.tdengine.session import Session, read_state
from components.tdengine.wait import Deadline, Pending, Progress, stderr_progress


def converge(
    s: Session,
    members: list[str],
    templates: list[str],
    deadline: Deadline,
    poll: float,
    progress: Progress = stderr_progress,
) -> ClusterState:
    """Until every member has a ready dnode and the mnodes are placed and settled; returns the last state."""
    naming = s.conn.naming

    def probe(_elapsed: float) -> ClusterState | Pending:
        state = read_state(s.admin)
        refuse_stale_data(state, naming, members, templates)
        steps = plan.plan_membership(state, naming, members)
        if not steps:
            return state
        changes = [step for step in steps if step.kind is not StepKind.WAIT]

        def take_all() -> None:
            for step in changes:
                act.take(s, step, progress)

        return Pending(steps[0].reason, act=take_all if changes else None)

    return wait.until(
        "joining the members", probe, deadline=deadline, poll=poll, reconnect=s.reconnect, progress=progress
    )


def refuse_stale_data(state: ClusterState, naming: Naming, members: list[str], templates: list[str]) -> None:
    """A pod on the volume of a dropped dnode (`dnodeId not match`) can never rejoin: say how to recover."""
    for pod in members:
        dnode = state.dnode_of(naming.fqdn(pod))
        if dnode is not None and dnode.note == "dnodeId not match":
            pvcs = " ".join(f"{t}-{pod}" for t in templates)
            raise ClusterError(
                f"pod {pod} runs on the data volume of a dnode that was dropped (dnode {dnode.id}: dnodeId not "
                f"match), so it can never rejoin. Fix: drop dnode {dnode.id}, then "
                f"kubectl -n {naming.namespace} delete pvc {pvcs} --wait=false && "
                f"kubectl -n {naming.namespace} delete pod {pod}, then re-run"
            )
