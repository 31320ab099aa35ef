"""What `verify` found, and the short text report it prints. Pure: values in, lines out.

One line per check (`ok`/`FAIL`), indented detail lines under it, the failover timeline with times
measured from the pod's deletion, and a last `result` line with every problem.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from components.tdengine.naming import Naming
from components.tdengine.rows import ClusterState, Vgroup
from components.verify.checks import STABLE, vnodes_per_dnode


@dataclass(frozen=True)
class RestCheck:
    via: str
    """`port-forward to tdengine-0:6041` or `adminUrl http://...`."""
    databases: int
    seconds: float


@dataclass(frozen=True)
class Dataset:
    database: str
    replica: int
    tables: int
    rows: int
    pod: str
    seconds: float

    @property
    def expected(self) -> int:
        return self.tables * self.rows


@dataclass
class FailoverResult:
    """The failover test's timeline; every time is seconds after the pod was deleted (None: never)."""

    pod: str
    dnode_id: int
    led_vgroups: tuple[int, ...]
    write_table: str
    write_vgroup: int | None
    new_leader: str = ""
    """`dnode 2 (tdengine-1)` once another mnode leads."""
    leader_moved: float | None = None
    write_ok: float | None = None
    read_ok: float | None = None
    pod_ready: float | None = None
    rejoined: float | None = None
    refused: Counter[str] = field(default_factory=Counter)
    """Failed writes and reads during the test, by error."""
    refused_span: tuple[float, float] | None = None
    acknowledged: int = 0
    uncertain: int = 0
    """Writes whose answer never came (a client timeout): they may or may not have been applied."""
    rows_before: int = 0
    rows_after: int | None = None
    timeout: float = 0.0
    ended: float = 0.0
    """Seconds from the delete to the end of the test: what "not seen" means in the report."""
    last_seen: str = ""
    """The last round's observations (mnode roles, the pod, its dnode), for a cluster that did not recover."""
    problems: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """`leader moved` (a failover proven), `back before any election` (the deleted pod returned before another
        mnode took over: nothing proven either way), or `not recovered` (the dnode never rejoined: a failure)."""
        if self.rejoined is None:
            return NOT_RECOVERED
        return LEADER_MOVED if self.leader_moved is not None else BACK_FIRST


LEADER_MOVED, BACK_FIRST, NOT_RECOVERED = "leader moved", "back before any election", "not recovered"


@dataclass
class Report:
    cluster: str
    naming: Naming
    rest: RestCheck | None = None
    state: ClusterState | None = None
    cluster_problems: list[str] = field(default_factory=list)
    dataset: Dataset | None = None
    dataset_problem: str = ""
    counted: int | None = None
    count_problem: str = ""
    vgroups: tuple[Vgroup, ...] = ()
    spread_problems: list[str] = field(default_factory=list)
    failover: FailoverResult | None = None
    refusal: str = ""
    error: str = ""
    """What stopped the checks: the cluster unreachable, or a statement that failed."""

    @property
    def problems(self) -> list[str]:
        found = [self.error, self.refusal, *self.cluster_problems, self.dataset_problem, self.count_problem]
        found += self.spread_problems + (self.failover.problems if self.failover else [])
        return [p for p in found if p]


def summary(code: int, r: Report) -> dict[str, Any]:
    """The machine-readable result (the step's stdout; `verify --json`)."""
    f = r.failover
    return {
        "result": {0: "ok", 5: "not proven"}.get(code, "failed"),
        "exitCode": code,
        "rows": r.counted,
        "vgroups": len(r.vgroups),
        "dnodes": len(r.state.dnodes) if r.state else None,
        "problems": r.problems,
        **(
            {"failover": {"outcome": f.outcome, "ended": f.ended, **{k: getattr(f, n) for k, n in _TIMES.items()}}}
            if f is not None
            else {}
        ),
    }


_TIMES = {
    "leaderMoved": "leader_moved",
    "writeOk": "write_ok",
    "readOk": "read_ok",
    "podReady": "pod_ready",
    "rejoined": "rejoined",
}


def _mark(ok: bool) -> str:
    return "ok  " if ok else "FAIL"


def _at(t: float | None, ended: float) -> str:
    return f"+{t:.2f} s" if t is not None else f"not seen in {ended:.1f} s"


def format_report(r: Report) -> str:
    lines = [f"verify {r.cluster}"]
    if r.rest is not None:
        rest = r.rest
        lines.append(f"REST      ok    {rest.via}: show databases in {rest.seconds:.3f} s ({rest.databases} databases)")
    if r.state is not None:
        lines += _nodes(r.state, r.naming, r.cluster_problems)
    if r.dataset is not None:
        d = r.dataset
        lines.append(
            f"dataset   {_mark(not r.dataset_problem)}  {d.database}, replica {d.replica}: {d.tables} tables x "
            f"{d.rows} rows by taosBenchmark in {d.pod} ({d.seconds:.2f} s)"
        )
    if r.counted is not None and r.dataset is not None:
        d = r.dataset
        lines.append(f"rows      {_mark(not r.count_problem)}  {r.counted} of {d.expected} in {d.database}.{STABLE}")
    if r.vgroups:
        replica = r.dataset.replica if r.dataset else len(r.vgroups[0].voters)
        lines.append(
            f"vgroups   {_mark(not r.spread_problems)}  {len(r.vgroups)}, each to have a leader and {replica} "
            "replicas on distinct dnodes"
        )
        lines += [f"          vgroup {vg.id}: {vg.describe()}" for vg in r.vgroups]
        by_id = {d.id: r.naming.pod_of(d) or f"dnode {d.id}" for d in (r.state.dnodes if r.state else ())}
        spread = ", ".join(f"{by_id.get(i, f'dnode {i}')} {n}" for i, n in vnodes_per_dnode(r.vgroups).items())
        lines.append(f"          vnodes per dnode: {spread}")
    if r.failover is not None:
        lines += _failover(r.failover)
    problems = r.problems
    if problems:
        lines.append(f"result    FAILED ({len(problems)} problem{'s' if len(problems) > 1 else ''})")
        lines += [f"          - {p}" for p in problems]
    elif r.failover is not None and r.failover.outcome == BACK_FIRST:
        f = r.failover
        lines.append(
            f"result    NOT PROVEN: {f.pod} was back at +{f.rejoined:.2f} s before another mnode took over, so no "
            "failover happened; the cluster is healthy. Run `verify --failover` again to prove one"
        )
    else:
        lines.append("result    OK")
    return "\n".join(lines) + "\n"


def _nodes(state: ClusterState, naming: Naming, problems: list[str]) -> list[str]:
    ready = sum(d.is_ready for d in state.dnodes)
    dnode_ok = ready == len(state.dnodes)
    lines = [f"dnodes    {_mark(dnode_ok)}  {ready} of {len(state.dnodes)} ready"]
    lines += [
        f"          {naming.pod_of(d) or d.endpoint}  dnode {d.id}  {d.status}  {d.vnodes} vnodes" for d in state.dnodes
    ]
    leader = state.leader
    where = f"leader on {naming.pod_of(leader) or leader.endpoint}" if leader else "no leader"
    mnode_ok = not [p for p in problems if "mnode" in p]
    lines.append(f"mnodes    {_mark(mnode_ok)}  {len(state.mnodes)}, {where}")
    lines += [f"          {naming.pod_of(m) or m.endpoint}  mnode {m.id}  {m.role}" for m in state.mnodes]
    return lines


def _failover(f: FailoverResult) -> list[str]:
    led = f", leading vgroups {', '.join(map(str, f.led_vgroups))}" if f.led_vgroups else ""
    mark = "----" if f.outcome == BACK_FIRST and not f.problems else _mark(not f.problems)
    lines = [f"failover  {mark}  deleted pod {f.pod} (dnode {f.dnode_id}, mnode leader{led}): {f.outcome}"]
    where = f" (vgroup {f.write_vgroup})" if f.write_vgroup is not None else ""
    lines += [
        f"          {_at(f.leader_moved, f.ended)}  mnode leader moved to {f.new_leader or '-'}",
        f"          {_at(f.write_ok, f.ended)}  write ok into {f.write_table}{where} while {f.pod} was down",
        f"          {_at(f.read_ok, f.ended)}  read ok: count(*) over every vgroup while {f.pod} was down",
        f"          {_at(f.pod_ready, f.ended)}  pod {f.pod} Ready again",
        f"          {_at(f.rejoined, f.ended)}  dnode {f.dnode_id} ready and its mnode a follower: rejoined",
    ]
    if f.refused and f.refused_span is not None:
        first, last = f.refused_span
        lines.append(f"          refused from +{first:.2f} s to +{last:.2f} s:")
        lines += [f"            {n} x {e}" for e, n in sorted(f.refused.items())]
    if f.rows_after is not None:
        unsure = f" (+ up to {f.uncertain} unanswered)" if f.uncertain else ""
        lines.append(
            f"          rows after: {f.rows_after} ({f.rows_before} + {f.acknowledged} acknowledged writes{unsure})"
        )
    return lines
