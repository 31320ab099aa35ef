"""DROP DNODE: the pre-checks (§5 order, with §13's observed codes) and the drop-dnode transaction.

The transaction runs in its own thread so that the REST request can block on it, give up with a
'continue in the background' error (a fault), or be cut by a client timeout, while the move goes on.
Vgroups move serially: the target joins as a 4th member (`v4`), then replaces the departing member.
"""

from __future__ import annotations

import threading
import time

from tests.sim import codes
from tests.sim.codes import SqlError
from tests.sim.model import Cluster, Trans, Vgroup


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
        if not online and not force:
            if mine:
                raise SqlError(codes.VNODE_OFFLINE)
            if has_mnode:
                raise SqlError(codes.DNODE_OFFLINE)
        if force and has_mnode and len(c.mnodes) == 2:
            raise SqlError(codes.ONLY_TWO_MNODES)
        plan: list[tuple[Vgroup, int]] = []
        extra: dict[int, int] = {}
        for vg in mine:
            if force and not unsafe and vg.members == [d.id]:
                raise SqlError(codes.SINGLE_REPLICA_UNSAFE)
            target = c.placement(now, 1, {*vg.members, d.id}, extra)
            if target is None:
                raise SqlError(codes.NO_ENOUGH_DNODES)
            extra[target[0]] = extra.get(target[0], 0) + 1
            plan.append((vg, target[0]))
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


def _run(c: Cluster, t: Trans, dnode_id: int, plan: list[tuple[Vgroup, int]], force: bool) -> None:
    """Move each vgroup in turn; progress only while not stalled and the parties are reachable."""
    tick = max(0.001, min(0.01, c.cfg.migration_seconds / 5))
    for step, (vg, target) in enumerate(plan):
        with c.lock:
            if c.closed or vg.id not in c.vgroups:
                continue
            vg.learner = target
            _action(c, t, 18 + 2 * step, "0x3d8(Wrong transaction execution context)", "create-vnode", target)
        progress, last = 0.0, time.monotonic()
        while progress < c.cfg.migration_seconds:
            time.sleep(tick)
            with c.lock:
                if c.closed:
                    return
                now = c.refresh()
                mono = time.monotonic()
                tgt, src = c.dnodes.get(target), c.dnodes[dnode_id]
                blocked = c.faults.is_stalled() or tgt is None or not c.is_online(tgt, now)
                blocked = blocked or (not force and not c.is_online(src, now))
                if c.faults.is_held():
                    pass  # a slow copy: no progress, no failure
                elif blocked:
                    if "0xb(" not in t.last_action_info:
                        t.failed_times += 1
                        _action(c, t, 19 + 2 * step, "0xb(Unable to establish connection)", "alter-replica", target)
                else:
                    progress += mono - last
                last = mono
        with c.lock:
            _replace_member(c, vg, dnode_id, target, lossy=force)
            _action(c, t, 19 + 2 * step, "0x0(success)", "alter-confirm", target)
            c.changed.notify_all()
    with c.lock:
        if not c.closed:
            _commit(c, dnode_id)
        t.done.set()
        c.trans.pop(t.id, None)
        c.changed.notify_all()


def _replace_member(c: Cluster, vg: Vgroup, old: int, new: int, lossy: bool) -> None:
    if lossy and vg.members == [old]:
        c.violations.append(
            f"vgroup {vg.id} of database {vg.db!r} lost its last replica: dnode {old} was dropped "
            f"while offline with `unsafe`; vgroup recreated empty on dnode {new} (data lost)"
        )
        vg.table_times.clear()
    vg.members = [new if m == old else m for m in vg.members]
    vg.learner = None
    if vg.leader == old:
        vg.leader = new if len(vg.members) == 1 else next(m for m in vg.members if m != new)
    vg.applied += 2
    vg.fresh = False


def _action(c: Cluster, t: Trans, action: int, code: str, msg_type: str, target: int) -> None:
    ep = c.dnodes[target].endpoint if target in c.dnodes else "?"
    t.last_action_info = f"action:{action} code:{code} msgType:{msg_type} numOfEps:1 inUse:0 ep:0-{ep} "
    t.last_exec_time = time.time()


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
