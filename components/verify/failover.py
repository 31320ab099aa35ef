"""The seed's "容错测试" as code: delete the mnode leader's pod and measure what the cluster does.

One wait (`wait.settle`), a round every `poll` seconds until the pod has rejoined (or the deadline): read
`show mnodes`, write one row into a table whose vgroup the deleted dnode led, read `count(*)` over every
vgroup, list the pods and `show dnodes`. A write or read proves availability only inside the failover
window: after another mnode became leader (so the old one really went away) and before the pod's dnode
rejoined. Times are seconds after the delete request, read when each answer is in; SQL goes through a
session to another pod (or `adminUrl`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from components.tdengine import sql, wait
from components.tdengine.connection import Connection
from components.tdengine.errors import AdminTimeout, AdminUnreachable, TDengineError, WaitTimedOut
from components.tdengine.kube_types import PodInfo, PodOps
from components.tdengine.rows import Vgroup, parse_state, parse_vgroups
from components.tdengine.session import Session, session
from components.tdengine.wait import Deadline, Pending, Progress
from components.verify.bench import child_table, super_table
from components.verify.checks import VERIFY_DB, FailoverTarget, spread_problems
from components.verify.reads import read_again
from components.verify.report import FailoverResult

HEARTBEAT = 15.0
"""Seconds between progress lines while nothing changes."""
AFTER_TIMEOUT = 60.0
"""The final count's statement timeout: on a real 3.3.7.5 cluster a read in flight when a dnode left answered only
after 20 or 40 s (TDengine's client retry; tdengine-admin.md §15), with no error."""


@dataclass(frozen=True)
class FailoverOptions:
    timeout: float = 300.0
    """Deadline for the whole test: leader moved, write and read proven, pod rejoined, vgroups whole."""
    poll: float = 0.5
    statement_timeout: float = 30.0
    """Longer than TDengine's 20 s client retry, so a statement is not abandoned while it still runs: on real pods a
    round of 5 s timeouts during an election left requests running in the forwarded pod's taosAdapter until its
    connection pool (2 per core by default) was full, and every later statement answered HTTP 503 "system resources
    is not sufficient" or nothing, for 300 s, though the cluster itself had recovered. The rounds are sequential, so
    at most one statement is in flight; times are read when each answer is in."""


def run_failover(
    conn: Connection,
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
    with session(conn, kube, others) as s:
        led = tuple(vg.id for vg in vgroups if vg.leader is not None and vg.leader.dnode_id == target.dnode.id)
        table, vgroup = _write_target(s, led, options, progress)
        f = FailoverResult(target.pod, target.dnode.id, led, table, vgroup, rows_before=rows_before)
        f.timeout = options.timeout
        deleted = _find_pod(kube, naming.namespace, naming.statefulset, target.pod)
        t0 = time.monotonic()  # times count from the delete request, so none can be earlier than its effect
        kube.delete_pod(naming.namespace, target.pod)
        progress(f"failover: deleted pod {target.pod} (dnode {target.dnode.id}, the mnode leader)")
        seen_down = False

        def since() -> float:
            """Seconds since the delete, read when an answer is in, so no time is earlier than what it saw."""
            return time.monotonic() - t0

        def round_(_elapsed: float) -> bool | Pending:
            """One round of observations; done once the dnode has rejoined."""
            nonlocal seen_down
            _observe_leader(s, target, f, since, progress)
            window = f.leader_moved is not None and f.rejoined is None
            _write(s, f, since, window)
            _read(s, f, since, window)
            pod = _find_pod(kube, naming.namespace, naming.statefulset, target.pod)
            t = since()
            f.last_seen = _describe_pod(target.pod, pod)
            if pod is None or pod.deleting or not pod.ready or _replaced(deleted, pod):
                seen_down = True
            if seen_down and pod is not None and pod.ready and not pod.deleting and f.pod_ready is None:
                f.pod_ready = t
                progress(f"failover: pod {target.pod} Ready again after {t:.2f}s")
            if f.pod_ready is not None and _rejoined(s, target):
                t = since()
                f.rejoined = t
                progress(f"failover: dnode {target.dnode.id} rejoined after {t:.2f}s")
                return True
            return Pending(f"waiting for {_waiting_for(f)}", value=False)

        deadline = Deadline.after(options.timeout, start=t0)
        wait.settle(
            "failover", round_, deadline=deadline, poll=options.poll, progress=progress, heartbeat=HEARTBEAT, start=t0
        )
        if f.rejoined is None:
            f.last_seen = "; ".join(x for x in (_describe_mnodes(s), f.last_seen) if x)
        _settle(s, f, deadline, options, progress)
        f.ended = since()
    _judge(f)
    return f


def _describe_pod(name: str, pod: PodInfo | None) -> str:
    if pod is None:
        return f"pod {name} absent"
    state = "deleting" if pod.deleting else ("Ready" if pod.ready else "not Ready")
    return f"pod {name} {state}"


def _describe_mnodes(s: Session) -> str:
    """The mnodes' roles as the cluster answers now, or why it cannot."""
    try:
        state = parse_state([], s.admin.query(sql.MNODES), [], [])
    except (TDengineError, AdminUnreachable) as e:
        return f"show mnodes failed: {e}"
    roles = ", ".join(f"dnode {m.id} {m.role}" for m in state.mnodes)
    return f"mnodes: {roles or 'none'}"


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


def _write_target(
    s: Session, led: tuple[int, ...], options: FailoverOptions, progress: Progress
) -> tuple[str, int | None]:
    """A child table in a vgroup the deleted dnode leads (so the write must wait for a new leader). Read again on a
    transient answer (`read_again`)."""
    rows = read_again(
        s, "reading the verify tables", lambda a: a.query(sql.tables_of(VERIFY_DB)), progress, poll=options.poll
    )
    placed = sorted((int(r["vgroup_id"]), str(r["table_name"])) for r in rows if r.get("table_name"))
    chosen = next(((v, n) for v, n in placed if v in led), placed[0] if placed else None)
    if chosen is None:
        return child_table(VERIFY_DB, 0), None
    return f"{VERIFY_DB}.{chosen[1]}", chosen[0]


def _observe_leader(
    s: Session, target: FailoverTarget, f: FailoverResult, since: Callable[[], float], progress: Progress
) -> None:
    if f.leader_moved is not None:
        return
    try:
        state = parse_state([], s.admin.query(sql.MNODES), [], [])
    except (TDengineError, AdminUnreachable):
        wait.reconnect_quietly(s.reconnect)
        return
    t = since()
    leader = state.leader
    if leader is not None and leader.id != target.mnode.id:
        f.leader_moved = t
        f.new_leader = f"dnode {leader.id} ({s.conn.naming.pod_of(leader) or leader.endpoint})"
        progress(f"failover: mnode leader moved to {f.new_leader} after {t:.2f}s")


def _refused(f: FailoverResult, t: float, what: str) -> None:
    f.refused[what] += 1
    f.refused_span = (f.refused_span[0] if f.refused_span else t, t)


def _write(s: Session, f: FailoverResult, since: Callable[[], float], window: bool) -> None:
    try:
        s.admin.execute(sql.insert_now(f.write_table))
    except AdminTimeout:
        f.uncertain += 1
        return
    except TDengineError as e:
        _refused(f, since(), f"write: 0x{e.code:04X} {e.message}")
        return
    except AdminUnreachable:
        _refused(f, since(), "write: taosAdapter unreachable")
        wait.reconnect_quietly(s.reconnect)
        return
    f.acknowledged += 1
    if window and f.write_ok is None:
        f.write_ok = since()


def _read(s: Session, f: FailoverResult, since: Callable[[], float], window: bool) -> None:
    try:
        s.admin.query(sql.count_rows(super_table(VERIFY_DB)))
    except TDengineError as e:
        _refused(f, since(), f"read: 0x{e.code:04X} {e.message}")
        return
    except AdminUnreachable:
        _refused(f, since(), "read: taosAdapter unreachable")
        wait.reconnect_quietly(s.reconnect)
        return
    if window and f.read_ok is None:
        f.read_ok = since()


def _rejoined(s: Session, target: FailoverTarget) -> bool:
    """The pod's dnode is `ready` again and its mnode is back as a follower (or leader)."""
    try:
        state = parse_state(s.admin.query(sql.DNODES), s.admin.query(sql.MNODES), [], [])
    except (TDengineError, AdminUnreachable):
        return False
    dnode = next((d for d in state.dnodes if d.id == target.dnode.id), None)
    mnode = next((m for m in state.mnodes if m.id == target.mnode.id), None)
    return dnode is not None and dnode.is_ready and mnode is not None and mnode.is_settled


def _settle(s: Session, f: FailoverResult, deadline: Deadline, options: FailoverOptions, progress: Progress) -> None:
    """After the rejoin: every vgroup whole again (until the deadline), then the final row count."""
    if f.rejoined is None:
        return

    def whole(_elapsed: float) -> list[str] | Pending:
        try:
            problems = spread_problems(parse_vgroups(s.admin.query(sql.show_vgroups(VERIFY_DB))), 3)
        except (TDengineError, AdminUnreachable) as e:
            problems = [f"show {VERIFY_DB}.vgroups failed after the rejoin: {e}"]
        return Pending("; ".join(problems), value=problems) if problems else problems

    problems = wait.settle("vgroups whole after the rejoin", whole, deadline=deadline, poll=options.poll)
    f.problems += [f"after the rejoin: {p}" for p in problems]
    # A read in flight when a dnode leaves answers only after TDengine's 20 s client retry (reference §15); one that
    # met a transient answer is asked again.
    count = sql.count_rows(super_table(VERIFY_DB))
    try:
        rows = read_again(
            s, "counting the rows after the failover", lambda a: a.query(count, timeout=AFTER_TIMEOUT), progress
        )
        f.rows_after = int(rows[0]["count(*)"])
    except (TDengineError, AdminUnreachable, WaitTimedOut, IndexError, KeyError) as e:
        f.problems.append(f"count(*) after the failover failed: {e}")


def _judge(f: FailoverResult) -> None:
    """Three outcomes (`FailoverResult.outcome`): a deleted pod back before any election proves nothing and is no
    problem; a dnode that never rejoined is one, with what was seen last."""
    pod = f.pod
    if f.rejoined is None:
        moved = (
            f"the mnode leader moved to {f.new_leader} at +{f.leader_moved:.2f} s"
            if f.leader_moved
            else ("no other mnode took over")
        )
        f.problems.append(
            f"the cluster did not recover: dnode {f.dnode_id} of {pod} did not rejoin in {f.ended:.1f} s "
            f"({moved}; last seen: {f.last_seen or 'nothing'})"
        )
    # A write or read in the window between the new leader and the rejoin is measured, not judged: on a real
    # 3.3.7.5 cluster writes blocked up to 15 s and reads up to 40 s while vgroups elected, with no error
    # (tdengine-admin.md §15), and a pod back in 15 s leaves a window of a few seconds.
    if f.rows_after is not None and f.rows_after < f.rows_before + f.acknowledged:
        f.problems.append(
            f"{f.rows_before + f.acknowledged - f.rows_after} acknowledged write(s) lost: {f.rows_after} rows after "
            f"the failover, expected at least {f.rows_before} + {f.acknowledged}"
        )
