"""User data: super tables, child and normal tables, inserts and `count(*)`, each bound to a vgroup.

Writes and reads go through the vgroup's leader (TDengine routes both to it). While the leader's taosd
is down and no new leader is elected yet (`election_seconds` after it went away, with a majority of
the members serving, see `Cluster._elect_vgroup_leaders`), they fail with 0x090C "Sync leader is
unreachable" — the code TDengine's error-code table gives for requests during a leader election (the
reference is silent on it). Tables land in vgroups round robin (TDengine hashes the name; which vgroup
is not compared). `information_schema.ins_tables` lists user tables only (no system tables).
"""

from __future__ import annotations

import time
from typing import Any

from tests.sim import codes
from tests.sim.clock import iso_ms
from tests.sim.codes import SqlError
from tests.sim.model import Cluster, Database, Table, Vgroup

TABLE_COLS: list[list[Any]] = [
    ["table_name", "VARCHAR", 192],
    ["db_name", "VARCHAR", 64],
    ["create_time", "TIMESTAMP", 8],
    ["columns", "INT", 4],
    ["stable_name", "VARCHAR", 192],
    ["uid", "BIGINT", 8],
    ["vgroup_id", "INT", 4],
    ["ttl", "INT", 4],
    ["table_comment", "VARCHAR", 1024],
    ["type", "VARCHAR", 21],
]
COUNT_COLS: list[list[Any]] = [["count(*)", "BIGINT", 8]]
BENCH_COLUMNS = 4
"""taosBenchmark's default `meters`: ts, current, voltage, phase (tags groupid, location)."""


def _db(c: Cluster, name: str) -> Database:
    db = c.dbs.get(name)
    if db is None:
        raise SqlError(codes.DB_NOT_EXIST)
    return db


def leader_serving(c: Cluster, vg: Vgroup, now: float) -> bool:
    leader = c.dnodes.get(vg.leader)
    return leader is not None and vg.leader in vg.members and c.serving(leader, now)


def _through_leader(c: Cluster, vgroup_ids: set[int], now: float) -> None:
    for vid in sorted(vgroup_ids):
        vg = c.vgroups.get(vid)
        if vg is not None and not leader_serving(c, vg, now):
            raise SqlError(codes.SYNC_NOT_LEADER)


def create_stable(c: Cluster, db: str, name: str) -> None:
    with c.lock:
        _db(c, db).stables.add(name)


def create_table(c: Cluster, db: str, name: str, stable: str | None = None) -> Table:
    """CREATE TABLE [IF NOT EXISTS] (a re-create is a no-op); the next vgroup in turn holds it."""
    with c.lock:
        d = _db(c, db)
        if stable is not None and stable not in d.stables:
            raise SqlError(codes.TABLE_NOT_EXIST)
        if name in d.tables:
            return d.tables[name]
        vid = d.vgroup_ids[len(d.tables) % len(d.vgroup_ids)]
        now = time.time()
        table = Table(name, vid, now, stable)
        d.tables[name] = table
        vg = c.vgroups[vid]
        vg.table_times.append(now)
        vg.applied += 1
        return table


def insert(c: Cluster, db: str, name: str, rows: int) -> int:
    """INSERT INTO db.table: through the table's vgroup leader."""
    with c.lock:
        now = c.refresh()
        d = _db(c, db)
        table = d.tables.get(name)
        if table is None:
            raise SqlError(codes.TABLE_NOT_EXIST)
        _through_leader(c, {table.vgroup_id}, now)
        table.rows += rows
        c.vgroups[table.vgroup_id].applied += 1
        return rows


def count(c: Cluster, db: str, name: str) -> int:
    """SELECT COUNT(*) FROM db.<super table or table>: every vgroup holding its data must have a leader."""
    with c.lock:
        now = c.refresh()
        d = _db(c, db)
        if name in d.stables:
            children = [t for t in d.tables.values() if t.stable == name]
        elif name in d.tables:
            children = [d.tables[name]]
        else:
            raise SqlError(codes.TABLE_NOT_EXIST)
        _through_leader(c, {t.vgroup_id for t in children}, now)
        return sum(t.rows for t in children)


def table_rows(c: Cluster) -> list[list[Any]]:
    """information_schema.ins_tables rows of the user tables."""
    with c.lock:
        rows = []
        uid = 0
        for db_name, d in sorted(c.dbs.items()):
            for name, t in sorted(d.tables.items()):
                uid += 1
                kind = "CHILD_TABLE" if t.stable else "NORMAL_TABLE"
                columns = BENCH_COLUMNS if t.stable else 0  # normal tables' columns are not modelled
                rows.append(
                    [name, db_name, iso_ms(t.create_time), columns, t.stable or "", uid, t.vgroup_id, 0, "", kind]
                )
        return rows
