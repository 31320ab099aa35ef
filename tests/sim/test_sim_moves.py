"""Simulator semantics of moves beyond the transcripts: `redistribute vgroup`'s source-only codes (950, 954),
the new member shown as the 4th slot while a redistribute blocks, `ins_disk_usage`, copies sharing a
transaction's bandwidth, the placement score counting mnodes, and enterprise `supportVnodes`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.sim import SimCluster
from tests.sim.placement import Placer, Slot


def q(sim: SimCluster, sql: str) -> dict[str, Any]:
    return requests.post(f"{sim.url}/rest/sql", data=sql.encode(), auth=("root", "taosdata"), timeout=10).json()


@pytest.fixture
def sim() -> Iterator[SimCluster]:
    with SimCluster(support_vnodes=4, copy_kb_per_second=1000.0) as s:
        s.bootstrap(4)
        yield s
        assert s.violations == []


def members(sim: SimCluster, vgroup: int) -> list[int]:
    return next(vg["members"] for vg in sim.vgroups() if vg["id"] == vgroup)


def test_redistribute_refuses_an_offline_or_full_new_member_and_shows_the_move_in_flight(sim: SimCluster) -> None:
    sim.create_database("one", replica=1, vgroups=1)
    vg = sim.vgroups()[0]["id"]
    home = members(sim, vg)[0]
    others = [d["id"] for d in sim.dnodes() if d["id"] != home]
    sim.kube.crash_pod(next(o for o in range(4) if sim.dnode_id(o) == others[0]))
    sim.wait_until(lambda s: not any(d["id"] == others[0] and d["status"] == "ready" for d in s.dnodes))
    assert q(sim, f"redistribute vgroup {vg} dnode {others[0]}")["code"] == 950
    target = next(d["id"] for d in sim.dnodes() if d["id"] not in (home, others[0]) and d["vnodes"] < 4)
    sim.set_size("one", 100)
    sim.faults.hold_moves()
    worker = threading.Thread(target=lambda: q(sim, f"redistribute vgroup {vg} dnode {target}"))
    worker.start()
    # The transaction shows before its first action adds the member (on the real server too): wait for both.
    snap = sim.wait_until(lambda s: bool(s.transactions) and any(v["id"] == vg and v["moving_to"] for v in s.vgroups))
    assert (snap.transactions[0]["oper"], snap.transactions[0]["db"]) == ("red-vgroup", "one")
    row = next(r for r in q(sim, "show one.vgroups")["data"] if r[0] == vg)
    assert (row[3], row[6], row[7]) == (home, target, "learner")  # v2 is the new member while it copies
    assert q(sim, f"drop dnode {target}")["code"] == 1345  # its vnode still copying: the real server (tests/real/)
    sim.faults.hold_moves(False)
    worker.join(5)
    assert members(sim, vg) == [target] and [(m.source, m.target, m.size_kb) for m in sim.moves()] == [
        (home, target, 100)
    ]


def test_redistribute_to_a_full_dnode_is_vnodes_exhausted() -> None:
    with SimCluster(support_vnodes=1) as sim:
        sim.bootstrap(3)
        sim.create_database("a", replica=1, vgroups=3)  # one vnode on each dnode: every dnode is full
        vg = sim.vgroups()[0]
        other = next(d["id"] for d in sim.dnodes() if d["id"] not in vg["members"])
        assert q(sim, f"redistribute vgroup {vg['id']} dnode {other}")["code"] == 954
        assert q(sim, f"redistribute vgroup {vg['id']} dnode {vg['members'][0]}")["code"] == 0  # unchanged


def test_disk_usage_per_vgroup_in_kb(sim: SimCluster) -> None:
    sim.create_database("app", replica=3, vgroups=2)
    sim.set_size("app", 2048)
    body = q(sim, "select * from information_schema.ins_disk_usage where db_name = 'app'")
    names = [c[0] for c in body["column_meta"]]
    assert names[:4] == ["db_name", "vgroup_id", "wal", "data1"]  # 3.3.7.5's names and "raw_data" in names
    assert [(r[0], r[3]) for r in body["data"]] == [("app", 2048), ("app", 2048)]


def test_disk_usage_of_a_database_whose_vnodes_move_is_vnode_closed(sim: SimCluster) -> None:
    """0x0503, as the real 3.3.7.5 answered the scale-in preflight while a `drop dnode` still moved vnodes; another
    database, and the same one once the move is done, answer as usual."""
    sim.create_database("app", replica=1, vgroups=4)
    sim.create_database("still", replica=1, vgroups=1)
    home_of_still = next(vg["members"][0] for vg in sim.vgroups() if vg["db"] == "still")
    mnode = sim.mnodes()[0]["id"]
    victim = next(d["id"] for d in sim.dnodes() if d["id"] not in (home_of_still, mnode))  # one vnode of app
    sim.faults.hold_moves()
    worker = threading.Thread(target=lambda: q(sim, f"drop dnode {victim}"))
    worker.start()
    sim.wait_until(lambda s: any(vg["moving_to"] is not None for vg in s.vgroups))
    disk = "select * from information_schema.ins_disk_usage where db_name = '{}'"
    assert (q(sim, disk.format("app"))["code"], q(sim, disk.format("app"))["desc"]) == (
        1283,
        "Vnode is closed or removed",
    )
    assert q(sim, disk.format("still"))["code"] == 0
    sim.faults.hold_moves(False)
    worker.join(5)
    assert q(sim, disk.format("app"))["code"] == 0


def test_a_drops_copies_share_the_bandwidth_and_a_redistribute_copies_alone(sim: SimCluster) -> None:
    sim.create_database("app", replica=1, vgroups=4)  # one per dnode
    victim = sim.dnode_id(3)
    sim.set_size("app", 100)
    mine = [vg for vg in sim.cluster.vgroups.values() if victim in vg.members]
    started = time.monotonic()
    assert q(sim, f"drop dnode {victim}")["code"] == 0
    one = time.monotonic() - started
    fixed = sim.config.migration_seconds
    assert one >= (fixed + len(mine) * 0.1) * 0.9  # 100 KB each at 1000 KB/s, shared


def test_the_score_counts_an_mnode_as_nine_tenths_of_a_vnode() -> None:
    placer = Placer([Slot(1, 3, 9, True), Slot(2, 3, 9, False), Slot(3, 4, 9, False)])
    assert placer.replacement(set()) == 2  # 3/9 < 3.9/9 < 4/9; dnode 2 then holds 4
    assert placer.replacement(set()) == 1  # 3.9/9 < 4/9 (dnode 2, before dnode 3: equal scores keep their order)
    assert placer.replacement({2}) == 3  # dnode 1 now at 4.9/9; dnode 2 is a member


def test_supportvnodes_is_set_only_by_the_enterprise_build() -> None:
    with SimCluster(enterprise=True) as sim:
        sim.bootstrap(3)
        assert q(sim, "alter dnode 2 'supportVnodes' '0'")["code"] == 0
        assert next(d["support_vnodes"] for d in sim.dnodes() if d["id"] == 2) == 0
        sim.create_database("r1", replica=1, vgroups=4)
        assert all(2 not in vg["members"] for vg in sim.vgroups())
        assert q(sim, "alter dnode 2 'debugFlag' '143'")["code"] == 281  # only supportVnodes is modelled
