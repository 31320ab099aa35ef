"""TDengine error codes the simulator answers, with their exact messages.

REST `code` is the low 16 bits of the TDengine error code in decimal (reference §8, §11); keeping the
numbers and texts in one table makes it easy to check them against the reference.
"""

from __future__ import annotations

INVALID_CFG = 281
DNODE_ALREADY_EXIST = 816
DNODE_NOT_EXIST = 817
VGROUP_NOT_EXIST = 818
CANT_DROP_LEADER = 819
NO_ENOUGH_DNODES = 820
USER_NOT_EXIST = 848
AUTH_FAILURE = 855
DB_ALREADY_EXIST = 897
DB_OPTION_INVALID = 898
DB_NOT_EXIST = 904
MNODE_ALREADY_EXIST = 928
MNODE_NOT_EXIST = 929
TOO_FEW_MNODES = 936
TOO_MANY_MNODES = 937
HAS_OFFLINE_DNODE = 950
INVALID_REPLICA = 951
DNODE_IN_CREATING = 952
DNODE_IN_DROPPING = 953
NO_ENOUGH_VNODES = 954
TRANS_CONFLICT = 979
RPC_NETWORK_ERROR = 0x0023
TRANS_NETWORK_UNAVAIL = 981
TRANS_SYNC_TIMEOUT = 983
TRANS_UNKNOWN_ERROR = 991
DNODE_OFFLINE = 1032
ONLY_TWO_MNODES = 1044
ONLY_WHEN_OFFLINE = 1046
SINGLE_REPLICA_UNSAFE = 1333
VNODE_OFFLINE = 1345
VNODE_CLOSED = 1283
SYNC_NOT_LEADER = 2316
SYNTAX_ERROR = 9728
INCOMPLETE_SQL = 9729
INVALID_COLUMN = 9730
TABLE_NOT_EXIST = 9731
PASSWD_TOO_LONG = 9744
PASSWD_TOO_SHORT = 9745
INVALID_PORT = 9746
INVALID_ENDPOINT = 9747
DB_NOT_SPECIFIED = 9750
INVALID_PASSWD = 9800
REDISTRIBUTE_DNODES = 9814

MESSAGES: dict[int, str] = {
    INVALID_CFG: "Invalid config option",
    DNODE_ALREADY_EXIST: "Dnode already exists",
    DNODE_NOT_EXIST: "Dnode does not exist",
    VGROUP_NOT_EXIST: "Vgroup does not exist or not in db",
    CANT_DROP_LEADER: "Cannot drop mnode which is leader",
    NO_ENOUGH_DNODES: "Out of dnodes",
    USER_NOT_EXIST: "User not exist",
    AUTH_FAILURE: "Authentication failure",
    DB_ALREADY_EXIST: "Database already exists",
    DB_OPTION_INVALID: "Invalid database options",
    DB_NOT_EXIST: "Database not exist",
    MNODE_ALREADY_EXIST: "Mnode already exists",
    MNODE_NOT_EXIST: "Mnode not there",
    TOO_FEW_MNODES: "The replica of mnode cannot less than 1",
    TOO_MANY_MNODES: "The replica of mnode cannot exceed 3",
    HAS_OFFLINE_DNODE: "Offline dnode exists",
    INVALID_REPLICA: "Invalid vgroup replica",
    DNODE_IN_CREATING: "Dnode in creating status",
    DNODE_IN_DROPPING: "Dnode in dropping status",
    NO_ENOUGH_VNODES: "Vnodes exhausted",
    TRANS_CONFLICT: "Conflict transaction not completed",
    RPC_NETWORK_ERROR: "rpc network error",
    TRANS_NETWORK_UNAVAIL: (
        "Unable to establish connection While execute transaction and will continue in the background"
    ),
    TRANS_SYNC_TIMEOUT: "Sync timeout While execute transaction and will continue in the background",
    TRANS_UNKNOWN_ERROR: "Unknown transaction error",
    DNODE_OFFLINE: "Dnode is offline",
    ONLY_TWO_MNODES: "Only two mnodes exist",
    ONLY_WHEN_OFFLINE: "Please use this command when the dnode is offline",
    SINGLE_REPLICA_UNSAFE: (
        "Single replica vnode data will lost permanently after this operation, if you make sure this, "
        "please use drop dnode <id> unsafe to execute"
    ),
    VNODE_OFFLINE: "Vnode is offline",
    VNODE_CLOSED: "Vnode is closed or removed",  # 0x0503; ins_disk_usage while vnodes move (issue 18)
    SYNC_NOT_LEADER: "Sync leader is unreachable",  # 0x090C; TDengine error-code doc: "during election"
    SYNTAX_ERROR: "syntax error near",
    INCOMPLETE_SQL: "Incomplete SQL statement",
    INVALID_COLUMN: "Invalid column name",
    TABLE_NOT_EXIST: "Table does not exist",
    PASSWD_TOO_LONG: "Name or password too long",
    PASSWD_TOO_SHORT: "Password too short or empty",
    INVALID_PORT: "Port should be an integer that is less than 65535 and greater than 0",
    INVALID_ENDPOINT: "Endpoint should be in the format of 'fqdn:port'",
    DB_NOT_SPECIFIED: "Database not specified or available",
    INVALID_PASSWD: "Invalid password",
    REDISTRIBUTE_DNODES: "The REDISTRIBUTE VGROUP statement only support 1 to 3 dnodes",
}


class SqlError(Exception):
    """A statement failed the way TDengine would fail it: REST answers HTTP 200 with code/desc."""

    def __init__(self, code: int, desc: str | None = None) -> None:
        self.code = code
        self.desc = desc if desc is not None else MESSAGES.get(code, "Unknown error")
        super().__init__(f"[{code}] {self.desc}")
