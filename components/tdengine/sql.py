"""The statements this project sends and the TDengine error codes it acts on. Pure.

One statement per request (taosAdapter ignores everything after the first `;`), so every builder returns one.
Codes are the low 16 bits of TDengine's error numbers (`taoserror.h`), as `rest.AdminClient` raises them.
"""

from __future__ import annotations

from components.tdengine.errors import ClusterError

# -- error codes -------------------------------------------------------------------------------------------------
AUTH_FAILURE = 855
DNODE_ALREADY_EXISTS = 816
DNODE_NOT_EXIST = 817
MNODE_ALREADY_EXISTS = 928
MNODE_NOT_THERE = 929
TOO_MANY_MNODES = 937
DNODE_IN_DROPPING = 953
VGROUP_NOT_EXIST = 818
HAS_OFFLINE_DNODE = 950
INVALID_REPLICA = 951
NO_ENOUGH_VNODES = 954
TRANS_CONFLICT = 979
TABLE_NOT_EXIST = 9731
CONTINUES_IN_BACKGROUND = frozenset({981, 983, 991})
"""`drop dnode` / `redistribute vgroup` answers that mean "running on in the background": keep waiting."""
VNODE_CLOSED = 1283
"""0x0503 "Vnode is closed or removed": `ins_disk_usage` of a database whose vnodes a `drop dnode` moved, on the
real 3.3.7.5 (an `up` resumed while an earlier run's drop was still in flight, issue 18)."""
SYNC_NOT_LEADER = 2316
"""0x090C "Sync leader is unreachable": a vgroup electing its leader (TDengine's error-code table; not in the six
recorded restarts, tdengine-admin.md §15, but in the real 3.3.7.5 pods' logs during the failover drills)."""
RPC_NETWORK_ERROR = 0x0023
""""rpc network error": a read just after a failover drill's pod had rejoined, on the real 3.3.7.5 pods."""
TRANSIENT = frozenset({VNODE_CLOSED, SYNC_NOT_LEADER, RPC_NETWORK_ERROR})
"""TDengine's answers to a read that pass by themselves while vnodes move or vgroups elect: a wait reads again
(`wait.until`) until its deadline. Every other code is permanent and ends the wait at once. docs/internals.md
("Transient answers") lists each with where it was observed."""

# -- reads -------------------------------------------------------------------------------------------------------
DNODES = "show dnodes"
MNODES = "show mnodes"
DATABASES = "select name, `replica` from information_schema.ins_databases"
TRANSACTIONS = "show transactions"
VGROUPS = "select * from information_schema.ins_vgroups"
VNODES = "select * from information_schema.ins_vnodes"
"""One row per vnode: dnode_id, vgroup_id, db_name, status, role_time, start_time, restored (reference §6)."""
SHOW_DATABASES = "show databases"
CLUSTER_ALIVE = "show cluster alive"
"""One row, `status` INT: 1 all available, 2 partly available, 0 unavailable (tdengine-admin.md §15)."""


def disk_usage(database: str) -> str:
    """`information_schema.ins_disk_usage` (TDengine 3.3.5+): a database's disk use per vgroup, in KB. Queried per
    database, as TDengine's documentation does; all columns, since their names vary by version (`wal`, `wal_size`)."""
    return f"select * from information_schema.ins_disk_usage where db_name = '{database}'"


def show_vgroups(database: str) -> str:
    return f"show {database}.vgroups"


def count_rows(table: str) -> str:
    return f"select count(*) from {table}"


def tables_of(database: str) -> str:
    return f"select table_name, vgroup_id from information_schema.ins_tables where db_name = '{database}'"


# -- changes -----------------------------------------------------------------------------------------------------
def create_dnode(endpoint: str) -> str:
    return f"create dnode '{endpoint}'"


def drop_dnode(dnode_id: int, force: bool = False) -> str:
    return f"drop dnode {dnode_id}" + (" force" if force else "")


def redistribute_vgroup(vgroup_id: int, dnode_ids: tuple[int, ...]) -> str:
    """The vgroup's complete new member list (tdengine-admin.md §14)."""
    return f"redistribute vgroup {vgroup_id} " + " ".join(f"dnode {d}" for d in dnode_ids)


def create_mnode(dnode_id: int) -> str:
    return f"create mnode on dnode {dnode_id}"


def drop_mnode(dnode_id: int) -> str:
    return f"drop mnode on dnode {dnode_id}"


def drop_database(database: str) -> str:
    return f"drop database if exists {database}"


def insert_now(table: str) -> str:
    return f"insert into {table} (ts) values (now)"


_FORBIDDEN = "'\"`\\"


def alter_root_password(password: str) -> str:
    """`alter user root pass '<password>'` (sql.y: `ALTER USER user_name PASS NK_STRING`).

    TDengine accepts no quote, backquote, backslash or whitespace in a password (tdengine-admin.md §7), so
    instead of escaping such a character into a literal the server would refuse anyway, refuse it here."""
    if not password or any(c in _FORBIDDEN or c.isspace() or not c.isprintable() for c in password):
        raise ClusterError(
            "rootPassword: <secret> contains a character TDengine does not accept in a password (quotes, "
            "backquote, backslash, whitespace). Nothing was changed. Fix: choose a password of letters, digits "
            "and !@#$%^&*()-_+=[]{}:;><?|~,. and re-run"
        )
    return f"alter user root pass '{password}'"
