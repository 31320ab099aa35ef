"""Vnode moves: what a `drop dnode` or a `redistribute vgroup` transaction does to each vgroup it changes.

A move adds the new member (a learner: ins_vgroups' 4th slot), copies the vnode to it, then the new member
replaces the old one. It takes a fixed part, `migration_seconds` (creating the vnode, the membership changes
and their confirmations: about 20 s on the real cluster even for an empty vnode, tdengine-admin.md §14), then
the copy, `size_kb / copy_kb_per_second`. `drop dnode` runs its moves in parallel (`mndTransSetGroupParallel`:
4 vnodes in 23.4 s, 5 in 24.0 s on the real cluster), `redistribute vgroup` one after another
(`mndTransSetSerial`: two members replaced in 37.1 s).

The moves of one transaction share the copy bandwidth, as if every copy went through one link (the departing
dnode's). That part is a model, not a measurement: the real cluster's transcripts moved near-empty vnodes
only, and TDengine copies a new replica from the vgroup's leader, which may be another dnode.

A move progresses only while nothing blocks it: the stall fault, a held copy (nothing fails, nothing
moves), its new member's taosd down, or (unless forced) its old member's: a stopped process copies nothing,
even before the mnode notices its missing status messages.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tests.sim.model import Cluster, MoveRecord, Trans, Vgroup


@dataclass(eq=False)
class Move:
    vg: Vgroup
    source: int
    """The member replaced."""
    target: int
    fixed_left: float
    copy_left: float
    """KB still to copy (0 when copies take no time)."""
    done: bool = False


def plan(c: Cluster, vg: Vgroup, source: int, target: int) -> Move:
    rate = c.cfg.copy_kb_per_second
    return Move(vg, source, target, c.cfg.migration_seconds, float(vg.size_kb) if rate > 0 else 0.0)


def run(c: Cluster, t: Trans, moves: list[Move], *, parallel: bool, force: bool) -> bool:
    """Carry out the moves (in this thread); False when the simulator closed first."""
    tick = max(0.001, min(0.01, c.cfg.migration_seconds / 5))
    pending, active = list(moves), list[Move]()
    last = time.monotonic()
    step = 0
    while pending or active:
        with c.lock:
            if c.closed:
                return False
            while pending and (parallel or not active):
                m = pending.pop(0)
                if m.vg.id in c.vgroups:  # a dropped database's vgroups need no move
                    m.vg.learner = m.target
                    _action(c, t, 18 + 2 * step, "0x3d8(Wrong transaction execution context)", "create-vnode", m.target)
                    step += 1
                    active.append(m)
            c.changed.notify_all()
        time.sleep(tick)
        with c.lock:
            if c.closed:
                return False
            now = c.refresh()
            mono = time.monotonic()
            dt, last = mono - last, mono
            if c.faults.is_held():
                continue  # a slow copy: no progress, no failure
            running = [m for m in active if m.vg.id in c.vgroups and not _blocked(c, t, m, now, force, step)]
            copying = [m for m in running if m.fixed_left <= 0]
            rate = c.cfg.copy_kb_per_second
            for m in running:
                if m.fixed_left > 0:
                    m.fixed_left -= dt
                elif rate > 0:
                    m.copy_left -= dt * rate / len(copying)
            for m in active:
                if m.vg.id not in c.vgroups:
                    m.done = True
                elif m.fixed_left <= 0 and m.copy_left <= 0:
                    _complete(c, t, m, force, step)
            active = [m for m in active if not m.done]
            c.changed.notify_all()
    return True


def _blocked(c: Cluster, t: Trans, m: Move, now: float, force: bool, step: int) -> bool:
    target, source = c.dnodes.get(m.target), c.dnodes.get(m.source)
    blocked = c.faults.is_stalled() or target is None or not c.serving(target, now)
    blocked = blocked or (not force and (source is None or not c.serving(source, now)))
    if blocked and "0xb(" not in t.last_action_info:
        t.failed_times += 1
        _action(c, t, 19 + 2 * step, "0xb(Unable to establish connection)", "alter-replica", m.target)
    return blocked


def _complete(c: Cluster, t: Trans, m: Move, force: bool, step: int) -> None:
    vg = m.vg
    if force and vg.members == [m.source]:
        c.violations.append(
            f"vgroup {vg.id} of database {vg.db!r} lost its last replica: dnode {m.source} was dropped "
            f"while offline with `unsafe`; vgroup recreated empty on dnode {m.target} (data lost)"
        )
        vg.table_times.clear()
    vg.members = [m.target if d == m.source else d for d in vg.members]
    vg.learner = None
    if vg.leader == m.source:
        vg.leader = m.target if len(vg.members) == 1 else next(d for d in vg.members if d != m.target)
    vg.applied += 2
    vg.fresh = False
    c.moves.append(MoveRecord(vg.id, vg.db, m.source, m.target, vg.size_kb, t.oper))
    m.done = True
    _action(c, t, 19 + 2 * step, "0x0(success)", "alter-confirm", m.target)


def _action(c: Cluster, t: Trans, action: int, code: str, msg_type: str, target: int) -> None:
    ep = c.dnodes[target].endpoint if target in c.dnodes else "?"
    t.last_action_info = f"action:{action} code:{code} msgType:{msg_type} numOfEps:1 inUse:0 ep:0-{ep} "
    t.last_exec_time = time.time()
