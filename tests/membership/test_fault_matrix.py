"""The fault matrix: one test per row, and the table in docs/testing.md generated from the same rows.

Each test drives the providers in the Pulumi engine's order (Diff, then Update only on a change; a failed
Update keeps the old outputs) against the simulator, injects one fault, and checks three things: what the
user sees (the error's type and the excerpts the table quotes, or the progress lines), that nothing was
lost (no data-safety violation, every vgroup with its replicas and tables on dnodes of the cluster, no PVC
of a member deleted, the StatefulSet untouched when the decommission failed), and that the next `up`
converges once the fault is gone. `python -m tests.membership.test_fault_matrix` prints the table.

Over 300 lines: the rows and their tests together, so the documented table cannot drift from them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.tdengine.errors import ClusterError, Refused, TDengineError, WaitTimedOut
from tests.engine import Engine, props
from tests.harness import drain_timed_out
from tests.sim import SimCluster
from tests.sim import ops as sim_ops

TESTING = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


@dataclass(frozen=True)
class Row:
    name: str
    """Its test is `test_<name>`."""
    fault: str
    sees: str
    """How `pulumi up` ends, with a `{}` where each quote goes."""
    quotes: tuple[str, ...]
    """Excerpts of the error message or the progress lines; the row's test asserts each one."""
    guaranteed: str


ROWS: tuple[Row, ...] = (
    Row(
        "rest_unreachable",
        "REST unreachable (taosAdapter refuses connections)",
        "before a drain, `WaitTimedOut` at the deadline: {} … {} …; during a drain, only the progress "
        "lines, then success",
        ("taosAdapter unreachable until the deadline", "cannot reach taosAdapter at"),
        "Before the drain: nothing sent, StatefulSet untouched, and the next `up` drains. An outage shorter than "
        "`drainTimeoutSeconds` in the middle of a drain is ridden out.",
    ),
    Row(
        "http_5xx",
        "HTTP 5xx from taosAdapter or a proxy",
        "a few: the progress line {} … {}, then success; until the deadline: `WaitTimedOut` {} … {}",
        (
            "answered HTTP 502 (unknown error) to: drop dnode",
            "; polling",
            "taosAdapter unreachable until the deadline",
            "answered HTTP 503",
        ),
        "A 5xx runs nothing, so a refused `drop dnode` is sent again after re-reading the cluster. Persistent "
        "5xx: nothing sent, StatefulSet untouched, and the next `up` drains.",
    ),
    Row(
        "http_401",
        "HTTP 401 (taosAdapter with `httpCodeServerError`, or a proxy)",
        "`TDengineError` 855 at once, not retried until the deadline: {} … {}",
        ("Authentication failure", "Fix: set rootPassword"),
        "Nothing sent, StatefulSet untouched. The next `up` with working credentials drains.",
    ),
    Row(
        "tdengine_error_mid_plan",
        "TDengine error in the middle of a plan (5 -> 3: the second `drop dnode` answers 979)",
        "`ClusterError`: {} … {}",
        (
            "for tdengine-3 failed: TDengine error 0x03D3 (979): Conflict transaction not completed",
            "then re-run `pulumi up`; it resumes from the cluster's state",
        ),
        "tdengine-4 stays drained, tdengine-3 keeps its vnodes, the StatefulSet stays at 5. The next `up` drops "
        "only tdengine-3, then shrinks and reclaims both volumes.",
    ),
    Row(
        "drop_background",
        '`drop dnode` answers 981 "will continue in the background"',
        "the progress lines {} and {}, then success",
        ("will continue in the background; polling", "dnode gone"),
        "The drop is sent once and waited for until the dnode's row is gone; only then does the StatefulSet shrink.",
    ),
    Row(
        "drop_stalls",
        "the drop stalls (no vnode moves)",
        "the drain's `WaitTimedOut` after `stallTimeoutSeconds`: {} … {}, with the dnode's status, vnodes left and the "
        "transaction's {} … {}",
        ("stalled: no vnode moved", "(stallTimeoutSeconds)", "stage redoAction", "re-run `pulumi up` to keep waiting"),
        "StatefulSet untouched, the vnodes still on the departing dnode. The next `up` waits for our drop "
        "without sending another.",
    ),
    Row(
        "port_forward_dies",
        "the port-forward dies in the middle of a drain (no `adminUrl`)",
        "the progress line {} … {}, then {} and success",
        ("cannot reach taosAdapter at", "; polling", "dnode gone"),
        "The provider opens a new port-forward and keeps waiting; the drop is sent once.",
    ),
    Row(
        "departing_pod_crashes",
        "the pod of the departing dnode crashes in the middle of its drain",
        "the drain's `WaitTimedOut` after `stallTimeoutSeconds`: {} … {} … {}",
        (
            "stalled: no vnode moved",
            "dropping*",
            "is offline, so no vnode can be copied from it: bring pod tdengine-3 back",
        ),
        "StatefulSet untouched, no vnode lost. Once the pod is back, the next `up` waits for the same drop.",
    ),
    Row(
        "second_up_after_failed",
        "a second `pulumi up` after one that failed after the StatefulSet changed (5 -> 3; REST lost before "
        "the volumes were reclaimed)",
        "first `up`: `WaitTimedOut` {}; second `up`: the progress line {}, then success",
        ("taosAdapter unreachable until the deadline", "delete PVC taosdata-tdengine-4"),
        "No PVC deleted without reading the cluster. The second `up` runs only ClusterMembership (Diff shows "
        "nothing else changed), which reclaims the volumes and refreshes `topology`.",
    ),
    Row(
        "config_changed_between_runs",
        "stack config changed between runs (5 -> 3 stalled on tdengine-3, then `replicas: 4`)",
        "`Refused`: {} … Fix: {}",
        ("of tdengine-3, which the new replicas keep, is being dropped", "set replicas to 3 or fewer"),
        "Nothing changed, the StatefulSet stays at 5. Following the fix, `up` at 3 finishes the drop and `up` at "
        "4 adds tdengine-3 back as a new dnode.",
    ),
)
ROWS += (
    Row(
        "scale_in_taken_back",
        "a scale-in that failed half-way, taken back: 5 -> 3 stopped after tdengine-4 was drained (the second "
        "`drop dnode` answers 979), then `pulumi refresh` and `replicas: 5` again",
        "without the refresh, nothing (Diff: 5 = 5); after it, the progress lines {} … {} … {}, then success",
        (
            "tdengine-4 runs on the data volume of a dropped dnode",
            "delete PVC taosdata-tdengine-4",
            "delete pod tdengine-4 (the StatefulSet creates it again, on a new volume)",
        ),
        "Refresh writes the live members (tdengine-0..3) into both resources' state, so `replicas: 5` is a change "
        "Diff and `preview` show. tdengine-4's volume is replaced only because its dnode is out of the cluster; it "
        "joins with a new dnode id; 5 ready dnodes, no vnode lost or moved back.",
    ),
    Row(
        "stale_member_on_a_later_up",
        "that failed scale-in, then (no refresh) a `pulumi up` at 5 with another setting changed "
        "(`stallTimeoutSeconds`)",
        "the progress line {} (`show dnodes` has no row for it), then {} and success",
        ("tdengine-4 runs on the data volume of a dropped dnode", "delete pod tdengine-4"),
        "Found by DnodeDecommission before the StatefulSet changes, named, and healed the same way (a first "
        "dnode's pod would be refused with the steps: a new volume there starts a second cluster).",
    ),
)
ROW = {r.name: r for r in ROWS}


# -- the table in docs/testing.md --------------------------------------------------------------------------------
def table(rows: tuple[Row, ...] = ROWS) -> str:
    """The Markdown table in docs/testing.md's `## Fault matrix`."""
    lines = ["| Fault | What the user sees | Guaranteed |", "|---|---|---|"]
    for r in rows:
        sees = r.sees.format(*(f"``{q}``" if "`" in q else f"`{q}`" for q in r.quotes))
        lines.append(f"| {r.fault} | {sees} | {r.guaranteed} |")
    return "\n".join(lines)


def documented_table() -> str:
    section = TESTING.read_text(encoding="utf-8").split("\n## Fault matrix\n", 1)[1].split("\n#", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_documented_table_is_generated_from_the_rows():
    assert documented_table() == table(), "regenerate it: venv/bin/python -m tests.membership.test_fault_matrix"


def test_every_row_has_one_test():
    assert [f"test_{r.name}" for r in ROWS] == [n for n in globals() if n.startswith("test_") and n[5:] in ROW]
    assert all(r.sees.count("{}") == len(r.quotes) for r in ROWS)
    assert all("|" not in q and not q.startswith("`") and not q.endswith("`") for r in ROWS for q in r.quotes)


def shows(row: str, text: str) -> None:
    """What the user saw contains every excerpt the table quotes for this row."""
    missing = [q for q in ROW[row].quotes if q not in text]
    assert not missing, f"{row}: {missing} not in:\n{text}"


# -- the engine, the cluster, and what "nothing lost" means -------------------------------------------------
class PulumiEngine(Engine):
    """Engine with the engine's Diff step: Update runs only when Diff reports a change, the StatefulSet
    changes only with `replicas`, and a failed Update leaves the old outputs in state."""

    def up(self, n: int, **overrides: Any) -> dict[str, Any]:
        news = props(self.sim, n, **overrides)
        self.decommission_outs = self._apply(self.decommission, self.decommission_outs, news)
        if n != self.replicas:
            self.scale_statefulset(n)
        self.membership_outs = self._apply(self.membership, self.membership_outs, news)
        return self.membership_outs

    def _apply(self, provider: Any, olds: dict[str, Any] | None, news: dict[str, Any]) -> dict[str, Any]:
        if olds is None:
            return provider.create(news).outs
        if not provider.diff("id", olds, news).changes:
            return olds
        self.log.append(f"update {type(provider).__name__}")
        return provider.update("id", olds, news).outs


@pytest.fixture
def sim(request):
    with SimCluster(migration_seconds=getattr(request, "param", 0.05)) as s:
        yield s
        assert s.violations == []


def running(sim: SimCluster, n: int, vgroups: int = 8, tables: int = 16) -> PulumiEngine:
    """An n-pod cluster brought up by `pulumi up`, with a replica-1 database holding tables."""
    sim.bootstrap(n)
    engine = PulumiEngine(sim)
    engine.up(n)
    sim.create_database("app", replica=1, vgroups=vgroups)
    for _ in range(tables):
        sim_ops.create_table(sim.cluster, "app")
    return engine


def data(sim: SimCluster) -> dict[int, tuple[str, int, int]]:
    """Every vgroup: database, replica, tables (what every fault must leave intact)."""
    return {vg["id"]: (vg["db"], vg["replica"], vg["tables"]) for vg in sim.vgroups()}


def nothing_lost(sim: SimCluster, before: dict[int, tuple[str, int, int]]) -> None:
    """No violation; the same vgroups and tables, each vgroup with all its replicas on dnodes of the cluster."""
    assert sim.violations == []
    assert data(sim) == before
    live = {d["id"] for d in sim.dnodes()}
    for vg in sim.vgroups():
        assert len(vg["members"]) == vg["replica"] and set(vg["members"]) <= live, vg


def names(n: int) -> list[str]:
    return [f"tdengine-{i}" for i in range(n)]


def pods(sim: SimCluster) -> list[str]:
    return [p.name for p in sim.kube.pods()]


def dnode_pods(sim: SimCluster) -> list[str]:
    return sorted(d["endpoint"].split(".")[0] for d in sim.dnodes())


def pvcs(sim: SimCluster) -> list[str]:
    return [p.name for p in sim.kube.pvcs()]


def writes(sim: SimCluster, since: int) -> list[str]:
    """Statements that change the cluster, sent since request number `since` (refused ones included)."""
    return [r.sql for r in sim.requests[since:] if r.sql.split(None, 1)[0].lower() not in ("show", "select")]


def drops(sim: SimCluster, since: int) -> list[str]:
    return [w for w in writes(sim, since) if w.startswith("drop dnode")]


def untouched(sim: SimCluster, engine: PulumiEngine, n: int) -> None:
    """A failed decommission: the StatefulSet kept its n pods and the state its n members."""
    assert pods(sim) == names(n) and sim.kube.replicas == n
    assert engine.decommission_outs is not None and engine.decommission_outs["members"] == names(n)


def during_drop(sim: SimCluster, ordinal: int, action: Callable[[], None]) -> threading.Thread:
    """Run `action()` once the dnode of pod `ordinal` shows `dropping` (in the middle of its drain)."""

    def run() -> None:
        sim.wait_until(lambda s: (s.dnode(sim.endpoint(ordinal)) or {}).get("status", "").startswith("dropping"))
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# -- one test per row ---------------------------------------------------------------------------------------
def test_rest_unreachable(sim):
    engine = running(sim, 4)
    before, sent, leaving = data(sim), len(sim.requests), sim.dnode_id(3)
    sim.faults.unreachable(True)
    with pytest.raises(WaitTimedOut) as err:
        engine.up(3, drainTimeoutSeconds=0.5, readyTimeoutSeconds=0.5)
    assert not drain_timed_out(err.value)  # no drain began: the wait was for the connection
    assert "cannot reach taosAdapter at" in err.value.observed
    shows("rest_unreachable", str(err.value))
    assert writes(sim, sent) == []
    untouched(sim, engine, 4)
    sim.faults.unreachable(False)

    up_done, outage_over = threading.Event(), threading.Event()

    def outage() -> None:
        sim.faults.unreachable(True)
        time.sleep(0.3)
        sim.faults.unreachable(False)
        if not up_done.is_set():
            outage_over.set()  # the provider was still at work through the whole outage

    blip = during_drop(sim, 3, outage)
    engine.up(3)
    up_done.set()
    blip.join()
    assert outage_over.is_set()
    assert drops(sim, sent) == [f"drop dnode {leaving}"]
    assert dnode_pods(sim) == names(3) and pods(sim) == names(3)
    nothing_lost(sim, before)


def test_http_5xx(sim, capsys):
    engine = running(sim, 4)
    before, sent, leaving = data(sim), len(sim.requests), sim.dnode_id(3)
    sim.faults.http_error(503, times=10**6)
    with pytest.raises(WaitTimedOut) as err:
        engine.up(3, drainTimeoutSeconds=0.5, readyTimeoutSeconds=0.5)
    assert not drain_timed_out(err.value) and "answered HTTP 503" in err.value.observed
    persistent = str(err.value)
    assert writes(sim, sent) == []
    untouched(sim, engine, 4)
    sim.faults.clear()

    sent = len(sim.requests)
    sim.faults.http_error(502, pattern=r"^show", times=3)
    sim.faults.http_error(502, pattern=r"^drop dnode", times=1)
    engine.up(3)
    shows("http_5xx", persistent + capsys.readouterr().err)
    answered = [(r.sql, r.fault) for r in sim.requests[sent:] if r.sql.startswith("drop dnode")]
    assert answered == [(f"drop dnode {leaving}", "http_error:502"), (f"drop dnode {leaving}", "")]
    assert sum(r.fault == "http_error:502" for r in sim.requests[sent:]) == 4
    assert dnode_pods(sim) == names(3)
    nothing_lost(sim, before)


def test_http_401(sim):
    engine = running(sim, 4)
    before, sent, leaving = data(sim), len(sim.requests), sim.dnode_id(3)
    sim.faults.http_error(401, times=10**6)
    with pytest.raises(TDengineError) as err:
        engine.up(3, drainTimeoutSeconds=30.0, readyTimeoutSeconds=30.0)
    assert err.value.code == 855
    shows("http_401", str(err.value))
    assert sim.password not in str(err.value)
    assert writes(sim, sent) == []
    untouched(sim, engine, 4)

    sim.faults.clear()
    engine.up(3)
    assert drops(sim, sent) == [f"drop dnode {leaving}"] and dnode_pods(sim) == names(3)
    nothing_lost(sim, before)


def test_tdengine_error_mid_plan(sim):
    engine = running(sim, 5)
    before, sent = data(sim), len(sim.requests)
    first, second = sim.dnode_id(4), sim.dnode_id(3)
    vnodes = {d["id"]: d["vnodes"] for d in sim.dnodes()}
    sim.faults.sql_error(979, pattern=rf"^drop dnode {second}$")
    with pytest.raises(ClusterError) as err:
        engine.up(3)
    shows("tdengine_error_mid_plan", str(err.value))
    assert drops(sim, sent) == [f"drop dnode {first}", f"drop dnode {second}"]
    assert dnode_pods(sim) == names(4)  # the first pod was drained, the second not touched
    assert sim.snapshot().dnode(sim.endpoint(3))["status"] == "ready"
    assert sim.snapshot().dnode(sim.endpoint(3))["vnodes"] >= vnodes[second]  # may have taken some of tdengine-4's
    untouched(sim, engine, 5)
    nothing_lost(sim, before)

    engine.up(3)
    assert drops(sim, sent) == [f"drop dnode {first}", f"drop dnode {second}", f"drop dnode {second}"]
    assert dnode_pods(sim) == names(3) and pods(sim) == names(3)
    assert pvcs(sim) == [f"taosdata-tdengine-{i}" for i in range(3)]
    nothing_lost(sim, before)


def test_drop_background(sim, capsys):
    engine = running(sim, 4)
    before, leaving = data(sim), sim.dnode_id(3)
    sim.faults.drop_background_error(code=981, after_seconds=0.02)
    engine.up(3)
    shows("drop_background", capsys.readouterr().err)
    answers = [(r.sql, r.code) for r in sim.requests if r.sql.startswith("drop dnode")]
    assert answers == [(f"drop dnode {leaving}", 981)]
    assert dnode_pods(sim) == names(3) and pods(sim) == names(3)
    assert engine.decommission_outs["drained"] == ["tdengine-3"]
    nothing_lost(sim, before)


def test_drop_stalls(sim):
    engine = running(sim, 4)
    before, sent, leaving = data(sim), len(sim.requests), sim.dnode_id(3)
    sim.faults.stall_drop(True)
    with pytest.raises(WaitTimedOut, match=r"^drain of ") as err:
        engine.up(3, stallTimeoutSeconds=0.3)
    shows("drop_stalls", str(err.value))
    assert f"dnode {leaving} of tdengine-3: dropping" in str(err.value)
    untouched(sim, engine, 4)
    assert sim.snapshot().dnode(sim.endpoint(3))["vnodes"] > 0

    sim.faults.stall_drop(False)
    engine.up(3)
    assert drops(sim, sent) == [f"drop dnode {leaving}"]  # waited for, not sent again
    assert dnode_pods(sim) == names(3) and pods(sim) == names(3)
    nothing_lost(sim, before)


def test_port_forward_dies(sim, capsys):
    engine = running(sim, 4)
    before, sent, leaving = data(sim), len(sim.requests), sim.dnode_id(3)
    sim.kube.relay_forwards()
    opened = len(sim.kube.forwards)
    cut = during_drop(sim, 3, sim.kube.cut_forwards)
    engine.up(3, adminUrl="")
    cut.join()
    shows("port_forward_dies", capsys.readouterr().err)
    # DnodeDecommission's forward died and was replaced; ClusterMembership opened its own
    assert sim.kube.forwards[opened:] == ["tdengine-0"] * 3
    assert drops(sim, sent) == [f"drop dnode {leaving}"]
    assert dnode_pods(sim) == names(3) and pods(sim) == names(3)
    nothing_lost(sim, before)


@pytest.mark.parametrize("sim", [0.2], indirect=True)  # its 2 vnodes move in parallel: long enough to crash it
def test_departing_pod_crashes(sim):
    engine = running(sim, 4)
    before, sent, leaving = data(sim), len(sim.requests), sim.dnode_id(3)
    crash = during_drop(sim, 3, lambda: sim.kube.crash_pod(3))
    with pytest.raises(WaitTimedOut, match=r"^drain of ") as err:
        engine.up(3, stallTimeoutSeconds=0.5)
    crash.join()
    shows("departing_pod_crashes", str(err.value))
    assert "kubectl -n tdengine-test get pod tdengine-3" in str(err.value)
    untouched(sim, engine, 4)
    nothing_lost(sim, before)  # a vgroup in the middle of its move still has its replica on the departing dnode

    sim.kube.restart_pod(3)
    engine.up(3)
    assert drops(sim, sent) == [f"drop dnode {leaving}"]
    assert dnode_pods(sim) == names(3) and pods(sim) == names(3)
    nothing_lost(sim, before)


def test_second_up_after_failed(sim, capsys):
    engine = running(sim, 5)
    before, sent = data(sim), len(sim.requests)
    scale = engine.scale_statefulset

    def scale_then_lose_rest(n: int, timeout: float = 5.0) -> None:
        scale(n, timeout)
        sim.faults.unreachable(True)

    engine.scale_statefulset = scale_then_lose_rest
    with pytest.raises(WaitTimedOut) as err:
        engine.up(3, readyTimeoutSeconds=0.5)
    assert not drain_timed_out(err.value)  # the drains were done: ClusterMembership's wait ran out
    first = str(err.value)
    assert pods(sim) == names(3) and dnode_pods(sim) == names(3)
    assert pvcs(sim) == [f"taosdata-tdengine-{i}" for i in range(5)]  # nothing deleted without reading the cluster
    assert engine.decommission_outs["members"] == names(3) and engine.membership_outs["members"] == names(5)

    sim.faults.unreachable(False)
    engine.scale_statefulset = scale
    engine.log.clear()
    engine.up(3, readyTimeoutSeconds=0.5)  # the same stack config
    shows("second_up_after_failed", first + capsys.readouterr().err)
    assert engine.log == ["update ClusterMembershipProvider"]
    assert pvcs(sim) == [f"taosdata-tdengine-{i}" for i in range(3)]
    assert sorted(d["pod"] for d in engine.topology()["dnodes"]) == names(3)
    assert len(drops(sim, sent)) == 2
    nothing_lost(sim, before)


@pytest.mark.parametrize("sim", [0.2], indirect=True)  # slower vnode moves: the stall starts in tdengine-3's drain
def test_config_changed_between_runs(sim):
    engine = running(sim, 5)
    before, sent = data(sim), len(sim.requests)
    stall = during_drop(sim, 3, sim.faults.stall_drop)
    with pytest.raises(WaitTimedOut, match=r"^drain of \S+ stalled"):
        engine.up(3, stallTimeoutSeconds=0.3)
    stall.join()
    assert dnode_pods(sim) == names(4)  # tdengine-4 drained, tdengine-3 dropping

    sent = len(sim.requests)
    with pytest.raises(Refused) as err:
        engine.up(4, stallTimeoutSeconds=5.0)  # the operator wants to keep tdengine-3 now
    shows("config_changed_between_runs", str(err.value))
    assert "Nothing was changed" in str(err.value)
    assert writes(sim, sent) == []
    untouched(sim, engine, 5)
    nothing_lost(sim, before)

    sim.faults.stall_drop(False)  # following the fix
    dropped = sim.dnode_id(3)
    engine.up(3)
    assert writes(sim, sent) == [] and dnode_pods(sim) == names(3)
    engine.up(4)
    assert dnode_pods(sim) == names(4) and sim.dnode_id(3) > dropped
    assert {d["pod"]: d["status"] for d in engine.topology()["dnodes"]}["tdengine-3"] == "ready"
    nothing_lost(sim, before)


def failed_half_way(sim: SimCluster) -> tuple[PulumiEngine, dict[int, tuple[str, int, int]], int]:
    """5 -> 3 stopped after tdengine-4 was drained: the drop of tdengine-3 is refused (979)."""
    engine = running(sim, 5)
    before, drained = data(sim), sim.dnode_id(4)
    sim.faults.sql_error(979, pattern=rf"^drop dnode {sim.dnode_id(3)}$")
    with pytest.raises(ClusterError, match="pulumi refresh"):
        engine.up(3)
    assert dnode_pods(sim) == names(4) and pods(sim) == names(5)  # tdengine-4's pod runs on a dropped dnode
    assert drained is not None and sim.dnode_id(4) is None
    return engine, before, drained


def test_scale_in_taken_back(sim, capsys):
    engine, before, drained = failed_half_way(sim)
    engine.log.clear()
    engine.up(5)
    assert engine.log == [] and dnode_pods(sim) == names(4)  # the offline Diff sees no change
    engine.refresh()
    assert engine.decommission_outs["members"] == names(4) == engine.membership_outs["members"]
    assert sorted(d["pod"] for d in engine.topology()["dnodes"]) == names(4)
    capsys.readouterr()
    engine.up(5)
    err = capsys.readouterr().err
    shows("scale_in_taken_back", err)
    assert "still there" not in err  # the healed pod is kept, not waited out until readyTimeoutSeconds
    assert engine.log == ["update DnodeDecommissionProvider", "update ClusterMembershipProvider"]
    assert dnode_pods(sim) == names(5) and pods(sim) == names(5) and sim.dnode_id(4) > drained
    assert all(d["status"] == "ready" for d in sim.dnodes())
    assert pvcs(sim) == [f"taosdata-tdengine-{i}" for i in range(5)]
    nothing_lost(sim, before)


def test_stale_member_on_a_later_up(sim, capsys):
    engine, before, drained = failed_half_way(sim)
    capsys.readouterr()
    engine.up(5, stallTimeoutSeconds=30.0)
    shows("stale_member_on_a_later_up", capsys.readouterr().err)
    assert dnode_pods(sim) == names(5) and sim.dnode_id(4) > drained
    nothing_lost(sim, before)


if __name__ == "__main__":
    print(table())
