"""The seed's "容错测试" as code: delete the mnode leader's pod and measure what the cluster does.

One loop, every `poll` seconds until the pod has rejoined (or the deadline): read `show mnodes`, write one
row into a table whose vgroup the deleted dnode led, read `count(*)` over every vgroup, list the pods and
`show dnodes`. A write or read proves availability only inside the failover window: after another mnode
became leader (so the old one really went away) and before the pod's dnode rejoined. Times are seconds
after the delete request; SQL goes through a session to another pod (or `adminUrl`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from components.membership import execute
from components.membership.errors import AdminTimeout, AdminUnreachable, MembershipError, TDengineError
from components.membership.kube_types import PodInfo, PodOps
from components.membership.topology import DNODES_SQL, MNODES_SQL, parse_state
from components.verify.bench import child_table, super_table
from components.verify.checks import VERIFY_DB, FailoverTarget, Vgroup, parse_vgroups, spread_problems
from components.verify.report import FailoverResult

Progress = Callable[[str], None]
HEARTBEAT = 15.0
"""Seconds between progress lines while nothing changes."""


@dataclass(frozen=True)
class FailoverOptions:
    timeout: float = 300.0
    """Deadline for the whole test: leader moved, write and read proven, pod rejoined, vgroups whole."""
    poll: float = 0.5
    statement_timeout: float = 5.0
    """Short, so a request stuck during the election does not hide the moment the cluster recovers."""


def run_failover(
    conn: execute.Connection,
    kube: PodOps,
    members: list[str],
    target: FailoverTarget,
    vgroups: tuple[Vgroup, ...],
    rows_before: int,
    options: FailoverOptions,
    progress: Progress,
) -> FailoverResult:
    conn = dataclasses.replace(conn, statement_timeout=min(conn.statement_timeout, options.statement_timeout))
    others = [m for m in members if m != target.pod]
    naming = conn.naming
    with execute.session(conn, kube, others) as s:
        led = tuple(vg.id for vg in vgroups if vg.leader is not None and vg.leader.dnode_id == target.dnode.id)
        table, vgroup = _write_target(s, led)
        f = FailoverResult(target.pod, target.dnode.id, led, table, vgroup, rows_before=rows_before)
        f.timeout = options.timeout
        deleted = _find_pod(kube, naming.namespace, naming.statefulset, target.pod)
        t0 = time.monotonic()  # times count from the delete request, so none can be earlier than its effect
        kube.delete_pod(naming.namespace, target.pod)
        progress(f"failover: deleted pod {target.pod} (dnode {target.dnode.id}, the mnode leader)")
        seen_down = False
        next_note = HEARTBEAT
        while True:
            t = time.monotonic() - t0
            if t >= next_note:
                next_note += HEARTBEAT
                progress(f"failover: {t:.0f}s, waiting for {_waiting_for(f)}")
            _observe_leader(s, target, f, t, progress)
            window = f.leader_moved is not None and f.rejoined is None
            _write(s, f, t, window)
            _read(s, f, t, window)
            pod = _find_pod(kube, naming.namespace, naming.statefulset, target.pod)
            if pod is None or pod.deleting or not pod.ready or _replaced(deleted, pod):
                seen_down = True
            if seen_down and pod is not None and pod.ready and not pod.deleting and f.pod_ready is None:
                f.pod_ready = t
                progress(f"failover: pod {target.pod} Ready again after {t:.2f}s")
            if f.pod_ready is not None and _rejoined(s, target):
                f.rejoined = t
                progress(f"failover: dnode {target.dnode.id} rejoined after {t:.2f}s")
                break
            if t >= options.timeout:
                break
            time.sleep(options.poll)
        _settle(s, f, t0, options)
    _judge(f)
    return f


def _find_pod(kube: PodOps, namespace: str, statefulset: str, name: str) -> PodInfo | None:
    return next((p for p in kube.list_pods(namespace, statefulset) if p.name == name), None)


def _replaced(deleted: PodInfo | None, pod: PodInfo) -> bool:
    """A pod deleted and recreated between two polls is never seen absent or not Ready: only its new uid
    tells that the one we deleted went away."""
    return deleted is not None and bool(deleted.uid) and pod.uid != deleted.uid


def _waiting_for(f: FailoverResult) -> str:
    wanted = [
        ("another mnode to lead", f.leader_moved),
        ("a write", f.write_ok),
        ("a read", f.read_ok),
        (f"pod {f.pod} to be Ready", f.pod_ready),
    ]
    return ", ".join(what for what, done in wanted if done is None) or f"dnode {f.dnode_id} to rejoin"


def _write_target(s: execute.Session, led: tuple[int, ...]) -> tuple[str, int | None]:
    """A child table in a vgroup the deleted dnode leads (so the write must wait for a new leader)."""
    rows = s.admin.query(
        f"select table_name, vgroup_id from information_schema.ins_tables where db_name = '{VERIFY_DB}'"
    )
    placed = sorted((int(r["vgroup_id"]), str(r["table_name"])) for r in rows if r.get("table_name"))
    chosen = next(((v, n) for v, n in placed if v in led), placed[0] if placed else None)
    if chosen is None:
        return child_table(VERIFY_DB, 0), None
    return f"{VERIFY_DB}.{chosen[1]}", chosen[0]


def _observe_leader(
    s: execute.Session, target: FailoverTarget, f: FailoverResult, t: float, progress: Progress
) -> None:
    if f.leader_moved is not None:
        return
    try:
        state = parse_state([], s.admin.query(MNODES_SQL), [], [])
    except (TDengineError, AdminUnreachable):
        _reconnect(s)
        return
    leader = state.leader
    if leader is not None and leader.id != target.mnode.id:
        f.leader_moved = t
        f.new_leader = f"dnode {leader.id} ({s.conn.naming.pod_of(leader) or leader.endpoint})"
        progress(f"failover: mnode leader moved to {f.new_leader} after {t:.2f}s")


def _refused(f: FailoverResult, t: float, what: str) -> None:
    f.refused[what] += 1
    f.refused_span = (f.refused_span[0] if f.refused_span else t, t)


def _write(s: execute.Session, f: FailoverResult, t: float, window: bool) -> None:
    try:
        s.admin.execute(f"insert into {f.write_table} (ts) values (now)")
    except AdminTimeout:
        f.uncertain += 1
        return
    except TDengineError as e:
        _refused(f, t, f"write: 0x{e.code:04X} {e.message}")
        return
    except AdminUnreachable:
        _refused(f, t, "write: taosAdapter unreachable")
        _reconnect(s)
        return
    f.acknowledged += 1
    if window and f.write_ok is None:
        f.write_ok = t


def _read(s: execute.Session, f: FailoverResult, t: float, window: bool) -> None:
    try:
        s.admin.query(f"select count(*) from {super_table(VERIFY_DB)}")
    except TDengineError as e:
        _refused(f, t, f"read: 0x{e.code:04X} {e.message}")
        return
    except AdminUnreachable:
        _refused(f, t, "read: taosAdapter unreachable")
        _reconnect(s)
        return
    if window and f.read_ok is None:
        f.read_ok = t


def _rejoined(s: execute.Session, target: FailoverTarget) -> bool:
    """The pod's dnode is `ready` again and its mnode is back as a follower (or leader)."""
    try:
        state = parse_state(s.admin.query(DNODES_SQL), s.admin.query(MNODES_SQL), [], [])
    except (TDengineError, AdminUnreachable):
        return False
    dnode = next((d for d in state.dnodes if d.id == target.dnode.id), None)
    mnode = next((m for m in state.mnodes if m.id == target.mnode.id), None)
    return dnode is not None and dnode.is_ready and mnode is not None and mnode.role in ("follower", "leader")


def _settle(s: execute.Session, f: FailoverResult, t0: float, options: FailoverOptions) -> None:
    """After the rejoin: every vgroup whole again (until the deadline), then the final row count."""
    if f.rejoined is None:
        return
    while True:
        try:
            problems = spread_problems(parse_vgroups(s.admin.query(f"show {VERIFY_DB}.vgroups")), 3)
        except (TDengineError, AdminUnreachable) as e:
            problems = [f"show {VERIFY_DB}.vgroups failed after the rejoin: {e}"]
        if not problems or time.monotonic() - t0 >= options.timeout:
            break
        time.sleep(options.poll)
    f.problems += [f"after the rejoin: {p}" for p in problems]
    try:
        f.rows_after = int(s.admin.query(f"select count(*) from {super_table(VERIFY_DB)}")[0]["count(*)"])
    except (TDengineError, AdminUnreachable, IndexError, KeyError) as e:
        f.problems.append(f"count(*) after the failover failed: {e}")


def _judge(f: FailoverResult) -> None:
    pod = f.pod
    if f.leader_moved is None:
        back = f" ({pod} was back at +{f.rejoined:.2f}s first)" if f.rejoined is not None else ""
        f.problems.append(f"the mnode leader did not move to another dnode after {pod} was deleted{back}")
    if f.rejoined is None:
        f.problems.append(f"{pod} did not rejoin within {f.timeout:g}s (pod Ready: {f.pod_ready is not None})")
    elif f.leader_moved is not None:
        window = f"between the new leader at +{f.leader_moved:.2f}s and the rejoin at +{f.rejoined:.2f}s"
        if f.write_ok is None:
            f.problems.append(f"no write into {f.write_table} succeeded while {pod} was down ({window})")
        if f.read_ok is None:
            f.problems.append(f"no read of every vgroup succeeded while {pod} was down ({window})")
    if f.rows_after is not None and f.rows_after < f.rows_before + f.acknowledged:
        f.problems.append(
            f"{f.rows_before + f.acknowledged - f.rows_after} acknowledged write(s) lost: {f.rows_after} rows after "
            f"the failover, expected at least {f.rows_before} + {f.acknowledged}"
        )


def _reconnect(s: execute.Session) -> None:
    try:
        s.reconnect()
    except (MembershipError, OSError, RuntimeError):
        pass  # no other pod ready yet: the next round tries again
