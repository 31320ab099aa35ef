"""A dnode restart in the simulator, against what a real 3.3.7.5 showed (`transcripts/real-3.3.7.5-restart.jsonl`,
tdengine-admin.md §15): the victim's `reboot_time` old, then 0 (its mnode `offline`/`ready`, its vnodes `-1/-1`),
then new; a taosd back within the offline detection leaving its dnode `ready`; a stale leader beside the new one;
`candidate`/`candidate` while an election cannot finish; `show cluster alive` 2 until settled."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from tests.sim import SimCluster, tables
from tests.sim.replay import load

ZERO = "1970-01-01T00:00:00.000Z"


def q(sim: SimCluster, sql: str) -> list[list[Any]]:
    body = requests.post(f"{sim.url}/rest/sql", data=sql.encode(), auth=("root", "taosdata"), timeout=10).json()
    assert body["code"] == 0, body
    return body["data"]


def three_mnodes(sim: SimCluster) -> None:
    for ordinal in (1, 2):
        q(sim, f"create mnode on dnode {sim.dnode_id(ordinal)}")
    sim.wait_until(lambda s: sorted(m["role"] for m in s.mnodes) == ["follower", "follower", "leader"])


def led_off_the_mnode_leader(sim: SimCluster, vgroup: int) -> int:
    """Make a member that does not host the mnode leader lead the vgroup (as after an earlier election); its id."""
    mnode_leader = next(m["id"] for m in sim.mnodes() if m["role"] == "leader")
    with sim.cluster.lock:
        vg = sim.cluster.vgroups[vgroup]
        vg.leader = next(m for m in vg.members if m != mnode_leader)
        return vg.leader


def collapsed(seen: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]


def victim_phases(dnodes: list[list[Any]], mnodes: list[list[Any]], endpoint: str, old: str) -> tuple[Any, ...]:
    """(dnode status, reboot_time old|0|new, mnode role/status) of the victim."""
    d = next(r for r in dnodes if r[1] == endpoint)
    m = next(r for r in mnodes if r[1] == endpoint)
    reboot = "old" if d[6] == old else "0" if d[6] == ZERO else "new"
    return (d[4], reboot, f"{m[2]}/{m[3]}")


def recorded(prefix: str, endpoint: str) -> list[tuple[Any, ...]]:
    """The victim's phases in a recorded scenario, poll by poll."""
    records = [r for r in load("real-3.3.7.5-restart.jsonl") if r["scenario"].startswith(prefix)]
    dnodes = [r["response"]["data"] for r in records if r["sql"] == "show dnodes" and "state poll" in r["note"]]
    mnodes = [r["response"]["data"] for r in records if r["sql"] == "show mnodes" and "state poll" in r["note"]]
    old = next(r[6] for r in dnodes[0] if r[1] == endpoint)
    return collapsed([victim_phases(d, m, endpoint, old) for d, m in zip(dnodes, mnodes, strict=False)])


def watch(sim: SimCluster, until: Callable[[], bool], endpoint: str, seconds: float = 5.0) -> dict[str, Any]:
    old = next(r[6] for r in q(sim, "show dnodes") if r[1] == endpoint)
    phases, leaders, vgroups, alive = [], 0, [], []
    end = time.monotonic() + seconds
    while not until() and time.monotonic() < end:
        with sim.cluster.lock:  # both rows of one moment: read again when the new taosd's first status fell between
            while (dnodes := tables.dnode_rows(sim.cluster), mnodes := tables.mnode_rows(sim.cluster))[
                0
            ] != tables.dnode_rows(sim.cluster):
                pass
            phases.append(victim_phases(dnodes, mnodes, endpoint, old))
        rows = q(sim, "select * from information_schema.ins_vgroups")
        vgroups.append(rows)
        leaders = max(leaders, *(sum(r[4 + 3 * k] == "leader" for k in range(4)) for r in rows))
        alive.append(q(sim, "show cluster alive")[0][0])
    return {"phases": collapsed(phases), "most_leaders": leaders, "vgroups": vgroups, "alive": collapsed(alive)}


def test_a_taosd_back_within_the_offline_detection_changes_only_reboot_time_as_recorded():
    prefix = "SIGKILL of tdengine-2's taosd (dnode 3: an mnode follower, leader of r3 vgroups [])"
    with SimCluster(heartbeat_seconds=0.2, offline_after_seconds=1.5, pod_start_seconds=0.05) as sim:
        sim.bootstrap(3)
        three_mnodes(sim)
        sim.create_database("r3", replica=3, vgroups=4)
        endpoint, victim = sim.endpoint(2), sim.dnode_id(2)
        time.sleep(0.3)
        sim.kube.restart_pod(2)  # the container's taosd killed and started again, the pod kept
        start = time.monotonic()
        seen = watch(sim, lambda: time.monotonic() - start > 1.5, endpoint)
    want = recorded(prefix, endpoint)
    assert want == [
        ("ready", "old", "follower/ready"),
        ("ready", "0", "offline/ready"),
        ("ready", "new", "follower/ready"),
    ]
    assert seen["phases"] == want, seen["phases"]
    rejoining = [
        r
        for rows in seen["vgroups"]
        for r in rows
        if any(r[3 + 3 * k] == victim and r[5 + 3 * k] == "-1/-1" for k in range(3))
    ]
    assert rejoining, "its vnodes show -1/-1 while its new taosd's first status is taken in"


def test_a_dead_leader_shows_beside_the_new_one_until_its_dnode_is_offline():
    prefix = "SIGKILL of tdengine-2's taosd (dnode 3: an mnode follower, leader of r3 vgroups [4, 5])"
    records = [r for r in load("real-3.3.7.5-restart.jsonl") if r["scenario"].startswith(prefix)]
    doubled = [
        r
        for r in records
        if r["sql"] == "select * from information_schema.ins_vgroups"
        and any(sum(row[4 + 3 * k] == "leader" for k in range(4)) == 2 for row in r["response"]["data"])
    ]
    assert doubled, "recorded: two leaders at 4.52 s"
    with SimCluster(heartbeat_seconds=0.05, offline_after_seconds=0.6, election_seconds=0.1) as sim:
        sim.bootstrap(3)
        three_mnodes(sim)
        sim.create_database("r3", replica=3, vgroups=4)
        time.sleep(0.2)
        victim = led_off_the_mnode_leader(sim, sim.vgroups()[0]["id"])
        ordinal = next(o for o in range(3) if sim.dnode_id(o) == victim)
        sim.kube.crash_pod(ordinal)
        seen = watch(sim, lambda: False, sim.endpoint(ordinal), seconds=1.0)
        assert seen["most_leaders"] == 2, seen["vgroups"][:3]
        assert 2 in seen["alive"]
        sim.kube.restart_pod(ordinal)
        sim.wait_until(lambda s: all(d["status"] == "ready" for d in s.dnodes))


def test_an_election_that_cannot_finish_shows_candidates_until_the_member_returns():
    with SimCluster() as sim:
        sim.bootstrap(3)
        three_mnodes(sim)
        sim.create_database("r3", replica=3, vgroups=1)
        victim = led_off_the_mnode_leader(sim, sim.vgroups()[0]["id"])  # `alive` is 0 during an mnode election
        ordinal = next(o for o in range(3) if sim.dnode_id(o) == victim)
        sim.faults.hold_elections()
        sim.kube.crash_pod(ordinal)
        sim.wait_until(lambda s: s.dnode(sim.endpoint(ordinal))["status"] == "offline")
        time.sleep(0.1)
        row = q(sim, "select * from information_schema.ins_vgroups")[0]
        assert sorted(row[4 + 3 * k] for k in range(3)) == ["candidate", "candidate", "offline"]
        assert q(sim, "show cluster alive") == [[2]]
        sim.faults.hold_elections(False)
        sim.kube.restart_pod(ordinal)
        sim.wait_until(lambda s: all(d["status"] == "ready" for d in s.dnodes))
        time.sleep(0.2)
        row = q(sim, "select * from information_schema.ins_vgroups")[0]
        assert sorted(row[4 + 3 * k] for k in range(3)) == ["follower", "follower", "leader"]
