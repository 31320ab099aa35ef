"""Replay the real 3.3.7.5 cluster's first REST transcript (`transcripts/real-3.3.7.5.jsonl`) against the
simulator, scenario by scenario (the comparison itself: `replay.py`).

Each scenario's preconditions are set up through the simulator's API (bootstrap, scale, PVC delete);
every request of the transcript is then sent over HTTP and its answer compared: HTTP status, code,
desc, column_meta, row counts, and per-endpoint status/role/vnodes. Timestamps, `timing` and
transaction ids vary between runs and are only checked for shape; dnode ids are mapped by endpoint.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.sim import SimCluster
from tests.sim.replay import POLLED, Replayer, load
from tests.sim.replay import run_plain as _run_plain
from tests.sim.replay import scenario as _scenario

MIGRATION = 0.25


@pytest.fixture(scope="module")
def transcript() -> list[dict[str, Any]]:
    return load("real-3.3.7.5.jsonl")


def test_replay_transcript(transcript: list[dict[str, Any]]) -> None:
    with SimCluster(
        heartbeat_seconds=0.1,
        migration_seconds=MIGRATION,
        mnode_create_seconds=0.3,
        mnode_settle_seconds=0.2,
        db_create_seconds=0.05,
    ) as sim:
        rp = Replayer(sim)
        ep3 = sim.endpoint(3)

        sim.bootstrap(3)
        _run_plain(rp, _scenario(transcript, "bootstrap"))

        mn = _scenario(transcript, "mnodes")
        for rec in mn:
            status, body, elapsed = rp.send(rec)
            rp.check(rec, status, body)
            if rec["sql"].startswith("create mnode") and body["code"] == 0:
                assert elapsed >= 0.3, "create mnode is synchronous"

        _run_plain(rp, _scenario(transcript, "a replica-3 database"))
        _run_plain(rp, _scenario(transcript, "refusals"))

        sim.kube.scale(4)
        sim.wait_until(lambda s: (s.dnode(ep3) or {}).get("status") == "ready")
        _run_plain(rp, _scenario(transcript, "scale 3 -> 4"))

        for rec in _scenario(transcript, "scale 4 -> 3"):
            status, body, elapsed = rp.send(rec)
            rp.check(rec, status, body)
            assert elapsed < 0.1, "an empty dnode drops at once"

        sim.kube.scale(3)
        sim.wait_until(lambda s: len(s.pods) == 3)
        sim.kube.scale(4)
        sim.wait_until(lambda s: len(s.pods) == 4 and s.pods[3].phase == "Running")
        time.sleep(5 * sim.config.heartbeat_seconds)
        assert not sim.kube.pods()[3].ready, "a pod on a dropped dnode's volume crash-loops"
        _run_plain(rp, _scenario(transcript, "re-scale to 4"))

        sim.kube.scale(3)
        sim.wait_until(lambda s: len(s.pods) == 3)
        sim.kube.delete_pvc(sim.config.namespace, "taosdata-tdengine-3")
        sim.kube.scale(4)
        sim.wait_until(lambda s: (s.dnode(ep3) or {}).get("status") == "ready")
        _replay_drop(rp, sim, _scenario(transcript, "drop a dnode that holds vnodes"))

        auth = _scenario(transcript, "authentication")
        status, body, _ = rp.send(auth[0], password="not-the-password")
        rp.check(auth[0], status, body)
        _run_plain(rp, auth[1:])

        assert sim.violations == []
        assert len(sim.requests) == len(transcript)


def _replay_drop(rp: Replayer, sim: SimCluster, recs: list[dict[str, Any]]) -> None:
    """Polls that saw the drop running are sent concurrently while DROP DNODE blocks."""
    drop = next(r for r in recs if r["sql"].startswith("drop dnode"))
    polls = [r for r in recs if r["note"] == POLLED]
    started = [r for r in polls if _sees_drop(r)]
    before = [r for r in recs if r is not drop and r not in started and recs.index(r) < recs.index(drop)]
    after = recs[recs.index(drop) + 1 :]
    _run_plain(rp, before)  # step 1 and the two polls that raced ahead of the drop (rows 'ready', no trans)

    victim, spare = rp.tid_to_ep[2], sim.endpoint(3)
    result: dict[str, Any] = {}

    def run_drop() -> None:
        result["answer"] = rp.send(drop)

    sim.faults.hold_moves()  # the copies wait until the polls are done, however slow the machine is
    worker = threading.Thread(target=run_drop)
    worker.start()
    sim.wait_until(lambda s: (s.dnode(victim) or {}).get("status") == "dropping", timeout=2)
    seen: dict[str, list[int]] = {victim: [], spare: []}
    for rec in started:
        status, body, _ = rp.send(rec)
        assert "answer" not in result, "poll must run while the drop blocks"
        rp.check(rec, status, body, moving={victim, spare})
        for row in body["data"] if rec["sql"] == "show dnodes" else []:
            if row[1] in seen:
                seen[row[1]].append(row[2])
    released = time.monotonic()
    sim.faults.hold_moves(False)
    worker.join(timeout=10)
    status, body, _ = result["answer"]
    rp.check(drop, status, body)
    assert time.monotonic() - released >= MIGRATION * 0.9, "the drop blocks while its 2 vnodes move (in parallel)"
    assert seen[victim] == sorted(seen[victim], reverse=True) and set(seen[victim]) <= {0, 1, 2}
    assert seen[spare] == sorted(seen[spare]) and set(seen[spare]) <= {0, 1, 2}
    _run_plain(rp, after)


def _sees_drop(rec: dict[str, Any]) -> bool:
    data = rec["response"]["data"]
    if rec["sql"] == "show transactions":
        return bool(data)
    return any(row[4] == "dropping" for row in data)
