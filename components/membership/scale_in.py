"""The seed's "集群缩容" (scale-in), in the order it runs: the preflight, the drain of each departing dnode
(DnodeDecommission, before the StatefulSet shrinks), and the release of their volumes (ClusterMembership, once
the StatefulSet has shrunk and the pods are gone).

Each wait reads the cluster, asks `plan.py` for the next step, acts (`act.py`) and reads again, so a re-run
after an interruption resumes from the cluster's state. Every wait has a deadline, and a drain a stall
detector; running out raises with what was observed.
"""

from __future__ import annotations

from components.membership import act, plan, scale_plan
from components.membership.act import GO_BACK
from components.membership.plan import Step, StepKind
from components.membership.props import MembershipProps
from components.tdengine import wait
from components.tdengine.errors import ClusterError, Refused
from components.tdengine.kube_types import PodInfo
from components.tdengine.layout import Layout
from components.tdengine.rows import ClusterState, Dnode
from components.tdengine.session import Session, read_cluster, read_layout, read_state
from components.tdengine.wait import Deadline, Pending, Progress, Stall, stderr_progress

UNSEEN_MOVE_SECONDS = 30.0
"""How long a `redistribute vgroup` that shows no move is read again before the preflight judges it."""


def drain(s: Session, old_members: list[str], p: MembershipProps, progress: Progress = stderr_progress) -> list[str]:
    """Preflight and the placement plan (refusing before any change), then drain the departing dnodes one at a
    time, highest ordinal first, each waited for until its row is gone. Returns the drained pods."""
    naming = s.conn.naming
    new_members = list(p.members)
    deadline = Deadline.after(p.drain_timeout, "drainTimeoutSeconds")
    state = read_cluster(s, "scale-in preflight", deadline)
    departing = plan.departing_pods(state, naming, old_members, new_members)
    if not departing:
        return []
    # every refusal that needs no vgroup layout first: TDengine answers the layout's disk use only once no vnode
    # moves, and a refusal must not wait for that
    plan.preflight_scale_down(state, naming, departing, new_members, p.options, moving_ours=True)
    in_flight = [pod for pod in departing if (d := state.dnode_of(naming.fqdn(pod))) is not None and d.is_dropping]
    for pod in in_flight:
        progress(f"{pod}: its drop from an earlier run is still moving vnodes; waiting for it before planning the rest")
        drain_one(s, pod, p, progress, later=[q for q in departing if q not in in_flight])
    rest = [pod for pod in departing if pod not in in_flight]
    if not rest:
        return in_flight
    return in_flight + _plan_and_drain(s, rest, p, deadline, progress)


def _plan_and_drain(
    s: Session, departing: list[str], p: MembershipProps, deadline: Deadline, progress: Progress
) -> list[str]:
    """The state and the layout, read together (again while TDengine answers as transient: a redistribute still in
    flight), the preflight with them, the placement plan, then each drain."""
    naming = s.conn.naming
    new_members = list(p.members)

    def both(elapsed: float) -> tuple[ClusterState, Layout] | Pending:
        now = read_state(s.admin)
        layout = read_layout(s.admin, now)
        if scale_plan.redistribute_unseen(now, layout) and elapsed < UNSEEN_MOVE_SECONDS:
            return Pending(observed="a redistribute vgroup runs and no vgroup shows its move yet (or any more)")
        return now, layout

    state, layout = wait.until(
        "scale-in preflight",
        both,
        deadline=deadline,
        poll=p.poll_interval,
        reconnect=s.reconnect,
        progress=progress,
    )
    leaving = [d.id for pod in departing if (d := state.dnode_of(naming.fqdn(pod))) is not None]
    moving = scale_plan.redistributing(state, layout, leaving)
    plan.preflight_scale_down(state, naming, departing, new_members, p.options, moving)
    placement = scale_plan.plan_scale_in(state, layout, naming, departing, new_members, p.costs)
    if placement.refusal is not None:
        raise Refused(*placement.refusal, "scale-down")
    for line in scale_plan.describe(placement, departing):
        progress(line)
    for i, pod in enumerate(departing):
        drain_one(s, pod, p, progress, later=departing[i + 1 :])
    return departing


def drain_one(
    s: Session, pod: str, p: MembershipProps, progress: Progress = stderr_progress, later: list[str] | None = None
) -> None:
    """Move an mnode off the pod's dnode, move the vnodes the plan moves once (`redistribute vgroup`), then
    `drop dnode`, and wait until its row is gone from `show dnodes`. `later`: the pods drained after it."""
    naming = s.conn.naming
    deadline = Deadline.after(p.drain_timeout, "drainTimeoutSeconds")

    def probe(elapsed: float) -> bool | Pending:
        state = read_state(s.admin)
        step = plan.next_step(state, naming, pod, list(p.members), p.options)
        if step.kind is StepKind.DONE:
            progress(f"{pod}: dnode gone, drained in {elapsed:.1f}s")
            return True
        dnode = state.dnode_of(naming.fqdn(pod))
        assert dnode is not None  # the step would be `done` otherwise
        if step.kind is StepKind.DROP_DNODE and not step.force:
            step = _planned(state, read_layout(s.admin, state), pod, later or [], p)
        moving = dnode.is_dropping or (step.kind is StepKind.WAIT and bool(state.transactions))
        return Pending(
            observed=_observed(state, dnode, pod),
            act=None if step.kind is StepKind.WAIT else (lambda: act.take(s, step, progress, pod, within=deadline)),
            mark=dnode.vnodes if moving else None,
            note=f"{pod}: dnode {dnode.id} {dnode.status}, {dnode.vnodes} vnodes left, {elapsed:.1f}s"
            if dnode.is_dropping
            else f"{pod}: {step.reason}; dnode {dnode.id}: {dnode.vnodes} vnodes left, {elapsed:.1f}s"
            if moving
            else "",
            hint=_resume_hint(dnode, pod, naming.namespace),
        )

    wait.until(
        f"drain of {pod}",
        probe,
        deadline=deadline,
        poll=p.poll_interval,
        stall=Stall(p.stall_timeout, "stallTimeoutSeconds", "no vnode moved"),
        reconnect=s.reconnect,
        progress=progress,
    )


def _planned(state: ClusterState, layout: Layout, pod: str, later: list[str], p: MembershipProps) -> Step:
    """The plan's next statement for this pod, planned again from the cluster as it is now: a vnode to move
    once first, or the drop."""
    naming = p.naming
    placement = scale_plan.plan_scale_in(state, layout, naming, [pod, *later], list(p.members), p.costs)
    if placement.refusal is not None:
        reason, fix = placement.refusal
        raise ClusterError(
            f"the scale-in cannot go on with {pod}: {reason} (the cluster changed since the plan). Fix: {fix}, "
            f"then re-run `pulumi up`; or, {GO_BACK}"
        )
    dnode = state.dnode_of(naming.fqdn(pod))
    assert dnode is not None
    first = placement.first_for(dnode.id)
    if isinstance(first, scale_plan.Redistribute):
        reason = first.short
        return Step(
            StepKind.REDISTRIBUTE, dnode.id, dnode.endpoint, reason=reason, vgroup=first.group, members=first.members
        )
    moved = ", ".join(str(g) for g, _ in first.placed) if first is not None and first.placed else ""
    reason = f"moves vgroups {moved} in parallel" if moved else "no vnode left on it"
    return Step(StepKind.DROP_DNODE, dnode.id, dnode.endpoint, reason=reason)


def _resume_hint(dnode: Dnode, pod: str, namespace: str) -> str:
    """After a wait ran out: the move goes on by itself, unless the departing dnode is down."""
    if dnode.is_online:
        return f"The move goes on in TDengine; re-run `pulumi up` to keep waiting ({GO_BACK})."
    return (
        f"dnode {dnode.id} is offline, so no vnode can be copied from it: bring pod {pod} back "
        f"(kubectl -n {namespace} get pod {pod}); the drop goes on then; re-run `pulumi up` to keep waiting."
    )


def _observed(state: ClusterState, dnode: Dnode, pod: str) -> str:
    parts = [f"dnode {dnode.id} of {pod}: {dnode.status}, {dnode.vnodes} vnodes"]
    parts += [f"transaction {t.id} {t.oper} stage {t.stage} ({t.last_action_info})" for t in state.transactions]
    return "; ".join(parts)


def release_volumes(
    s: Session,
    first_ordinal: int,
    templates: list[str],
    deadline: Deadline,
    poll: float,
    progress: Progress = stderr_progress,
    before_scale_up: bool = False,
) -> list[str]:
    """Delete the PVCs of ordinals >= first_ordinal once their pods are gone and their dnodes are out of the
    cluster (read after the pods are gone, right before deciding). Runs after a scale-in, once the StatefulSet
    has shrunk (ClusterMembership), and before a scale-up reuses an ordinal whose volume an earlier scale-in
    left behind (DnodeDecommission: a dropped dnode's data dir never rejoins). Before a scale-up only pods
    still terminating are waited for: a running pod there is one the StatefulSet keeps (a scale-in that
    stopped half-way, healed by then), and its volume is never reclaimed. Returns the deleted PVCs."""
    kube = s.kube
    assert kube is not None
    naming = s.conn.naming

    def pods_gone(_elapsed: float) -> list[PodInfo] | Pending:
        pods = kube.list_pods(naming.namespace, naming.statefulset)
        leaving = [p.name for p in pods if p.ordinal >= first_ordinal and (p.deleting or not before_scale_up)]
        if not leaving:
            return pods
        still = f"pods {', '.join(leaving)} still there"
        return Pending(still, mark=tuple(leaving), note=f"reclaiming PVCs: waiting, {still}", value=pods)

    pods = wait.settle("released pods gone", pods_gone, deadline=deadline, poll=poll, progress=progress)
    state = read_cluster(s, "reclaiming PVCs", deadline)
    pvcs = kube.list_pvcs(naming.namespace, naming.statefulset, templates)
    deleted = []
    for pvc in plan.reclaimable_pvcs(pvcs, pods, state, naming, first_ordinal):
        progress(f"delete PVC {pvc.name} (pod {naming.pod(pvc.ordinal)} is gone and its dnode is out of the cluster)")
        kube.delete_pvc(naming.namespace, pvc.name)
        deleted.append(pvc.name)
    return deleted
