"""Replay the real 3.3.7.5 cluster's REST transcript against the simulator, scenario by scenario.

Each scenario's preconditions are set up through the simulator's API (bootstrap, scale, PVC delete);
every request of the transcript is then sent over HTTP and its answer compared: HTTP status, code,
desc, column_meta, row counts, and per-endpoint status/role/vnodes. Timestamps, `timing` and
transaction ids vary between runs and are only checked for shape; dnode ids are mapped by endpoint.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.sim import SimCluster

TRANSCRIPT = Path("/work/shared/reference/transcripts/real-3.3.7.5.jsonl")
POLLED = "polled while the previous statement runs"
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MIGRATION = 0.25


def _load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in TRANSCRIPT.read_text().splitlines() if line.strip()]


class Replayer:
    """Sends transcript requests and compares answers; remembers transcript id -> endpoint."""

    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim
        self.tid_to_ep: dict[int, str] = {}

    def learn(self, rec: dict[str, Any]) -> None:
        resp = rec["response"]
        names = [c[0] for c in resp.get("column_meta", [])]
        if names[:2] == ["id", "endpoint"]:
            for row in resp["data"]:
                self.tid_to_ep[row[0]] = row[1]

    def map_sql(self, sql: str) -> str:
        """Rewrite transcript dnode ids in `... dnode <id>` to the simulator's id for that endpoint."""

        def sub(m: re.Match[str]) -> str:
            tid = int(m.group(2))
            ep = self.tid_to_ep.get(tid)
            sid = None
            if ep is not None:
                sid = next((d["id"] for d in self.sim.dnodes() if d["endpoint"] == ep), None)
            return f"{m.group(1)}{sid if sid is not None else tid}"

        return re.sub(r"(dnode\s+)(\d+)", sub, sql)

    def send(self, rec: dict[str, Any], password: str = "taosdata") -> tuple[int, dict[str, Any], float]:
        sql = self.map_sql(rec["sql"])
        t0 = time.monotonic()
        r = requests.post(f"{self.sim.url}/rest/sql", data=sql.encode(), auth=("root", password), timeout=10)
        return r.status_code, r.json(), time.monotonic() - t0

    def check(self, rec: dict[str, Any], status: int, body: dict[str, Any], moving: set[str] | None = None) -> None:
        exp = rec["response"]
        where = f"{rec['scenario']} step {rec['step']} ({rec['sql']!r})"
        assert status == rec["http"], where
        assert body["code"] == exp["code"], f"{where}: {body}"
        if exp["code"] != 0:
            assert list(body) == ["code", "desc", "timing"], where
            assert body["desc"] == exp["desc"], where
            assert isinstance(body["timing"], int), where
            return
        assert list(body) == ["code", "column_meta", "data", "rows"], where
        assert body["column_meta"] == exp["column_meta"], where
        assert body["rows"] == exp["rows"] == len(body["data"]), f"{where}: {body['data']}"
        names = [c[0] for c in exp["column_meta"]]
        for i, col in enumerate(exp["column_meta"]):
            if col[1] == "TIMESTAMP":
                assert all(TS.match(row[i]) for row in body["data"]), where
        if names[:2] == ["id", "endpoint"]:
            self._check_nodes(where, names, exp["data"], body["data"], moving or set())
        elif names[0] == "vgroup_id":
            self._check_vgroups(where, exp["data"], body["data"])
        elif names[:2] == ["id", "create_time"]:
            for got, want in zip(body["data"], exp["data"], strict=True):
                assert got[2:8] == want[2:8], where  # stage, oper, db, stable, killable, failed_times
                assert got[9].startswith("action:") and " code:0x" in got[9], where
        elif names != ["affected_rows"] or rec["sql"].lower().startswith("insert"):
            assert body["data"] == exp["data"], where

    def _check_nodes(self, where: str, names: list[str], want: list[Any], got: list[Any], moving: set[str]) -> None:
        assert [r[0] for r in got] == sorted(r[0] for r in got), f"{where}: rows ordered by id"
        want_by_ep = {r[1]: dict(zip(names, r, strict=True)) for r in want}
        got_by_ep = {r[1]: dict(zip(names, r, strict=True)) for r in got}
        assert set(got_by_ep) == set(want_by_ep), where
        for ep, w in want_by_ep.items():
            g = got_by_ep[ep]
            assert g["id"] == self._sim_id(ep), where
            keys = [k for k in ("vnodes", "support_vnodes", "status", "note", "role") if k in w]
            if ep in moving:
                keys.remove("vnodes")  # interleaving of moves differs; checked by the caller
            assert {k: g[k] for k in keys} == {k: w[k] for k in keys}, f"{where}: {ep}"

    def _check_vgroups(self, where: str, want: list[Any], got: list[Any]) -> None:
        for g, w in zip(got, want, strict=True):
            assert g[1:3] == w[1:3], where  # db_name, tables
            w_members = {self.tid_to_ep[w[3 + 3 * k]] for k in range(3)}
            g_members = {self._ep(g[3 + 3 * k]) for k in range(3)}
            assert g_members == w_members, where
            assert sorted(g[4 + 3 * k] for k in range(3)) == sorted(w[4 + 3 * k] for k in range(3)), where
            assert g[12:] == w[12:], where  # no 4th member; cacheload, cacheelements, tsma, mount_vgroup_id

    def _sim_id(self, ep: str) -> int:
        return next(d["id"] for d in self.sim.dnodes() if d["endpoint"] == ep)

    def _ep(self, sid: int) -> str:
        return next(d["endpoint"] for d in self.sim.dnodes() if d["id"] == sid)


@pytest.fixture(scope="module")
def transcript() -> list[dict[str, Any]]:
    return _load()


def _scenario(records: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    out = [r for r in records if r["scenario"].startswith(prefix)]
    assert out, prefix
    return out


def _run_plain(rp: Replayer, recs: list[dict[str, Any]]) -> None:
    for rec in recs:
        status, body, _ = rp.send(rec)
        rp.check(rec, status, body)
        rp.learn(rec)


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
    assert time.monotonic() - released >= 2 * MIGRATION * 0.9, "the drop blocks while 2 vnodes move"
    assert seen[victim] == sorted(seen[victim], reverse=True) and set(seen[victim]) <= {0, 1, 2}
    assert seen[spare] == sorted(seen[spare]) and set(seen[spare]) <= {0, 1, 2}
    _run_plain(rp, after)


def _sees_drop(rec: dict[str, Any]) -> bool:
    data = rec["response"]["data"]
    if rec["sql"] == "show transactions":
        return bool(data)
    return any(row[4] == "dropping" for row in data)
