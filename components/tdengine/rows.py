"""Typed rows of `show dnodes` / `show mnodes` / `ins_databases` / `show transactions` / vgroups, and the
topology they describe. Pure: parses the dict rows `AdminClient.query` returns.

Statuses and roles stay the text TDengine sent (`dropping*` is `dropping` with the process down), and are
judged through the enums below, never through bare strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from components.tdengine.naming import Naming


class DnodeStatus(StrEnum):
    """`show dnodes` status; a trailing `*` (e.g. `dropping*`) means the dnode's process is down."""

    READY = "ready"
    CREATING = "creating"
    DROPPING = "dropping"
    OFFLINE = "offline"


NOT_YET_SEEN = "status not received"
"""`show dnodes` note of a dnode whose taosd has not sent its first status (`offlineReason[]` in mndDnode.c)."""

ONLINE = frozenset({DnodeStatus.READY, DnodeStatus.CREATING, DnodeStatus.DROPPING})
"""Heartbeating statuses, exactly as TDengine shows them (without the `*` of a down process)."""


class Role(StrEnum):
    """`show mnodes` role, and a vnode's role in `show <db>.vgroups` (`leader*` while it restores)."""

    LEADER = "leader"
    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEARNER = "learner"
    OFFLINE = "offline"


SETTLED = frozenset({Role.LEADER, Role.FOLLOWER})


@dataclass(frozen=True)
class Dnode:
    id: int
    endpoint: str
    vnodes: int
    support_vnodes: int
    status: str
    note: str
    reboot_time: float = 0.0
    """When its taosd process started (`reboot_time`, epoch seconds; 0 until its first status)."""

    @property
    def fqdn(self) -> str:
        return self.endpoint.rsplit(":", 1)[0].lower()

    @property
    def is_unseen(self) -> bool:
        """Created, but its taosd has not reported yet: `offline` with the note "status not received" and no
        reboot_time (a new dnode for ~1-4 s; one that reported and stopped shows "status msg timeout";
        tdengine-admin.md §7)."""
        return self.status == DnodeStatus.OFFLINE and self.note == NOT_YET_SEEN and self.reboot_time <= 0

    @property
    def is_ready(self) -> bool:
        return self.status == DnodeStatus.READY

    @property
    def is_dropping(self) -> bool:
        return self.status.startswith(DnodeStatus.DROPPING)

    @property
    def is_creating(self) -> bool:
        return self.status.startswith(DnodeStatus.CREATING)

    @property
    def is_online(self) -> bool:
        """Heartbeating: `ready`, `creating` or `dropping` without the `*` of a down process."""
        return self.status in ONLINE


@dataclass(frozen=True)
class Mnode:
    id: int
    endpoint: str
    role: str
    status: str

    @property
    def fqdn(self) -> str:
        return self.endpoint.rsplit(":", 1)[0].lower()

    @property
    def is_leader(self) -> bool:
        return self.role == Role.LEADER

    @property
    def is_settled(self) -> bool:
        return self.role in SETTLED


@dataclass(frozen=True)
class Database:
    name: str
    replica: int | None


DROP_DNODE_TRANS = "drop-dnode"
REDISTRIBUTE_TRANS = "red-vgroup"
"""`show transactions`' oper of a `drop dnode` and of a `redistribute vgroup`."""


@dataclass(frozen=True)
class Transaction:
    id: int
    stage: str
    oper: str
    failed_times: int
    last_action_info: str
    db: str = ""
    """The database of a `red-vgroup` (a `redistribute vgroup`), '' for most others."""


@dataclass(frozen=True)
class ClusterState:
    dnodes: tuple[Dnode, ...]
    mnodes: tuple[Mnode, ...]
    databases: tuple[Database, ...]
    transactions: tuple[Transaction, ...]

    def dnode_of(self, fqdn: str) -> Dnode | None:
        return next((d for d in self.dnodes if d.fqdn == fqdn.lower()), None)

    def mnode_on(self, dnode: Dnode) -> Mnode | None:
        return next((m for m in self.mnodes if m.id == dnode.id or m.fqdn == dnode.fqdn), None)

    @property
    def leader(self) -> Mnode | None:
        return next((m for m in self.mnodes if m.is_leader), None)

    @property
    def max_replica(self) -> Database | None:
        user_dbs = [d for d in self.databases if d.replica is not None]
        return max(user_dbs, key=lambda d: d.replica or 0, default=None)


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _epoch(value: Any) -> float:
    """A TIMESTAMP as taosAdapter sends it (`2025-03-12T11:05:42.044Z`, or epoch milliseconds) in epoch seconds;
    0 for none or the epoch itself (a dnode before its first status)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000.0
    if isinstance(value, datetime):
        return value.timestamp() if value.tzinfo else value.replace(tzinfo=UTC).timestamp()
    if not isinstance(value, str) or not value:
        return 0.0
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def parse_state(
    dnodes: list[dict[str, Any]],
    mnodes: list[dict[str, Any]],
    databases: list[dict[str, Any]],
    transactions: list[dict[str, Any]],
) -> ClusterState:
    return ClusterState(
        dnodes=tuple(
            Dnode(
                _int(r["id"]),
                str(r["endpoint"]),
                _int(r["vnodes"]),
                _int(r["support_vnodes"]),
                str(r["status"]),
                str(r.get("note") or ""),
                _epoch(r.get("reboot_time")),
            )
            for r in dnodes
        ),
        mnodes=tuple(Mnode(_int(r["id"]), str(r["endpoint"]), str(r["role"]), str(r["status"])) for r in mnodes),
        databases=tuple(
            Database(str(r["name"]), None if r.get("replica") is None else int(r["replica"])) for r in databases
        ),
        transactions=tuple(
            Transaction(
                _int(r["id"]),
                str(r.get("stage") or ""),
                str(r.get("oper") or ""),
                _int(r.get("failed_times")),
                str(r.get("last_action_info") or ""),
                str(r.get("db") or ""),
            )
            for r in transactions
        ),
    )


def topology(state: ClusterState, naming: Naming) -> dict[str, Any]:
    """The live topology as plain values: ClusterMembership's `topology` output and `status`'s live view."""
    return {
        "dnodes": [
            {"pod": naming.pod_of(d) or "", "id": d.id, "endpoint": d.endpoint, "status": d.status, "vnodes": d.vnodes}
            for d in state.dnodes
        ],
        "mnodes": [{"id": m.id, "endpoint": m.endpoint, "role": m.role, "status": m.status} for m in state.mnodes],
    }


# -- vgroups -----------------------------------------------------------------------------------------------------
_DOWN = frozenset({Role.OFFLINE, DnodeStatus.DROPPING, "error", ""})


@dataclass(frozen=True)
class Member:
    """One replica (vnode) of a vgroup: `vN_dnode` / `vN_status` / `vN_applied/committed` of `show <db>.vgroups`."""

    dnode_id: int
    status: str
    applied: int | None = None
    """Its own applied index, as it last reported it (`12/12` -> 12; the leader's lags its followers' by up to
    1 s; an offline member keeps its last value); -1 while it rejoins (`-1/-1`, about 1 s, tdengine-admin.md §15);
    None when the column is absent (before 3.3.7)."""

    @property
    def role(self) -> str:
        """The status without the `*`/`**` TDengine appends to a leader that is still restoring."""
        return self.status.rstrip("*")

    @property
    def is_leader(self) -> bool:
        return self.role == Role.LEADER

    @property
    def is_up(self) -> bool:
        return self.role not in _DOWN


@dataclass(frozen=True)
class Vgroup:
    id: int
    db: str
    members: tuple[Member, ...]

    @property
    def voters(self) -> tuple[Member, ...]:
        """Members without a `learner` (a 4th member while a vgroup moves)."""
        return tuple(m for m in self.members if m.role != Role.LEARNER)

    @property
    def leaders(self) -> tuple[Member, ...]:
        """Every member shown as leader: two for a moment after a leader's taosd died, its stale row beside the
        new leader until TDengine marks its dnode offline (tdengine-admin.md §15)."""
        return tuple(m for m in self.members if m.is_leader)

    @property
    def leader(self) -> Member | None:
        """The leader when exactly one member is shown as leader; None with none or two (one of them stale)."""
        found = self.leaders
        return found[0] if len(found) == 1 else None

    def describe(self) -> str:
        return ", ".join(f"dnode {m.dnode_id} {m.status}" for m in self.members)


def parse_vgroups(rows: Iterable[dict[str, Any]]) -> tuple[Vgroup, ...]:
    """`show <db>.vgroups` / `information_schema.ins_vgroups` rows; unused slots (NULL) are skipped."""
    out = []
    for r in rows:
        members = tuple(
            Member(int(r[f"v{n}_dnode"]), str(r.get(f"v{n}_status") or ""), _applied(r.get(f"v{n}_applied/committed")))
            for n in range(1, 5)
            if r.get(f"v{n}_dnode") is not None
        )
        out.append(Vgroup(int(r["vgroup_id"]), str(r.get("db_name") or ""), members))
    return tuple(sorted(out, key=lambda v: v.id))


def _applied(value: Any) -> int | None:
    """`vN_applied/committed` ('12/12', '-1/-1') -> the applied index; None when absent or unreadable."""
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        return int(value.split("/", 1)[0])
    except ValueError:
        return None


def parse_alive(rows: Iterable[dict[str, Any]]) -> int | None:
    """`show cluster alive`: 1 every vgroup and dnode available, 2 partly, 0 unavailable (tdengine-admin.md §15)."""
    found = [r.get("status") for r in rows]
    return int(found[0]) if found and found[0] is not None else None


@dataclass(frozen=True)
class Vnode:
    """One row of `information_schema.ins_vnodes`: a vnode, its role and whether it has caught up."""

    dnode_id: int
    vgroup_id: int
    db: str
    status: str
    restored: bool

    @property
    def is_up(self) -> bool:
        return self.status.rstrip("*") not in _DOWN


def parse_vnodes(rows: Iterable[dict[str, Any]]) -> tuple[Vnode, ...]:
    """`information_schema.ins_vnodes` rows (`restored` is a BOOL: JSON true/false)."""
    return tuple(
        sorted(
            (
                Vnode(
                    _int(r.get("dnode_id")),
                    _int(r.get("vgroup_id")),
                    str(r.get("db_name") or ""),
                    str(r.get("status") or ""),
                    r.get("restored") in (True, 1, "true"),
                )
                for r in rows
            ),
            key=lambda v: (v.vgroup_id, v.dnode_id),
        )
    )
