"""Runs the plans: statements, polling with deadlines and a stall detector, progress lines on stderr.

Each loop reads the cluster, asks `plan.py` for the next step, acts, and reads again, so a re-run after
an interruption resumes from the cluster's state. Every wait has a deadline and raises with what it saw.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from components.membership import plan
from components.membership.admin import AdminClient
from components.membership.errors import (
    AdminTimeout,
    AdminUnreachable,
    MemberNotDrained,
    MembershipError,
    TDengineError,
)
from components.membership.kube_types import KubeOps
from components.membership.topology import (
    DATABASES_SQL,
    DNODES_SQL,
    MNODES_SQL,
    TRANSACTIONS_SQL,
    ClusterState,
    Dnode,
    Naming,
    parse_state,
)

DNODE_ALREADY_EXISTS = 816
DNODE_NOT_EXIST = 817
MNODE_ALREADY_EXISTS = 928
MNODE_NOT_THERE = 929
TOO_MANY_MNODES = 937
DNODE_IN_DROPPING = 953
CONTINUES_IN_BACKGROUND = frozenset({981, 983, 991})

Progress = Callable[[str], None]


def stderr_progress(line: str) -> None:
    print(f"[tdengine] {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Connection:
    """How to reach one cluster: taosAdapter directly (admin_url) or through a port-forward."""

    naming: Naming
    rest_port: int
    password: str = field(repr=False)
    admin_url: str = ""
    statement_timeout: float = 30.0


class Session:
    """An AdminClient, through a port-forward to a ready member pod unless `admin_url` is set.
    `reconnect()` replaces a forward that died."""

    def __init__(self, conn: Connection, kube: KubeOps | None, members: list[str]) -> None:
        self.conn = conn
        self.kube = kube
        self.members = members
        self._stack = ExitStack()
        self.admin = self._open()

    def _open(self) -> AdminClient:
        if self.conn.admin_url:
            return AdminClient(self.conn.admin_url, self.conn.password, timeout=self.conn.statement_timeout)
        if self.kube is None:
            raise MembershipError("no adminUrl is set and no Kubernetes access is configured to port-forward")
        naming = self.conn.naming
        ready = {
            p.name for p in self.kube.list_pods(naming.namespace, naming.statefulset) if p.ready and not p.deleting
        }
        pod = next((p for p in sorted(self.members, key=naming.ordinal) if p in ready), None)
        if pod is None:
            raise AdminUnreachable(
                f"no ready pod among {', '.join(self.members)} in namespace {naming.namespace} to port-forward to"
            )
        url = self._stack.enter_context(self.kube.port_forward(naming.namespace, pod, self.conn.rest_port))
        return AdminClient(url, self.conn.password, timeout=self.conn.statement_timeout)

    def reconnect(self) -> None:
        if not self.conn.admin_url:
            self._stack.close()
            self._stack = ExitStack()
            self.admin = self._open()

    def close(self) -> None:
        self._stack.close()


@contextmanager
def session(conn: Connection, kube: KubeOps | None, members: list[str]) -> Iterator[Session]:
    s = Session(conn, kube, members)
    try:
        yield s
    finally:
        s.close()


def read_cluster(admin: AdminClient) -> ClusterState:
    return parse_state(
        admin.query(DNODES_SQL), admin.query(MNODES_SQL), admin.query(DATABASES_SQL), admin.query(TRANSACTIONS_SQL)
    )


def _tolerate(admin: AdminClient, sql: str, ok_codes: set[int]) -> None:
    try:
        admin.execute(sql)
    except TDengineError as err:
        if err.code not in ok_codes:
            raise


def _read(s: Session, deadline: float, what: str) -> ClusterState:
    """Read the cluster, riding out unreachable moments (and reopening the forward) until the deadline."""
    while True:
        try:
            return read_cluster(s.admin)
        except AdminUnreachable as err:
            if time.monotonic() >= deadline:
                raise MemberNotDrained(f"{what}: taosAdapter unreachable until the deadline: {err}") from None
            time.sleep(0.2)
            try:
                s.reconnect()
            except MembershipError:
                pass


def drain(
    s: Session,
    old_members: list[str],
    new_members: list[str],
    options: plan.DrainOptions,
    progress: Progress = stderr_progress,
) -> list[str]:
    """Scale-down: preflight, then drop the departing dnodes one at a time, highest ordinal first,
    each waited for until its row is gone. Returns the drained pods."""
    naming = s.conn.naming
    state = _read(s, time.monotonic() + options.drain_timeout, "preflight")
    departing = plan.departing_pods(state, naming, old_members, new_members)
    plan.preflight_scale_down(state, naming, departing, new_members, options)
    for pod in departing:
        drain_one(s, pod, new_members, options, progress)
    return departing


def drain_one(s: Session, pod: str, remaining: list[str], options: plan.DrainOptions, progress: Progress) -> None:
    naming = s.conn.naming
    start = time.monotonic()
    deadline = start + options.drain_timeout
    last_vnodes: int | None = None
    last_change = start
    while True:
        state = _read(s, deadline, f"draining {pod}")
        now = time.monotonic()
        step = plan.next_step(state, naming, pod, remaining, options)
        dnode = state.dnode_of(naming.fqdn(pod))
        if step.kind == "done":
            progress(f"{pod}: dnode gone, drained in {now - start:.1f}s")
            return
        assert dnode is not None
        if not dnode.is_dropping or dnode.vnodes != last_vnodes:
            if dnode.is_dropping:
                progress(f"{pod}: dnode {dnode.id} {dnode.status}, {dnode.vnodes} vnodes left, {now - start:.1f}s")
            last_vnodes, last_change = dnode.vnodes, now
        observed = _observed(state, dnode, pod)
        if now - last_change >= options.stall_timeout:
            raise MemberNotDrained(
                f"drain of {pod} stalled: no vnode moved for {now - last_change:.0f}s (stallTimeoutSeconds). "
                f"Observed: {observed}. {_resume_hint(dnode, pod, naming.namespace)}"
            )
        if now >= deadline:
            raise MemberNotDrained(
                f"drain of {pod} did not finish within {options.drain_timeout:g}s (drainTimeoutSeconds). "
                f"Observed: {observed}. {_resume_hint(dnode, pod, naming.namespace)}"
            )
        if step.kind == "wait":
            time.sleep(options.poll_interval)
        elif step.kind == "drop_mnode":
            progress(f"{pod}: drop mnode on dnode {step.dnode_id} (moving it before the drain)")
            _tolerate(s.admin, f"drop mnode on dnode {step.dnode_id}", {MNODE_NOT_THERE})
        elif step.kind == "create_mnode":
            _create_mnode(s, step, progress)
        elif step.kind == "drop_dnode":
            _drop_dnode(s, pod, step, progress)


def _create_mnode(s: Session, step: plan.Step, progress: Progress) -> None:
    """Tolerates 'already exists' and 'cannot exceed 3': a re-run may find it done."""
    progress(f"create mnode on dnode {step.dnode_id} ({step.endpoint})")
    _tolerate(s.admin, f"create mnode on dnode {step.dnode_id}", {MNODE_ALREADY_EXISTS, TOO_MANY_MNODES})


def _drop_dnode(s: Session, pod: str, step: plan.Step, progress: Progress) -> None:
    sql = f"drop dnode {step.dnode_id}" + (" force" if step.force else "")
    progress(f"{pod}: {sql}")
    try:
        s.admin.execute(sql)
    except AdminTimeout:
        progress(f"{pod}: {sql} still running after {s.conn.statement_timeout:g}s; polling")
    except TDengineError as err:
        if err.code in CONTINUES_IN_BACKGROUND:
            progress(f"{pod}: {err.message}; polling")
        elif err.code not in (DNODE_NOT_EXIST, DNODE_IN_DROPPING):
            raise MembershipError(
                f"{sql} for {pod} failed: {err}; nothing else was changed for it. Fix: resolve what TDengine "
                "names (a conflicting transaction: wait until 'show transactions' lists none), then re-run "
                "`pulumi up`; it resumes from the cluster's state"
            ) from None
    except AdminUnreachable as err:
        progress(f"{pod}: {sql}: {err}; polling")


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


def converge(
    s: Session,
    members: list[str],
    templates: list[str],
    ready_timeout: float,
    poll_interval: float,
    progress: Progress = stderr_progress,
) -> ClusterState:
    """After the StatefulSet is ready: every member has a ready dnode and min(3, members) mnodes exist;
    then the PVCs of ordinals beyond the members are reclaimed once their pods are gone."""
    naming = s.conn.naming
    deadline = time.monotonic() + ready_timeout
    while True:
        state = _read(s, deadline, "joining members")
        _refuse_stale_data(state, naming, members, templates)
        steps = plan.plan_membership(state, naming, members)
        if not steps:
            break
        if time.monotonic() >= deadline:
            raise MemberNotDrained(f"cluster did not converge within {ready_timeout:g}s: {steps[0].reason}")
        for step in steps:
            if step.kind == "create_dnode":
                progress(f"create dnode '{step.endpoint}' ({step.reason})")
                _tolerate(s.admin, f"create dnode '{step.endpoint}'", {DNODE_ALREADY_EXISTS})
            elif step.kind == "create_mnode":
                _create_mnode(s, step, progress)
            else:
                time.sleep(poll_interval)
    if s.kube is not None:
        reclaim_pvcs(s, len(members), templates, deadline, poll_interval, progress)
    return state


def _refuse_stale_data(state: ClusterState, naming: Naming, members: list[str], templates: list[str]) -> None:
    for pod in members:
        dnode = state.dnode_of(naming.fqdn(pod))
        if dnode is not None and dnode.note == "dnodeId not match":
            pvcs = " ".join(f"{t}-{pod}" for t in templates)
            raise MembershipError(
                f"pod {pod} runs on the data volume of a dnode that was dropped (dnode {dnode.id}: dnodeId not "
                f"match), so it can never rejoin. Fix: drop dnode {dnode.id}, then "
                f"kubectl -n {naming.namespace} delete pvc {pvcs} --wait=false && "
                f"kubectl -n {naming.namespace} delete pod {pod}, then re-run"
            )


def reclaim_pvcs(
    s: Session, first_ordinal: int, templates: list[str], deadline: float, poll_interval: float, progress: Progress
) -> list[str]:
    """Delete the PVCs of ordinals >= first_ordinal once their pods are gone and their dnodes are out
    (the cluster is read after the pods are gone, right before deciding)."""
    assert s.kube is not None
    naming = s.conn.naming
    while True:
        pods = s.kube.list_pods(naming.namespace, naming.statefulset)
        leaving = [p.name for p in pods if p.ordinal >= first_ordinal]
        if not leaving or time.monotonic() >= deadline:
            break
        time.sleep(poll_interval)
    state = _read(s, deadline, "reclaiming PVCs")
    pvcs = s.kube.list_pvcs(naming.namespace, naming.statefulset, templates)
    deleted = []
    for pvc in plan.reclaimable_pvcs(pvcs, pods, state, naming, first_ordinal):
        progress(f"delete PVC {pvc.name} (pod {naming.pod(pvc.ordinal)} is gone and its dnode is out of the cluster)")
        s.kube.delete_pvc(naming.namespace, pvc.name)
        deleted.append(pvc.name)
    return deleted


def topology(state: ClusterState, naming: Naming) -> dict[str, Any]:
    """The live topology as plain values for the resource outputs."""
    return {
        "dnodes": [
            {"pod": naming.pod_of(d) or "", "id": d.id, "endpoint": d.endpoint, "status": d.status, "vnodes": d.vnodes}
            for d in state.dnodes
        ],
        "mnodes": [{"id": m.id, "endpoint": m.endpoint, "role": m.role, "status": m.status} for m in state.mnodes],
    }
