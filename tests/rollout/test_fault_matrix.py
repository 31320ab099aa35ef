"""The fault matrix of day-2 changes: one test per row, and the table in docs/testing.md ("Fault matrix: day-2
changes") generated from the same rows, as `tests/membership/test_fault_matrix.py` does for scaling.

Each test drives every resource in the engine's order (`tests/rollout/engine.py`) against the simulator, injects
one fault during a rolling restart or a volume expansion, and checks what the user sees (the quoted excerpts),
that nothing else went down (never more than one dnode down because of the roll, no data-safety violation, every
vgroup with its tables) and that the next `up` converges once the fault is gone.
`python -m tests.rollout.test_fault_matrix` prints the table.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from components.tdengine.errors import Refused, WaitTimedOut
from tests.membership.test_fault_matrix import Row, table
from tests.rollout.engine import DayTwoEngine
from tests.rollout.monitor import DownWatch
from tests.sim import SimCluster
from tests.sim import ops as sim_ops

TESTING = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
SECTION = "\n## Fault matrix: day-2 changes\n"
NEXT, BAD = "tdengine/tdengine:3.3.7.6", "tdengine/tdengine:3.3.7.7"

ROWS: tuple[Row, ...] = (
    Row(
        "pod_never_comes_back",
        "a restarted pod never comes back (the new image crashes: CrashLoopBackOff)",
        "the restart's `WaitTimedOut` after `stallTimeoutSeconds`: {} … {} … {}",
        (
            "stalled: nothing changed in the cluster's health",
            "pod tdengine-2 is not Ready (Running, CrashLoopBackOff)",
            "The roll stopped with tdengine-2 restarted and nothing else",
        ),
        "Only that pod is down, never a second one; the others keep the old image. Setting `image` back (or to a "
        "fixed one) and re-running `up` restarts that pod first, then the roll converges.",
    ),
    Row(
        "unhealthy_before_roll",
        "the cluster is unhealthy before the roll (a dnode offline: its pod crashed)",
        "`Refused` at once: {} … {} … {}",
        (
            "restart refused: the cluster is not healthy before the restart",
            "dnode 3 of tdengine-1 is offline",
            "No pod was restarted",
        ),
        "No pod restarted and no SQL change sent. Once the pod is back, the same `up` rolls.",
    ),
    Row(
        "interrupted_roll",
        "the run stops right after a pod was restarted (Ctrl-C, a killed CI runner)",
        "the re-run's progress lines {} and {}, then success",
        ("back, its dnode ready and every vgroup caught up", "rolling restart done"),
        "The re-run reads which pods run the new revision, waits for the restarted one to catch up, and restarts "
        "only the others, one at a time.",
    ),
    Row(
        "adapter_unreachable_mid_roll",
        "taosAdapter unreachable while a restarted pod comes back",
        "only the progress lines, then {}",
        ("rolling restart done",),
        "The gate reads again until the deadline (a new port-forward each time without `adminUrl`); no other pod "
        "restarts before it has read the cluster healthy.",
    ),
    Row(
        "class_stopped_expanding",
        "the StorageClass no longer allows expansion (changed since the last `up`, so preview could not know)",
        "`Refused`: {} … {}",
        ("volume expansion refused: StorageClass 'standard' does not allow volume expansion", "Nothing was changed"),
        "No PVC patched, the StatefulSet object not deleted, no pod restarted.",
    ),
    Row(
        "resize_never_completes",
        "a PVC's resize never completes (the CSI resizer is down)",
        "`WaitTimedOut` at `readyTimeoutSeconds`: {} … {}",
        ("volume expansion did not finish within", "PVCs not expanded yet: taosdata-tdengine-0 5Gi of 10Gi (Resizing)"),
        "The StatefulSet object is not deleted until every PVC has its size; pods keep running. Once the resizer "
        "is back, the next `up` waits for it and goes on (no PVC patched twice).",
    ),
)
ROW = {r.name: r for r in ROWS}


def documented_table() -> str:
    section = TESTING.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n#", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_documented_table_is_generated_from_the_rows():
    assert documented_table() == table(ROWS), "regenerate it: venv/bin/python -m tests.rollout.test_fault_matrix"


def test_every_row_has_one_test():
    assert [f"test_{r.name}" for r in ROWS] == [n for n in globals() if n.startswith("test_") and n[5:] in ROW]
    assert all(r.sees.count("{}") == len(r.quotes) for r in ROWS)


def shows(row: str, text: str) -> None:
    missing = [q for q in ROW[row].quotes if q not in text]
    assert not missing, f"{row}: {missing} not in:\n{text}"


@pytest.fixture
def sim():
    with SimCluster() as s:
        yield s
        assert s.violations == []


def running(sim: SimCluster) -> tuple[DayTwoEngine, dict[int, int]]:
    """A 3-pod cluster brought up by `pulumi up`, with a replica-3 database holding tables."""
    sim.bootstrap(3)
    engine = DayTwoEngine(sim)
    engine.up(3)
    sim.create_database("app", replica=3, vgroups=4)
    for _ in range(8):
        sim_ops.create_table(sim.cluster, "app")
    return engine, tables(sim)


def tables(sim: SimCluster) -> dict[int, int]:
    return {vg["id"]: vg["tables"] for vg in sim.vgroups()}


def nothing_lost(sim: SimCluster, before: dict[int, int]) -> None:
    assert sim.violations == [] and tables(sim) == before
    live = {d["id"] for d in sim.dnodes()}
    assert all(len(vg["members"]) == 3 and set(vg["members"]) <= live for vg in sim.vgroups())


def converged(engine: DayTwoEngine) -> None:
    sim = engine.sim
    assert {p.revision for p in sim.kube.pods()} == {sim.kube.update_revision}
    assert all(d["status"] == "ready" for d in sim.dnodes()) and all(p.ready for p in sim.kube.pods())


# -- one test per row ---------------------------------------------------------------------------------------------
def test_pod_never_comes_back(sim):
    engine, before = running(sim)
    sim.kube.broken_revisions.add(f"tdengine-{engine.inputs(3, {}, image=BAD)['_template']['hash']}")
    with DownWatch(sim) as watch, pytest.raises(WaitTimedOut) as err:
        engine.up(3, image=BAD, overrides={"stallTimeoutSeconds": 0.5})
    shows("pod_never_comes_back", str(err.value))
    assert sim.kube.restarts == ["tdengine-2"] and watch.most == 1
    engine.up(3, image=NEXT)
    assert sim.kube.restarts[:2] == ["tdengine-2", "tdengine-2"]
    converged(engine)
    nothing_lost(sim, before)


def test_unhealthy_before_roll(sim):
    engine, before = running(sim)
    mutations = len(sim.mutations())
    sim.kube.crash_pod(1)
    sim.wait_until(lambda s: s.dnode(sim.endpoint(1))["status"] == "offline")
    with pytest.raises(Refused) as err:
        engine.up(3, image=NEXT)
    shows("unhealthy_before_roll", str(err.value))
    assert sim.kube.restarts == [] and len(sim.mutations()) == mutations
    sim.kube.restart_pod(1)
    sim.wait_until(lambda s: all(d["status"] == "ready" for d in s.dnodes))
    engine.up(3, image=NEXT)
    converged(engine)
    nothing_lost(sim, before)


def test_interrupted_roll(sim, capsys):
    engine, before = running(sim)
    delete = sim.kube.delete_pod

    def interrupted(namespace: str, name: str) -> None:
        delete(namespace, name)
        raise KeyboardInterrupt

    sim.kube.delete_pod = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        engine.up(3, image=NEXT)
    sim.kube.delete_pod = delete  # type: ignore[method-assign]
    capsys.readouterr()
    with DownWatch(sim) as watch:
        engine.up(3, image=NEXT)
    shows("interrupted_roll", capsys.readouterr().err)
    assert sim.kube.restarts == ["tdengine-2", "tdengine-1", "tdengine-0"] and watch.most == 1
    converged(engine)
    nothing_lost(sim, before)


def test_adapter_unreachable_mid_roll(sim, capsys):
    engine, before = running(sim)
    delete = sim.kube.delete_pod

    def and_lose_the_adapter(namespace: str, name: str) -> None:
        delete(namespace, name)
        if len(sim.kube.restarts) == 1:
            sim.faults.unreachable(True)
            threading.Timer(0.4, sim.faults.unreachable, args=(False,)).start()

    sim.kube.delete_pod = and_lose_the_adapter  # type: ignore[method-assign]
    with DownWatch(sim) as watch:
        engine.up(3, image=NEXT)
    shows("adapter_unreachable_mid_roll", capsys.readouterr().err)
    assert sim.kube.restarts == ["tdengine-2", "tdengine-1", "tdengine-0"] and watch.most == 1
    converged(engine)
    nothing_lost(sim, before)


def test_class_stopped_expanding(sim):
    engine, before = running(sim)
    sim.kube.expandable = False
    with pytest.raises(Refused) as err:
        engine.up(3, storage_size="10Gi")
    shows("class_stopped_expanding", str(err.value))
    assert sim.kube.sts_exists and sim.kube.restarts == []
    assert {p.requested for p in sim.kube.list_pvc_states("tdengine-test", "tdengine", ["taosdata"])} == {"5Gi"}
    sim.kube.expandable = True
    engine.up(3, storage_size="10Gi")
    nothing_lost(sim, before)


def test_resize_never_completes(sim):
    engine, before = running(sim)
    sim.kube.resize_seconds = 3600.0
    with pytest.raises(WaitTimedOut) as err:
        engine.up(3, storage_size="10Gi", overrides={"readyTimeoutSeconds": 0.5})
    shows("resize_never_completes", str(err.value))
    assert sim.kube.sts_exists and sim.kube.restarts == []
    sim.kube.resize_seconds = 0.02
    for pvc in sim.kube.list_pvc_states("tdengine-test", "tdengine", ["taosdata"]):  # the resizer back
        sim.kube.resize_pvc("tdengine-test", pvc.name, "10Gi")
    engine.up(3, storage_size="10Gi")
    assert {(p.requested, p.capacity) for p in sim.kube.list_pvc_states("tdengine-test", "tdengine", ["taosdata"])} == {
        ("10Gi", "10Gi")
    }
    nothing_lost(sim, before)


if __name__ == "__main__":
    print(table(ROWS))
