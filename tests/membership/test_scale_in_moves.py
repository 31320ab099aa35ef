"""The scale-in's placement plan carried out against the simulator, in the engine's order (`tests/engine.py`).

On the scale-in transcript's layout (5 dnodes, `mv3` replica 3 vgroups 5, `mv1` replica 1 vgroups 3; the dnode
ids follow the recorded ones, so TDengine's placement is the recorded one): small vnodes are left to the drops
(9 moves for 8, as the real cluster made), large ones that a drop would put on the next departing dnode move
once, by `redistribute vgroup`, first (8 for 8). A redistribute interrupted in flight is waited for, never sent
twice; when TDengine's own placement would stop half-way the plan moves vnodes by redistribute until the drop
fits; the plan's lines name every vgroup moved and why.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from components.tdengine.errors import WaitTimedOut
from tests.engine import Engine
from tests.sim import SimCluster

FIXED = 0.05
"""The simulator's fixed part of a move, and the plan's (`moveFixedSeconds`)."""
COSTS = {"moveFixedSeconds": FIXED, "vnodeCopyMBps": 1.0}
"""The simulator copies 1024 KB/s: a 400 KB vnode takes 0.39 s, a 4 KB one 4 ms."""
ORDER = [2, 3, 4, 1]
"""Pods that get dnode ids 2, 3, 4, 5: the scale-in transcript's (tdengine-2 is dnode 2, tdengine-1 dnode 5)."""


def layout(size_kb: int, migration: float = FIXED) -> Iterator[tuple[SimCluster, Engine]]:
    with SimCluster(auto_join=False, migration_seconds=migration, copy_kb_per_second=1024.0) as sim:
        sim.bootstrap_in_order(ORDER)
        engine = Engine(sim)
        engine.up(5, **COSTS)  # mnodes on tdengine-1 (dnode 5) and tdengine-2 (dnode 2), as recorded
        sim.create_database("mv3", replica=3, vgroups=5)
        sim.create_database("mv1", replica=1, vgroups=3)
        sim.set_size("mv3", size_kb)
        sim.set_size("mv1", size_kb)
        assert {d["id"]: d["vnodes"] for d in sim.dnodes()} == {1: 4, 2: 3, 3: 4, 4: 4, 5: 3}  # the transcript's
        yield sim, engine
        assert sim.violations == []


@pytest.fixture
def small() -> Iterator[tuple[SimCluster, Engine]]:
    yield from layout(4)


@pytest.fixture
def large() -> Iterator[tuple[SimCluster, Engine]]:
    yield from layout(400)


def changes(sim: SimCluster, since: int) -> list[str]:
    return [r.sql for r in sim.requests[since:] if r.sql.split(None, 1)[0] in ("drop", "redistribute")]


def settled(sim: SimCluster, engine: Engine, n: int) -> None:
    assert sorted(d["pod"] for d in engine.topology()["dnodes"]) == [f"tdengine-{i}" for i in range(n)]
    assert all(set(vg["members"]) <= {d["id"] for d in sim.dnodes()} for vg in sim.vgroups())


def test_small_vnodes_move_with_the_drops_one_of_them_twice(small: Any, capsys: pytest.CaptureFixture[str]) -> None:
    sim, engine = small
    sent = len(sim.requests)
    engine.up(3, **COSTS)
    assert changes(sim, sent) == ["drop dnode 4", "drop dnode 3"]
    assert len(sim.moves()) == 9  # 8 vnodes had to leave; vgroup 4 went to tdengine-3 first
    err = capsys.readouterr().err
    assert "scale-in plan: 8 vnodes leave tdengine-4, tdengine-3; 9 vnode moves, 1 moved twice (small copies)" in err
    assert "plan: vgroup 4 (mv3, 4 KiB) lands on dnode 3 (tdengine-3" in err and "moves again then" in err
    settled(sim, engine, 3)


def test_large_vnodes_a_drop_would_move_twice_move_once_first(large: Any, capsys: pytest.CaptureFixture[str]) -> None:
    sim, engine = large
    sent = len(sim.requests)
    engine.up(3, **COSTS)
    sent_changes = changes(sim, sent)
    assert sent_changes[-2:] == ["drop dnode 4", "drop dnode 3"]
    assert sent_changes[:-2] and all(s.startswith("redistribute vgroup ") for s in sent_changes[:-2])
    moved = sim.moves()
    assert len(moved) == 8 and not any(m.source in (3, 4) and m.target in (3, 4) for m in moved)  # each once
    err = capsys.readouterr().err
    assert "8 vnode moves, 2 by redistribute vgroup first (moved once)" in err
    assert "plan: vgroup 4 (mv3, 400 KiB): dropping tdengine-4 would place it on dnode 3 (tdengine-3" in err
    assert "tdengine-4: redistribute vgroup 4 dnode 2 dnode 1 dnode 5 (vgroup 4 of mv3 moves once" in err
    settled(sim, engine, 3)


def test_a_redistribute_interrupted_in_flight_is_waited_for_not_sent_again() -> None:
    for sim, engine in layout(400, migration=0.2):
        sim.faults.stall_drop(True)  # the first redistribute starts, then no copy progresses
        with pytest.raises(WaitTimedOut, match=r"^drain of \S+ stalled") as err:
            engine.up(3, stallTimeoutSeconds=0.4, **COSTS)
        assert "red-vgroup stage redoAction" in str(err.value) and "re-run `pulumi up` to keep waiting" in str(
            err.value
        )
        assert sim.transactions()[0]["oper"] == "red-vgroup" and sim.kube.replicas == 5
        sent = len(sim.requests)
        sim.faults.stall_drop(False)
        engine.up(3, **COSTS)  # resumes: waits for the redistribute in flight, then plans the rest
        first = [r.sql for r in sim.requests[:sent] if r.sql.startswith("redistribute")]
        assert len(first) == 1 and first[0] not in changes(sim, sent)
        assert len(sim.moves()) == 8
        settled(sim, engine, 3)


def test_when_the_drops_would_run_out_of_room_every_vnode_moves_by_redistribute(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """tdengine-3 (dnode 4) holds a replica-1 vgroup and a replica-3 one on dnodes 2, 3, 4; 2 vnodes of room per
    dnode. `drop dnode` would put the replica-1 vnode on dnode 1, filling it, then find no room for the other,
    whose only candidate is dnode 1 ('Vnodes exhausted' half-way); the plan moves it to dnode 3 instead."""
    with SimCluster(auto_join=False, support_vnodes=2) as sim:
        sim.bootstrap_in_order([1, 2, 3])  # dnode 2 is tdengine-1, dnode 3 tdengine-2, dnode 4 tdengine-3
        engine = Engine(sim)
        engine.up(4)
        sim.place_database("a", 1, [[4], [2], [1]])
        sim.place_database("b", 3, [[2, 3, 4]])
        sent = len(sim.requests)
        engine.up(3)
        # planned: both by redistribute; planned again after the first, the drop fits now and moves the other
        assert changes(sim, sent) == ["redistribute vgroup 2 dnode 3", "drop dnode 4"]
        assert "every departing vnode moves by redistribute vgroup" in capsys.readouterr().err
        assert {vg["id"]: sorted(vg["members"]) for vg in sim.vgroups()} == {2: [3], 3: [2], 4: [1], 5: [1, 2, 3]}
        settled(sim, engine, 3)
        assert sim.violations == []


def test_a_drop_that_blocks_past_the_drain_deadline_is_cut_there() -> None:
    """`drop dnode` blocks while its vnodes move (about 20 s on the real cluster, where a 10 s deadline ran 20.3 s).
    Here its moves take 3 s, `drainTimeoutSeconds` is 1 and a statement may take 30: the drain gives up at its
    deadline with the move still running in TDengine, and a re-run waits for it."""
    for sim, engine in layout(4, migration=3.0):
        with pytest.raises(WaitTimedOut, match=r"^drain of .*drainTimeoutSeconds") as err:
            engine.up(4, drainTimeoutSeconds=1, statementTimeoutSeconds=30, **COSTS)
        assert "re-run `pulumi up` to keep waiting" in str(err.value)
        dropping = next(d for d in sim.dnodes() if d["id"] == 4)  # tdengine-4: the drop goes on in TDengine
        assert dropping["status"] == "dropping" and sim.kube.replicas == 5
        engine.up(4, **COSTS)
        settled(sim, engine, 4)
