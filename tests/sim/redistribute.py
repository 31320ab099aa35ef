"""REDISTRIBUTE VGROUP <id> DNODE a [DNODE b DNODE c]: a vgroup's complete new member list (tdengine-admin.md §14).

The checks follow `mndProcessRedistributeVgroupMsg` / `mndRedistributeVgroup` (mndVgroup.c) in order: the
vgroup (818), the number and distinctness of the dnodes for its replica (951), the new and the removed
members existing (817) and online (950), then, per member added, room on it (954) and the global
transaction (979). The same members in any order answer 0 at once, even when one of them is offline. The
transaction (`red-vgroup`, its database in `show transactions`) blocks the request; its moves run one after
another (`moves.py`). The parser's own answers (9814 for four dnodes) are in `sql.py`.
"""

from __future__ import annotations

import threading

from tests.sim import codes, moves
from tests.sim.codes import SqlError
from tests.sim.model import Cluster, Trans


def redistribute(c: Cluster, vgroup_id: int, dnode_ids: list[int]) -> Trans | None:
    """Check and start the move; returns the running transaction, or None when nothing changes."""
    with c.lock:
        now = c.refresh()
        vg = c.vgroups.get(vgroup_id)
        if vg is None:
            raise SqlError(codes.VGROUP_NOT_EXIST)
        if len(dnode_ids) != vg.replica or len(set(dnode_ids)) != len(dnode_ids):
            raise SqlError(codes.INVALID_REPLICA)
        added = [d for d in dnode_ids if d not in vg.members]
        removed = [d for d in vg.members if d not in dnode_ids]
        for dnode_id in added + removed:
            d = c.dnodes.get(dnode_id)
            if d is None:
                raise SqlError(codes.DNODE_NOT_EXIST)
            if not c.is_online(d, now):
                raise SqlError(codes.HAS_OFFLINE_DNODE)
        if not added:
            return None
        for dnode_id in added:
            if c.vnodes_of(dnode_id) >= c.support_of(c.dnodes[dnode_id]):
                raise SqlError(codes.NO_ENOUGH_VNODES)
        if c.global_trans_running():
            raise SqlError(codes.TRANS_CONFLICT)
        t = Trans(c.new_trans_id(), "red-vgroup", now, now, db=vg.db)
        c.trans[t.id] = t
        plan = [moves.plan(c, vg, old, new) for new, old in zip(added, removed, strict=True)]
        c.changed.notify_all()
    threading.Thread(target=_run, args=(c, t, plan), name=f"red-vgroup-{vgroup_id}", daemon=True).start()
    return t


def _run(c: Cluster, t: Trans, plan: list[moves.Move]) -> None:
    moves.run(c, t, plan, parallel=False, force=False)
    with c.lock:
        t.done.set()
        c.trans.pop(t.id, None)
        c.changed.notify_all()
