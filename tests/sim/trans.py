"""DROP DNODE: the pre-checks (§5 order, with §13's observed codes) and the drop-dnode transaction.

The transaction runs in its own thread so that the REST request can block on it, give up with a
'continue in the background' error (a fault), or be cut by a client timeout, while the move goes on.
Where each vnode goes is TDengine's placement (`placement.py`), decided when the statement arrives; the
vgroups then move in parallel (`moves.py`), each target joining as a 4th member (`v4`) first.
"""

from __future__ import annotations

import threading

from tests.sim import codes, moves
from tests.sim.codes import SqlError
from tests.sim.model import Cluster, Trans


def drop_dnode(c: Cluster, dnode_id: int | None, force: bool = False, unsafe: bool = False) -> Trans | None:
    """Check and start a drop; returns the running transaction, or None when it finished at once."""
    force = force or unsafe
    with c.lock:
        now = c.refresh()
        d = c.dnodes.get(dnode_id) if dnode_id is not None else None
        if d is None:
            raise SqlError(codes.DNODE_NOT_EXIST)  # also every endpoint form (§5/§13 source bug)
        if d.dropping:
            raise SqlError(codes.DNODE_IN_DROPPING)
        has_mnode = d.id in c.mnodes
        if has_mnode and len(c.mnodes) <= 1:
            raise SqlError(codes.TOO_FEW_MNODES)
        if has_mnode and d.id == c.leader_id:
            raise SqlError(codes.CANT_DROP_LEADER)
        online = c.is_online(d, now)
        if online and force:
            raise SqlError(codes.ONLY_WHEN_OFFLINE)
        mine = [vg for _, vg in sorted(c.vgroups.items()) if d.id in vg.members or vg.learner == d.id]
        if not online and not force and not mine and has_mnode:
            raise SqlError(codes.DNODE_OFFLINE)
        if force and has_mnode and len(c.mnodes) == 2:
            raise SqlError(codes.ONLY_TWO_MNODES)
        placer = c.placer(now, except_id=d.id)
        plan: list[moves.Move] = []
        for vg in mine:
            if force and not unsafe and vg.members == [d.id]:
                raise SqlError(codes.SINGLE_REPLICA_UNSAFE)
            taken = {*vg.members, d.id, *([vg.learner] if vg.learner is not None else [])}
            plan.append(moves.plan(c, vg, d.id, placer.replacement(taken)))
        if not force and mine and (not online or any(vg.learner == d.id for vg in mine)):
            # after the placement (3 dnodes, replica 3, one offline: 820), before the conflict (the target of a
            # move in flight: 1345, not 979); both seen by the differential test (tests/real/)
            raise SqlError(codes.VNODE_OFFLINE)
        if c.global_trans_running():
            raise SqlError(codes.TRANS_CONFLICT)
        t = Trans(c.new_trans_id(), "drop-dnode", now, now)
        if not plan:
            _commit(c, d.id)
            return None
        d.dropping = True
        c.trans[t.id] = t
        c.changed.notify_all()
    threading.Thread(target=_run, args=(c, t, d.id, plan, force), name=f"drop-dnode-{d.id}", daemon=True).start()
    return t


def _run(c: Cluster, t: Trans, dnode_id: int, plan: list[moves.Move], force: bool) -> None:
    """Move every vgroup at once; the dnode's row goes when the last one is done."""
    finished = moves.run(c, t, plan, parallel=True, force=force)
    with c.lock:
        if finished and not c.closed:
            _commit(c, dnode_id)
        t.done.set()
        c.trans.pop(t.id, None)
        c.changed.notify_all()


def _commit(c: Cluster, dnode_id: int) -> None:
    """The dnode row and its mnode disappear (the mnode is not replaced); its data dir is now stale."""
    d = c.dnodes.pop(dnode_id, None)
    c.mnodes.pop(dnode_id, None)
    for dd in c.data_dirs:
        if dd.dnode_id == dnode_id:
            dd.dropped = True
    if d is not None:
        for vg in c.vgroups.values():
            if dnode_id in vg.members:  # only reachable if a move was skipped (closed/dropped db)
                vg.members.remove(dnode_id)
    c.changed.notify_all()
