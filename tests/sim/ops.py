"""Statement semantics other than DROP DNODE: dnodes, mnodes, databases, tables, the root password.

Each function takes the `Cluster`, runs its checks in the order the reference gives (§1, §3, §4, §6,
§7, §13) and raises `SqlError` with the exact code; synchronous transactions block outside the lock.
"""

from __future__ import annotations

import re
import time

from tests.sim import codes
from tests.sim.codes import SqlError
from tests.sim.model import Cluster, Database, Dnode, Mnode, Trans, Vgroup

_SPECIAL = set("!@#$%^&*()-_+=[]{}:;><?|~,.")


def check_auth(c: Cluster, user: str, password: str) -> None:
    """Only root exists; a wrong password is code 855 (HTTP 200 at the REST front)."""
    with c.lock:
        if user != "root" or password != c.password:
            raise SqlError(codes.AUTH_FAILURE)


def create_dnode(c: Cluster, endpoint: str) -> int:
    """CREATE DNODE: a new id (max ever + 1), row offline/'status not received' until first status. An endpoint
    without a port gets the client's serverPort (the real server creates 'nohost' as 'nohost:6030')."""
    fqdn, sep, port = endpoint.rpartition(":")
    if not sep:
        fqdn, port = endpoint, str(c.cfg.server_port)
        endpoint = f"{fqdn}:{port}"
    if not fqdn:
        raise SqlError(codes.INVALID_ENDPOINT)
    if not port.isdigit() or not 0 < int(port) < 65535:
        raise SqlError(codes.INVALID_PORT)
    with c.lock:
        now = c.refresh()
        if c.dnode_by_endpoint(endpoint) is not None:
            raise SqlError(codes.DNODE_ALREADY_EXIST)
        if c.global_trans_running():
            raise SqlError(codes.TRANS_CONFLICT)
        c.max_dnode_id += 1
        c.dnodes[c.max_dnode_id] = Dnode(c.max_dnode_id, endpoint, now)
        c.new_trans_id()
        c.changed.notify_all()
        return c.max_dnode_id


def auto_join(c: Cluster, endpoint: str, password: str | None = None) -> str:
    """The image entrypoint's `create dnode` for itself (`taos -p'$TAOS_ROOT_PASSWORD'`): 'done', 'retry'
    (firstEp not up) or 'fail'. `password` is the pod's TAOS_ROOT_PASSWORD (default: the simulator's)."""
    with c.lock:
        now = c.refresh()
        if c.password != (c.cfg.root_password if password is None else password):
            return "fail"  # the entrypoint only knows the password it was deployed with
        lead = c.dnodes.get(c.leader_id) if c.leader_id is not None else None
        if lead is None or not c.is_online(lead, now):
            return "retry"
        try:
            create_dnode(c, endpoint)
        except SqlError as e:
            return "done" if e.code == codes.DNODE_ALREADY_EXIST else "retry"
        return "done"


def create_mnode(c: Cluster, dnode_id: int) -> None:
    """CREATE MNODE ON DNODE (§3 order); synchronous; afterwards shown `offline` a moment (§13)."""
    cfg = c.cfg
    with c.lock:
        now = c.refresh()
        if dnode_id in c.mnodes:
            raise SqlError(codes.MNODE_ALREADY_EXIST)
        d = c.dnodes.get(dnode_id)
        if d is None:
            raise SqlError(codes.DNODE_NOT_EXIST)
        if len(c.mnodes) >= 3:
            raise SqlError(codes.TOO_MANY_MNODES)
        if not c.is_online(d, now):
            raise SqlError(codes.DNODE_OFFLINE)
        if c.global_trans_running():
            raise SqlError(codes.TRANS_CONFLICT)
        done_at = now + cfg.mnode_create_seconds
        c.mnodes[dnode_id] = Mnode(
            dnode_id, now, creating_until=done_at, settle_until=done_at + cfg.mnode_settle_seconds
        )
        t = _begin(c, "create-mnode", now)
        c.changed.notify_all()
    time.sleep(cfg.mnode_create_seconds)
    with c.lock:
        m = c.mnodes.get(dnode_id)
        if m is not None:
            m.role_time = m.settle_until
        _finish(c, t)


def drop_mnode(c: Cluster, dnode_id: int) -> None:
    """DROP MNODE ON DNODE (§4 order); synchronous."""
    with c.lock:
        now = c.refresh()
        if dnode_id <= 0 or dnode_id not in c.mnodes:
            raise SqlError(codes.MNODE_NOT_EXIST)
        if dnode_id == c.leader_id:
            raise SqlError(codes.CANT_DROP_LEADER)
        if len(c.mnodes) <= 1:
            raise SqlError(codes.TOO_FEW_MNODES)
        if not c.is_online(c.dnodes[dnode_id], now):
            raise SqlError(codes.DNODE_OFFLINE)
        if c.global_trans_running():
            raise SqlError(codes.TRANS_CONFLICT)
        c.mnodes[dnode_id].dropping = True
        t = _begin(c, "drop-mnode", now)
    time.sleep(c.cfg.mnode_create_seconds)
    with c.lock:
        c.mnodes.pop(dnode_id, None)
        _finish(c, t)


def create_database(c: Cluster, name: str, replica: int = 1, vgroups: int = 2, if_not_exists: bool = False) -> None:
    """CREATE DATABASE: each vgroup's vnodes where TDengine's placement score puts them (`placement.py`);
    820 if too few online dnodes, 954 if a dnode it picks is full."""
    if replica not in (1, 3):  # the community build: 2 needs the enterprise arbitrator (real: 898)
        raise SqlError(codes.DB_OPTION_INVALID)
    if not 1 <= vgroups <= 1024:
        raise SqlError(codes.SYNTAX_ERROR, f"Invalid option vgroups: {vgroups} valid range: [1, 1024]")
    with c.lock:
        now = c.refresh()
        if name in c.dbs:
            if if_not_exists:
                return
            raise SqlError(codes.DB_ALREADY_EXIST)
        placer = c.placer(now)
        layout = [placer.for_vgroup(replica) for _ in range(vgroups)]
        if c.global_trans_running():
            raise SqlError(codes.TRANS_CONFLICT)
        ids = []
        for members in layout:
            vg = Vgroup(c.next_vgroup_id, name, replica, members, leader=members[0])
            c.vgroups[vg.id] = vg
            ids.append(vg.id)
            c.next_vgroup_id += 1
        c.dbs[name] = Database(name, replica, ids, now)
        t = _begin(c, "create-db", now)
    time.sleep(c.cfg.db_create_seconds)
    with c.lock:
        _finish(c, t)


def drop_database(c: Cluster, name: str, if_exists: bool = False) -> None:
    with c.lock:
        db = c.dbs.get(name)
        if db is None:
            if if_exists:
                return
            raise SqlError(codes.DB_NOT_EXIST)
        if c.global_trans_running():
            raise SqlError(codes.TRANS_CONFLICT)
        for vid in db.vgroup_ids:
            c.vgroups.pop(vid, None)
        del c.dbs[name]
        c.new_trans_id()
        c.changed.notify_all()


def create_table(c: Cluster, db: str) -> None:
    """Minimal CREATE TABLE: counts the table in one vgroup (round robin) so `tables` moves."""
    with c.lock:
        d = c.dbs.get(db)
        if d is None:
            raise SqlError(codes.DB_NOT_EXIST)
        ntables = sum(len(c.vgroups[v].table_times) for v in d.vgroup_ids)
        vg = c.vgroups[d.vgroup_ids[ntables % len(d.vgroup_ids)]]
        vg.table_times.append(time.time())
        vg.applied += 1


def insert_rows(c: Cluster, db: str, rows: int) -> int:
    with c.lock:
        if db not in c.dbs:
            raise SqlError(codes.DB_NOT_EXIST)
        return rows


def alter_password(c: Cluster, user: str, password: str) -> None:
    """ALTER USER root PASS: 3.3.6+ strong-password rules (§7, §13); 'taosdata' always passes. The parser
    checks the password before the mnode looks the user up, so a bad password wins over a bad user."""
    if password != "taosdata":
        if len(password) < 8:
            raise SqlError(codes.PASSWD_TOO_SHORT)
        if len(password) > 255:
            raise SqlError(codes.PASSWD_TOO_LONG)
        classes = [
            any(ch.isupper() and ch.isascii() for ch in password),
            any(ch.islower() and ch.isascii() for ch in password),
            any(ch.isdigit() and ch.isascii() for ch in password),
            any(ch in _SPECIAL for ch in password),
        ]
        allowed = all(re.fullmatch(r"[A-Za-z0-9]", ch) or ch in _SPECIAL for ch in password)
        if not allowed or sum(classes) < 3:
            raise SqlError(codes.INVALID_PASSWD)
    if user != "root":
        raise SqlError(codes.USER_NOT_EXIST)
    with c.lock:
        c.password = password


def _begin(c: Cluster, oper: str, now: float) -> Trans:
    t = Trans(c.new_trans_id(), oper, now, now)
    c.trans[t.id] = t
    return t


def _finish(c: Cluster, t: Trans) -> None:
    t.done.set()
    c.trans.pop(t.id, None)
    c.changed.notify_all()
