"""The rolling restart (RollingRestart, after the StatefulSet changed): restart the pods the StatefulSet left on an
older revision one at a time, each only while the cluster is healthy, and wait after each until it has caught up.

The StatefulSet's `updateStrategy` is `OnDelete`, so its controller restarts nothing by itself: a pod gets the new
template when this deletes it (the controller recreates it at once, on the same PVCs). Each round reads the
cluster and the pods, asks `gates.next_step` what to do, acts and reads again, so a re-run after an interruption
resumes from what the cluster shows (which pods already run the new revision), never from memory. Every wait has a
deadline (`readyTimeoutSeconds`, per pod) and a stall detector (`stallTimeoutSeconds` with nothing changing), and
running out raises `WaitTimedOut` with what was observed; a cluster unhealthy before anything restarted is
refused (`Refused`), nothing restarted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from components.membership.props import MembershipProps
from components.rollout import gates
from components.rollout.gates import Health, RollStep, StepKind
from components.tdengine import sql, wait
from components.tdengine.errors import ClusterError, Refused
from components.tdengine.kube_types import WorkloadOps
from components.tdengine.rows import Vgroup, parse_alive, parse_vgroups, parse_vnodes
from components.tdengine.session import Session, read_state
from components.tdengine.wait import Deadline, Pending, Progress, Stall, stderr_progress


def read_health(
    kube: WorkloadOps,
    p: MembershipProps,
    s: Session | None,
    restarted: Mapping[str, float] | None = None,
    earlier: Mapping[int, int] | None = None,
) -> Health:
    """The StatefulSet, its pods and, with a session, the cluster: dnodes, mnodes, transactions, vgroups, vnodes,
    `show cluster alive`. `restarted` and `earlier`: what this run saw before (`gates.Health`)."""
    naming = p.naming
    sts = kube.read_statefulset(naming.namespace, naming.statefulset)
    pods = tuple(kube.list_pods(naming.namespace, naming.statefulset))
    if s is None:
        return Health(sts, pods)
    return Health(
        sts,
        pods,
        read_state(s.admin),
        parse_vgroups(s.admin.query(sql.VGROUPS)),
        parse_vnodes(s.admin.query(sql.VNODES)),
        parse_alive(s.admin.query(sql.CLUSTER_ALIVE)),
        dict(restarted or {}),
        dict(earlier or {}),
    )


class Readings:
    """The largest applied index of each vgroup, reading by reading, on the monotonic clock: `earlier()` is the
    newest reading at least `gates.REPORT_LAG` seconds old."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: list[tuple[float, dict[int, int]]] = []

    def add(self, vgroups: tuple[Vgroup, ...]) -> None:
        tops = {
            vg.id: max(applied)
            for vg in vgroups
            if (applied := [m.applied for m in vg.members if m.applied is not None and m.applied >= 0])
        }
        self._seen.append((self._clock(), tops))

    def earlier(self) -> dict[int, int]:
        now = self._clock()
        old = [tops for at, tops in self._seen if now - at >= gates.REPORT_LAG]
        if len(old) > 1:
            self._seen = self._seen[len(old) - 1 :]
        return old[-1] if old else {}


def wait_for_pods(kube: WorkloadOps, p: MembershipProps, progress: Progress = stderr_progress) -> None:
    """What pulumi-kubernetes' await did before the StatefulSet had `pulumi.com/skipAwait`: every member pod there
    and Ready (a new cluster: no SQL, the password may still be the image's until ClusterMembership sets it)."""
    members = list(p.members)

    def probe(_elapsed: float) -> bool | Pending:
        found = gates.pod_problems(read_health(kube, p, None), p.naming, members)
        if not found:
            return True
        return Pending("; ".join(found), mark=tuple(found), note=found[0])

    wait.until(
        "the StatefulSet's pods",
        probe,
        deadline=Deadline.after(p.ready_timeout, "readyTimeoutSeconds"),
        poll=p.poll_interval,
        progress=progress,
    )


def needs_restart(kube: WorkloadOps, p: MembershipProps) -> bool:
    """Whether a member pod runs another revision than the StatefulSet's update revision (read once)."""
    h = read_health(kube, p, None)
    sts = h.statefulset
    if sts is None or not sts.update_revision or sts.observed_generation < sts.generation:
        return False
    return any(pod.name in p.members and pod.revision and pod.revision != sts.update_revision for pod in h.pods)


def wait_for_a_ready_pod(kube: WorkloadOps, p: MembershipProps, progress: Progress = stderr_progress) -> None:
    """Until a member pod is Ready: the session port-forwards to one (no wait with adminUrl)."""
    if p.admin_url:
        return

    def probe(_elapsed: float) -> bool | Pending:
        pods = kube.list_pods(p.naming.namespace, p.naming.statefulset)
        if any(pod.ready and not pod.deleting and pod.name in p.members for pod in pods):
            return True
        return Pending("no member pod is Ready", note="waiting for a Ready pod to reach taosAdapter through")

    wait.until(
        "a Ready pod",
        probe,
        deadline=Deadline.after(p.ready_timeout, "readyTimeoutSeconds"),
        poll=p.poll_interval,
        progress=progress,
    )


def roll(
    s: Session,
    kube: WorkloadOps,
    p: MembershipProps,
    why: str,
    full: bool = False,
    progress: Progress = stderr_progress,
) -> list[str]:
    """Restart every pod not on the StatefulSet's update revision (`gates` decide which and when); returns the
    pods restarted. `why` says what changed, for the progress lines."""
    naming = p.naming
    members = list(p.members)
    restarted: list[str] = []
    before: dict[str, float] = {}
    """Pod -> its dnode's reboot_time just before this run restarted it."""
    while True:
        step = _until_step(s, kube, p, members, restarted, before, full, progress)
        if step.kind is StepKind.DONE:
            if restarted:
                progress(f"rolling restart done: {', '.join(restarted)} restarted, one at a time ({why})")
            return restarted
        if step.kind is StepKind.REFUSE:
            raise Refused(
                f"the cluster is not healthy before the restart: {'; '.join(step.problems)}",
                "bring the cluster back to health first (kubectl -n "
                f"{naming.namespace} get pods; show dnodes; show mnodes; show transactions), then re-run `pulumi up`. "
                "A pod that is down because of a setting this change fixes: delete it (kubectl -n "
                f"{naming.namespace} delete pod <pod>) and the StatefulSet recreates it with the new template",
                "restart",
                "No pod was restarted",
            )
        for pod in step.pods:
            line, reboot_time = _restart_line(s, pod, len(restarted) + 1, len(members), step, why)
            progress(line)
            if reboot_time is not None:
                before[pod] = reboot_time
            kube.delete_pod(naming.namespace, pod)
            restarted.append(pod)


def _until_step(
    s: Session,
    kube: WorkloadOps,
    p: MembershipProps,
    members: list[str],
    restarted: list[str],
    before: Mapping[str, float],
    full: bool,
    progress: Progress,
) -> RollStep:
    """Wait until the gates allow the next step (or say it is done, or refuse before anything restarted)."""
    naming = p.naming
    last = restarted[-1] if restarted else ""
    readings = Readings()

    def probe(elapsed: float) -> RollStep | Pending:
        h = read_health(kube, p, s, before, readings.earlier())
        readings.add(h.vgroups)
        step = gates.next_step(h, naming, members, full=full)
        if step.kind is StepKind.REFUSE and restarted:
            step = RollStep(StepKind.WAIT, reason=step.reason, problems=step.problems)
        if step.kind is not StepKind.WAIT:
            if last and step.kind in (StepKind.RESTART, StepKind.RESTART_ALL, StepKind.DONE):
                progress(f"{last}: back, its dnode ready and every vgroup caught up after {elapsed:.1f}s")
            return step
        observed = "; ".join(step.problems) or step.reason
        return Pending(
            observed,
            mark=step.problems,
            note=f"{last + ': ' if last else ''}{step.reason}, {elapsed:.1f}s",
            hint=_hint(naming.namespace, last),
        )

    what = f"restart of {last}" if last else "the health gate before the restart"
    return wait.until(
        what,
        probe,
        deadline=Deadline.after(p.ready_timeout, "readyTimeoutSeconds"),
        poll=p.poll_interval,
        stall=Stall(p.stall_timeout, "stallTimeoutSeconds", "nothing changed in the cluster's health"),
        reconnect=s.reconnect,
        progress=progress,
    )


def _restart_line(s: Session, pod: str, n: int, total: int, step: RollStep, why: str) -> tuple[str, float | None]:
    """The progress line of a restart, and the pod's dnode's reboot_time before it (None when unread)."""
    try:
        dnode = read_state(s.admin).dnode_of(s.conn.naming.fqdn(pod))
    except ClusterError:  # the line says less, and the gate judges by the pod's start time alone
        dnode = None
    on = f" (dnode {dnode.id})" if dnode is not None else ""
    first = f"; {step.reason}" if step.reason.startswith(pod) or step.kind is StepKind.RESTART_ALL else ""
    return f"restart {pod}{on}, {n} of {total}: {why}{first}", dnode.reboot_time if dnode is not None else None


def _hint(namespace: str, pod: str) -> str:
    if not pod:
        return "Re-run `pulumi up` once the cluster is healthy; no pod was restarted by this run."
    return (
        f"The roll stopped with {pod} restarted and nothing else: see why (kubectl -n {namespace} describe pod {pod}; "
        "show dnodes; show vgroups). Fix the cause (or set the changed setting back) and re-run `pulumi up`: it "
        "resumes from the pods' revisions"
    )
