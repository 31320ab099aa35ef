"""Replay the real 3.3.7.5 cluster's `redistribute vgroup` and scale-in transcripts against the simulator
(`transcripts/real-3.3.7.5-redistribute.jsonl`, `real-3.3.7.5-scale-in.jsonl`; tdengine-admin.md §14).

What they pin down: where TDengine places vnodes (`create database` on 5 dnodes, and each `drop dnode` of a
5 -> 3 scale-in, whose second drop moves a vnode the first had put on it: 9 moves for 8), that `drop dnode`
moves a dnode's vgroups in parallel (4 vnodes in about one move's time) while `redistribute vgroup` moves
them one after another (two members replaced in one statement take two moves' time), every answer code of
`redistribute vgroup`, the `red-vgroup` transaction with its database while a move blocks, 979 for a second
global statement meanwhile, and the community build's 281 to `alter dnode 'supportVnodes'`.

The simulator's dnode ids are made to follow the transcript's endpoints (pod 0 creates dnode 1, the others
are created in the transcript's id order), because placement depends on the id order. Vgroups are compared
loosely (`Replayer(strict_vgroups=False)`): members and the 4th slot exactly, roles for being roles (the
restore markers and the elections right after a move are not modelled), tables per database.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.sim import SimCluster
from tests.sim.replay import POLLED, Replayer, load, run_plain, scenario

MIGRATION = 0.4
"""The simulated fixed part of a move (seconds): about 20 s on the real cluster."""


def cluster_like(records: list[dict[str, Any]]) -> SimCluster:
    """A simulator of the transcript's size whose dnode ids map to the same endpoints."""
    rows = sorted(next(r for r in records if r["sql"] == "show dnodes")["response"]["data"])
    sim = SimCluster(
        auto_join=False,
        heartbeat_seconds=0.05,
        offline_after_seconds=0.3,
        migration_seconds=MIGRATION,
        mnode_create_seconds=0.1,
        mnode_settle_seconds=0.1,
        db_create_seconds=0.05,
    ).start()
    sim.bootstrap_in_order([int(r[1].split(".")[0].rsplit("-", 1)[1]) for r in rows[1:]])
    assert [(d["id"], d["endpoint"]) for d in sim.dnodes()] == [(r[0], r[1]) for r in rows]
    return sim


def replay_blocking(rp: Replayer, sim: SimCluster, recs: list[dict[str, Any]], statement: dict[str, Any]) -> float:
    """Send the records of a scenario around one blocking statement: those recorded before it (polls that raced
    ahead of it included), then the statement in a thread with the moves held, the polls that saw it running,
    the statement's answer, and the rest. Returns how long the statement blocked once the moves were released."""
    during = [r for r in recs if r["note"] == POLLED and r["response"].get("data")]
    during += [r for r in recs if r is not statement and r["response"]["code"] == 979]
    before = [r for r in recs[: recs.index(statement)] if r not in during]
    after = [r for r in recs[recs.index(statement) + 1 :] if r not in during]
    run_plain(rp, before)
    result: dict[str, Any] = {}
    sim.faults.hold_moves()  # the copies wait until the polls are done, however slow the machine is
    worker = threading.Thread(target=lambda: result.setdefault("answer", rp.send(statement)))
    worker.start()
    sim.wait_until(lambda s: bool(s.transactions), timeout=3)
    for rec in during:
        status, body, _ = rp.send(rec)
        assert "answer" not in result, "polls run while the statement blocks"
        rp.check(rec, status, body)
    released = time.monotonic()
    sim.faults.hold_moves(False)
    worker.join(timeout=10)
    status, body, _ = result["answer"]
    rp.check(statement, status, body)
    blocked = time.monotonic() - released
    run_plain(rp, after)
    return blocked


def test_replay_redistribute_vgroup() -> None:
    records = load("real-3.3.7.5-redistribute.jsonl")
    sim = cluster_like(records)
    try:
        rp = Replayer(sim, strict_vgroups=False)
        run_plain(rp, scenario(records, "setup: 5 dnodes"))
        run_plain(rp, scenario(records, "redistribute vgroup: errors"))

        recs = scenario(records, "redistribute a replica-3 vgroup")
        one = next(r for r in recs if r["sql"].startswith("redistribute"))
        assert replay_blocking(rp, sim, recs, one) >= MIGRATION * 0.9, "one member replaced: one move"

        recs = scenario(records, "a second statement while a redistribute runs")
        replay_blocking(rp, sim, recs, next(r for r in recs if r["note"] == "the first, in a thread"))

        recs = scenario(records, "redistribute a replica-1 vgroup")
        replay_blocking(rp, sim, recs, next(r for r in recs if r["sql"].startswith("redistribute")))

        for rec in scenario(records, "empty the two leaving dnodes by redistribute"):
            status, body, elapsed = rp.send(rec)
            rp.check(rec, status, body)
            rp.learn(rec)
            if rec["sql"] == "redistribute vgroup 5 dnode 1 dnode 3 dnode 2":
                assert elapsed >= 2 * MIGRATION * 0.9, "two members replaced: two moves, one after the other"
            elif rec["sql"].startswith("drop dnode"):
                assert elapsed < MIGRATION, "a dnode emptied by redistribute drops at once"

        offline = scenario(records, "redistribute to an offline dnode")
        run_plain(rp, offline[:1])
        sim.kube.crash_pod(2)  # tdengine-2, partitioned in the recording
        sim.wait_until(lambda s: (s.dnode(sim.endpoint(2)) or {}).get("note") == "status msg timeout")
        run_plain(rp, offline[1:3])  # the same members, one of them offline: 0 at once
        sim.kube.restart_pod(2)
        sim.wait_until(lambda s: (s.dnode(sim.endpoint(2)) or {}).get("status") == "ready")
        run_plain(rp, offline[3:])

        assert sim.violations == [] and len(sim.requests) == len(records)
        assert [m.oper for m in sim.moves()] == ["red-vgroup"] * len(sim.moves())
    finally:
        sim.stop()


def test_replay_scale_in_by_drop_dnode() -> None:
    records = load("real-3.3.7.5-scale-in.jsonl")
    sim = cluster_like(records)
    try:
        rp = Replayer(sim, strict_vgroups=False)
        run_plain(rp, scenario(records, "setup: 5 dnodes"))
        leaving = {sim.dnode_id(3), sim.dnode_id(4)}
        must_leave = sum(d["vnodes"] for d in sim.dnodes() if d["id"] in leaving)
        for rec in scenario(records, "alter dnode supportVnodes on the dnodes about to leave"):
            status, body, elapsed = rp.send(rec)
            rp.check(rec, status, body)  # the vnode counts after each drop: TDengine's placement, dnode for dnode
            rp.learn(rec)
            if rec["sql"].startswith("drop dnode"):
                assert elapsed < 3 * MIGRATION, "a drop moves its 4-5 vnodes in parallel, not one after another"
        run_plain(rp, scenario(records, "is supportVnodes 0 refused"))

        moved = sim.moves()
        assert (must_leave, len(moved)) == (8, 9), "the real cluster's 9 moves where 8 vnodes had to leave"
        twice = [m for m in moved if m.source in leaving and m.target in leaving]
        assert len(twice) == 1 and any(m.vgroup == twice[0].vgroup and m.source == twice[0].target for m in moved)
        assert sim.violations == [] and len(sim.requests) == len(records)
    finally:
        sim.stop()
