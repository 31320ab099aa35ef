"""The health gates judged against what a real TDengine 3.3.7.5 showed around six dnode restarts
(`transcripts/real-3.3.7.5-restart.jsonl`, tdengine-admin.md §15): every 0.5 s poll of `ins_vnodes`, `show dnodes`,
`show mnodes`, `ins_vgroups` and `show cluster alive`, fed to `gates.problems` as `roll.py` would read them, with the
victim's `reboot_time` before the signal as the one this run recorded before restarting it.

What it pins down: the gates hold the roll back from the signal until the time §15's table gives for the cluster
settled (every vgroup led, every member leader/follower, `show cluster alive` 1, the victim's new `reboot_time`),
let it go within about a second after (one report interval for a rejoined member's applied index), and do not flap
after; and each signal §15 names is what held them back somewhere: the old `reboot_time`, then 0, an mnode
`offline`/`ready`, two leaders, `candidate`/`candidate`, `-1/-1`, a member behind.
"""

from __future__ import annotations

import collections
import re
from typing import Any

import pytest

from components.rollout import gates
from components.rollout.gates import Health
from components.tdengine.kube_types import PodInfo, StatefulSetInfo
from components.tdengine.naming import Naming
from components.tdengine.rows import parse_alive, parse_state, parse_vgroups, parse_vnodes
from tests.sim.replay import load

NAMING = Naming("tdengine", "taosd", "tdengine-test", "cluster.local", 6030)
MEMBERS = [f"tdengine-{i}" for i in range(3)]
POLLED = {
    "select * from information_schema.ins_vnodes": "vnodes",
    "show dnodes": "dnodes",
    "show mnodes": "mnodes",
    "select * from information_schema.ins_vgroups": "vgroups",
    "show cluster alive": "alive",
}
SETTLED = {
    "SIGTERM of tdengine-1's": (17.13, "the vnode on dnode 2 is rejoining (applied -1/-1)"),
    "SIGKILL of tdengine-2's taosd (dnode 3: an mnode follower, leader of r3 vgroups [4, 5])": (
        12.55,
        "shows 2 leaders",
    ),
    "SIGTERM of tdengine-2's": (7.59, "dnode 3 of tdengine-2 is offline"),
    "SIGKILL of tdengine-2's taosd (dnode 3: an mnode follower, leader of r3 vgroups [])": (5.01, "(status ready)"),
    "SIGTERM of tdengine-0's": (9.35, "has no leader"),
    "SIGKILL of tdengine-0's": (4.50, "shows reboot_time 0"),
}
"""Scenario (its start) -> seconds after the signal at which §15's table has the cluster settled (the later of
'every vgroup led, every member leader/follower' and the victim's new reboot_time), and one signal the gates held
the roll back on in that scenario."""
REPORT = 1.0
"""A member reports its applied index once a second: the gates may lag the table by that much."""


def _rows(resp: dict[str, Any]) -> list[dict[str, Any]]:
    names = [c[0] for c in resp["column_meta"]]
    return [dict(zip(names, r, strict=True)) for r in resp["data"]]


def judged(prefix: str) -> list[tuple[float, list[str], dict[str, Any]]]:
    """(seconds after the signal, the gates' problems, the poll) for every poll of the scenario after the signal."""
    records = [r for r in load("real-3.3.7.5-restart.jsonl") if r["scenario"].startswith(prefix)]
    assert records and len({r["scenario"] for r in records}) == 1, prefix
    victim = re.search(r"of (tdengine-\d)'s", records[0]["scenario"]).group(1)  # type: ignore[union-attr]
    polls: dict[int, dict[str, Any]] = collections.defaultdict(dict)
    for r in records:
        found = re.search(r"state poll (\d+)", r["note"])
        if found and r["sql"] in POLLED:
            poll = polls[int(found.group(1))]
            poll[POLLED[r["sql"]]] = _rows(r["response"])
            t = re.match(r"t=([+-][\d.]+)s", r["note"])
            poll.setdefault("t", float(t.group(1)) if t else -1.0)
    sts = StatefulSetInfo(2, 2, "new", 3, "OnDelete")
    pods = tuple(PodInfo(p, i, True, "Running", False, p, "new", "", 0.0) for i, p in enumerate(MEMBERS))
    first = parse_state(polls[min(polls)]["dnodes"], [], [], [])
    before = {victim: first.dnode_of(NAMING.fqdn(victim)).reboot_time}  # type: ignore[union-attr]
    seen: list[tuple[float, dict[int, int]]] = []
    out = []
    for n in sorted(polls):
        poll, t = polls[n], polls[n]["t"]
        vgroups = parse_vgroups(poll["vgroups"])
        earlier = next((tops for at, tops in reversed(seen) if t - at >= gates.REPORT_LAG), {})
        seen.append((t, {vg.id: max(m.applied or 0 for m in vg.members) for vg in vgroups}))
        state = parse_state(poll["dnodes"], poll["mnodes"], [], [])
        h = Health(sts, pods, state, vgroups, parse_vnodes(poll["vnodes"]), parse_alive(poll["alive"]), before, earlier)
        if t >= 0:
            out.append((t, gates.problems(h, NAMING, MEMBERS), poll))
    return out


@pytest.mark.parametrize("prefix", list(SETTLED))
def test_the_gates_hold_the_roll_until_the_restart_has_settled(prefix):
    settled, signal = SETTLED[prefix]
    polls = judged(prefix)
    unsettled = [(t, found) for t, found, _ in polls if t < settled - 0.05]
    assert unsettled and all(found for _, found in unsettled), [t for t, found in unsettled if not found]
    healthy = [t for t, found, _ in polls if not found]
    assert healthy and settled - 0.05 <= healthy[0] <= settled + REPORT, healthy[:1]
    assert all(not found for t, found, _ in polls if t >= healthy[0]), "healthy, then not again"
    assert any(signal in p for _, found in unsettled for p in found), signal


def test_a_sigkilled_taosd_back_within_2s_changes_nothing_the_old_gates_looked_at():
    """§15: within TDengine's offline detection only `reboot_time` changes (old, 0, new); every dnode stayed
    `ready`, every vnode leader/follower and restored. The gates hold the roll back on `reboot_time` meanwhile."""
    prefix = "SIGKILL of tdengine-2's taosd (dnode 3: an mnode follower, leader of r3 vgroups [])"
    polls = judged(prefix)
    window = [(found, poll) for t, found, poll in polls if t < SETTLED[prefix][0] - 0.05]
    for found, poll in window:
        assert all(d["status"] == "ready" for d in poll["dnodes"])
        assert all(v["status"] in ("leader", "follower") and v["restored"] for v in poll["vnodes"])
        assert any("reboot_time" in p for p in found), found
