"""The seed's "集群缩容" (scale-in), in the order it runs: the preflight, the drain of each departing dnode
(DnodeDecommission, before the StatefulSet shrinks), and the release of their volumes (ClusterMembership, once
the StatefulSet has shrunk and the pods are gone).

Each wait reads the cluster, asks `plan.py` for the next step, acts (`act.py`) and reads again, so a re-run
after an interruption resumes from the cluster's state. Every wait has a deadline, and a drain a stall
detector; running out raises with what was observed.
"""

from __future__ import annotations

from components.membership import act, plan
from components.membership.errors import MemberNotDrained
from components.membership.plan import StepKind
from components.membership.props import MembershipProps
from components.tdengine import wait
from components.tdengine.kube_types import PodInfo
from components.tdengine.rows import ClusterState, Dnode
from components.tdengine.session import Session, read_cluster, read_state
from components.tdengine.wait import Deadline, Pending, Progress, Stall, stderr_progress


def drain(s: Session, old_members: list[str], p: MembershipProps, progress: Progress = stderr_progress) -> list[str]:
    """Preflight, then drop the departing dnodes one at a time, highest ordinal first, each waited for until
    its row is gone. Returns the drained pods."""
    naming = s.conn.naming
    new_members = list(p.members)
    state = read_cluster(s, "scale-in preflight", Deadline.after(p.drain_timeout, "drainTimeoutSeconds"))
    departing = plan.departing_pods(state, naming, old_members, new_members)
    plan.preflight_scale_down(state, naming, departing, new_members, p.options)
    for pod in departing:
        drain_one(s, pod, p, progress)
    return departing


def drain_one(s: Session, pod: str, p: MembershipProps, progress: Progress = stderr_progress) -> None:
    """Move an mnode off the pod's dnode, `drop dnode`, and wait until its row is gone from `show dnodes`."""
    naming = s.conn.naming

    def probe(elapsed: float) -> bool | Pending:
        state = read_state(s.admin)
        step = plan.next_step(state, naming, pod, list(p.members), p.options)
        if step.kind is StepKind.DONE:
            progress(f"{pod}: dnode gone, drained in {elapsed:.1f}s")
            return True
        dnode = state.dnode_of(naming.fqdn(pod))
        assert dnode is not None  # the step would be `done` otherwise
        return Pending(
            observed=_observed(state, dnode, pod),
            act=None if step.kind is StepKind.WAIT else (lambda: act.take(s, step, progress, pod)),
            mark=dnode.vnodes if dnode.is_dropping else None,
            note=f"{pod}: dnode {dnode.id} {dnode.status}, {dnode.vnodes} vnodes left, {elapsed:.1f}s"
            if dnode.is_dropping
            else "",
            hint=_resume_hint(dnode, pod, naming.namespace),
        )

    wait.until(
        f"drain of {pod}",
        probe,
        deadline=Deadline.after(p.drain_timeout, "drainTimeoutSeconds"),
        poll=p.poll_interval,
        stall=Stall(p.stall_timeout, "stallTimeoutSeconds", "no vnode moved"),
        reconnect=s.reconnect,
        progress=progress,
        error=MemberNotDrained,
    )


def _resume_hint(dnode: Dnode, pod: str, namespace: str) -> str:
    """After a wait ran out: the drop goes on by itself, unless the departing dnode is down."""
    if dnode.is_online:
        return "The drop goes on in TDengine; re-run `pulumi up` to keep waiting."
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
) -> list[str]:
    """Delete the PVCs of ordinals >= first_ordinal once their pods are gone and their dnodes are out of the
    cluster (read after the pods are gone, right before deciding). Runs after a scale-in, once the StatefulSet
    has shrunk (ClusterMembership), and before a scale-up reuses an ordinal whose volume an earlier scale-in
    left behind (DnodeDecommission: a dropped dnode's data dir never rejoins). Returns the deleted PVCs."""
    kube = s.kube
    assert kube is not None
    naming = s.conn.naming

    def pods_gone(_elapsed: float) -> list[PodInfo] | Pending:
        pods = kube.list_pods(naming.namespace, naming.statefulset)
        leaving = [p.name for p in pods if p.ordinal >= first_ordinal]
        return Pending(f"pods {', '.join(leaving)} still there", value=pods) if leaving else pods

    pods = wait.settle("released pods gone", pods_gone, deadline=deadline, poll=poll, progress=progress)
    state = read_cluster(s, "reclaiming PVCs", deadline)
    pvcs = kube.list_pvcs(naming.namespace, naming.statefulset, templates)
    deleted = []
    for pvc in plan.reclaimable_pvcs(pvcs, pods, state, naming, first_ordinal):
        progress(f"delete PVC {pvc.name} (pod {naming.pod(pvc.ordinal)} is gone and its dnode is out of the cluster)")
        kube.delete_pvc(naming.namespace, pvc.name)
        deleted.append(pvc.name)
    return deleted
