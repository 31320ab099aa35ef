"""The way back from a half-done scale-in: a member pod running on the volume of a dropped dnode gets a new volume
and joins as a new dnode (the decisions: `rejoin.py`). Runs in DnodeDecommission (before the StatefulSet changes)
and in ClusterMembership (when `create dnode` meets 'dnodeId not match').

For each such pod, in order: drop the empty row `create dnode` made for it, if any (offline and empty: TDengine
drops it at once); delete its PVCs (Kubernetes keeps them until the pod is gone, `kubernetes.io/pvc-protection`);
delete the pod; wait until the StatefulSet controller has created it again, on new PVCs. No PVC is deleted while
its dnode is in the cluster: the dnode whose data is on it was dropped before, and the empty row goes first.
"""

from __future__ import annotations

from components.membership import act, rejoin
from components.membership.plan import Step, StepKind
from components.membership.rejoin import Stale
from components.tdengine import wait
from components.tdengine.errors import ClusterError
from components.tdengine.kube_types import PodInfo, PodOps
from components.tdengine.session import Session, read_state
from components.tdengine.wait import Deadline, Pending, Progress, stderr_progress


def check(
    s: Session,
    members: list[str],
    templates: list[str],
    deadline: Deadline,
    poll: float,
    progress: Progress = stderr_progress,
) -> list[str]:
    """Before the StatefulSet changes (DnodeDecommission): find the member pods on a dropped dnode's volume and
    heal them, or refuse (before touching anything else) when one cannot be. Returns the healed pods."""
    kube = _pods(s)
    naming = s.conn.naming
    state = read_state(s.admin)
    pods = kube.list_pods(naming.namespace, naming.statefulset)
    stale = rejoin.stale_members(state, pods, naming, members, before_statefulset=True)
    for found in stale:
        refusal = rejoin.stale_refusal(found, naming, templates)
        if refusal is not None:
            raise ClusterError(refusal)
    for found in stale:
        heal(s, found, templates, deadline, poll, progress)
    return [found.pod for found in stale]


def heal(s: Session, found: Stale, templates: list[str], deadline: Deadline, poll: float, progress: Progress) -> None:
    kube = _pods(s)
    naming = s.conn.naming
    progress(rejoin.announce(found))
    if found.row is not None:
        act.take(
            s, Step(StepKind.DROP_DNODE, found.row.id, found.row.endpoint, reason="empty, offline"), progress, found.pod
        )

        def row_gone(_elapsed: float) -> bool | Pending:
            row = read_state(s.admin).dnode_of(naming.fqdn(found.pod))
            return True if row is None else Pending(f"dnode {row.id} of {found.pod}: {row.status}")

        wait.until(f"drop of {found.pod}'s empty dnode", row_gone, deadline=deadline, poll=poll, reconnect=s.reconnect)
    for template in templates:
        progress(
            f"{found.pod}: delete PVC {template}-{found.pod} (its dnode was dropped; the pod keeps it until it goes)"
        )
        kube.delete_pvc(naming.namespace, f"{template}-{found.pod}")
    progress(f"{found.pod}: delete pod {found.pod} (the StatefulSet creates it again, on a new volume)")
    kube.delete_pod(naming.namespace, found.pod)

    def recreated(_elapsed: float) -> PodInfo | Pending:
        pod = next((p for p in kube.list_pods(naming.namespace, naming.statefulset) if p.name == found.pod), None)
        if pod is not None and pod.uid != found.uid and not pod.deleting:
            return pod
        return Pending(f"pod {found.pod} " + ("still terminating" if pod is not None else "not created again yet"))

    wait.until(f"{found.pod} on a new volume", recreated, deadline=deadline, poll=poll, progress=progress)


def _pods(s: Session) -> PodOps:
    if s.kube is None:
        raise ClusterError("no Kubernetes access is configured: a pod on a dropped dnode's volume cannot be replaced")
    return s.kube
