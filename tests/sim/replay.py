"""Replaying a real cluster's REST transcript against the simulator: send each recorded request over HTTP and
compare the answer (HTTP status, code, desc, column_meta, row counts, per-endpoint status/role/vnodes, vgroup
members). Timestamps, `timing` and transaction ids vary between runs and are only checked for shape; dnode ids
are mapped by endpoint. Used by `test_sim_replay.py` (the first transcript) and `test_sim_replay_moves.py`
(the redistribute and scale-in transcripts).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import requests

from tests.sim import SimCluster

TRANSCRIPTS = Path("/work/shared/reference/transcripts")
POLLED = "polled while the previous statement runs"
ROLES = frozenset({"leader", "follower", "candidate", "learner"})
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Replayer:
    """Sends transcript requests and compares answers; remembers transcript id -> endpoint."""

    def __init__(self, sim: SimCluster, strict_vgroups: bool = True) -> None:
        self.sim = sim
        self.tid_to_ep: dict[int, str] = {}
        self.strict_vgroups = strict_vgroups
        """False: a vgroup's members and 4th slot are compared, its members' roles only for being roles, and
        `tables` per database, at least the real count (which vgroup a table hashes to, how long the count lags
        the create, the restore markers `leader*`/`leader**` and the elections right after a move are not
        modelled)."""

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
        if not self.strict_vgroups:
            self._check_vgroups_loosely(where, want, got)
            return
        for g, w in zip(got, want, strict=True):
            assert g[1:3] == w[1:3], where  # db_name, tables
            w_members = {self.tid_to_ep[w[3 + 3 * k]] for k in range(3)}
            g_members = {self._ep(g[3 + 3 * k]) for k in range(3)}
            assert g_members == w_members, where
            assert sorted(g[4 + 3 * k] for k in range(3)) == sorted(w[4 + 3 * k] for k in range(3)), where
            assert g[12:] == w[12:], where  # no 4th member; cacheload, cacheelements, tsma, mount_vgroup_id

    def _check_vgroups_loosely(self, where: str, want: list[Any], got: list[Any]) -> None:
        assert [g[0] for g in got] == [w[0] for w in want], where  # the same vgroup ids
        for g, w in zip(got, want, strict=True):
            assert g[1] == w[1], where
            w_members = {self.tid_to_ep[w[3 + 3 * k]] for k in range(3) if w[3 + 3 * k] is not None}
            g_members = {self._ep(g[3 + 3 * k]) for k in range(3) if g[3 + 3 * k] is not None}
            assert g_members == w_members, f"{where}: vgroup {g[0]}"
            assert all(g[4 + 3 * k].rstrip("*") in ROLES for k in range(3) if g[3 + 3 * k] is not None), where
            assert g[12:] == w[12:], where  # no 4th member; cacheload, cacheelements, tsma, mount_vgroup_id
        assert sum(g[2] for g in got) >= sum(w[2] for w in want), f"{where}: tables (the real count lags more)"

    def _sim_id(self, ep: str) -> int:
        return next(d["id"] for d in self.sim.dnodes() if d["endpoint"] == ep)

    def _ep(self, sid: int) -> str:
        return next(d["endpoint"] for d in self.sim.dnodes() if d["id"] == sid)


def load(name: str) -> list[dict[str, Any]]:
    path = TRANSCRIPTS / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def scenario(records: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    out = [r for r in records if r["scenario"].startswith(prefix)]
    assert out, prefix
    return out


def run_plain(rp: Replayer, recs: list[dict[str, Any]]) -> None:
    for rec in recs:
        status, body, _ = rp.send(rec)
        rp.check(rec, status, body)
        rp.learn(rec)
