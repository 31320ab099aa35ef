"""The seed's "创建mnode" and the joining half of "集群扩容", after the StatefulSet is ready (ClusterMembership):
a ready dnode for every member pod (`create dnode`, since the image's own auto-join fails once the root password
changed) and min(3, members) mnodes on the lowest ordinals, settled as one leader and followers.
"""

from __future__ import annotations

from components.membership import act, heal, plan, rejoin
from components.membership.plan import StepKind
from components.tdengine import wait
from components.tdengine.errors import ClusterError
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
        stale = _stale(s, state, members, templates)
        if stale:

            def replace_volumes() -> None:
                for found in stale:
                    heal.heal(s, found, templates, deadline, poll, progress)

            return Pending(f"{', '.join(x.pod for x in stale)} on a dropped dnode's volume", act=replace_volumes)
        steps = plan.plan_membership(state, naming, members)
        if not steps:
            return state
        changes = [step for step in steps if step.kind is not StepKind.WAIT]

        def take_all() -> None:
            for step in changes:
                act.take(s, step, progress)

        if not changes and state.transactions:  # said once: a wait TDengine's own transaction sets (a drop's)
            return Pending(steps[0].reason, mark=steps[0].reason, note=steps[0].reason)
        return Pending(steps[0].reason, act=take_all if changes else None)

    return wait.until(
        "joining the members", probe, deadline=deadline, poll=poll, reconnect=s.reconnect, progress=progress
    )


def _stale(s: Session, state: ClusterState, members: list[str], templates: list[str]) -> list[rejoin.Stale]:
    """Member pods whose `create dnode` met 'dnodeId not match' (a dropped dnode's volume): healed, except the
    first dnode's, which is refused with the steps."""
    naming = s.conn.naming
    if s.kube is None or not any(d.note == rejoin.STALE_NOTE for d in state.dnodes):
        return []
    pods = s.kube.list_pods(naming.namespace, naming.statefulset)
    stale = rejoin.stale_members(state, pods, naming, members, before_statefulset=False)
    for found in stale:
        refusal = rejoin.stale_refusal(found, naming, templates)
        if refusal is not None:
            raise ClusterError(refusal)
    return stale
