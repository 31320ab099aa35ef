"""Cluster state: dnodes, mnodes, databases/vgroups, transactions, taosd processes and data dirs.

Liveness is computed lazily from timestamps (`refresh`) under one lock shared with the fake
Kubernetes side, so a dnode goes `ready`/`offline` exactly when the reference says it would, without
a ticking thread. Statements that change the cluster live in `ops.py` and `trans.py`.

Over 300 lines: the cluster's state and its liveness rules under one lock; splitting would split the lock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.sim.placement import Placer, Slot

if TYPE_CHECKING:
    from tests.sim.faults import Faults


@dataclass(frozen=True)
class SimConfig:
    """Every knob of the simulated cluster; times are in seconds of wall clock."""

    namespace: str = "tdengine-test"
    statefulset: str = "tdengine"
    service: str = "taosd"
    cluster_domain: str = "cluster.local"
    server_port: int = 6030
    root_password: str = "taosdata"
    support_vnodes: int = 9
    migration_seconds: float = 0.05
    pod_start_seconds: float = 0.02
    heartbeat_seconds: float = 0.02
    offline_after_seconds: float = 0.05
    auto_join: bool = True
    templates: tuple[str, ...] = ("taosdata",)
    seed: int = 0
    mnode_create_seconds: float = 0.04
    mnode_settle_seconds: float = 0.04
    db_create_seconds: float = 0.04
    election_seconds: float = 0.04
    catchup_seconds: float = 0.04
    """After a taosd (re)starts: how long its vnodes are `restored: false` once it reported, and a newly elected
    vgroup leader's (ins_vnodes; `show vgroups` says `leader` at once: `leader*` never appeared after a restart of
    the real 3.3.7.5, tdengine-admin.md §15)."""
    copy_kb_per_second: float = 0.0
    """How fast one transaction copies vnode data (KB/s); 0: copies take no time, a move only its fixed part
    (`migration_seconds`). The copies a `drop dnode` runs in parallel share it (see `moves.py`)."""
    enterprise: bool = False
    """`alter dnode <id> 'supportVnodes' '<n>'` works (the enterprise build); the community build answers 281."""

    def endpoint(self, ordinal: int) -> str:
        """`<sts>-<n>.<service>.<namespace>.svc.<domain>:<port>`, as TAOS_FQDN/serverPort make it."""
        fqdn = f"{self.statefulset}-{ordinal}.{self.service}.{self.namespace}.svc.{self.cluster_domain}"
        return f"{fqdn}:{self.server_port}"


@dataclass(eq=False)
class DataDir:
    """The taosd data directory on a PVC: the dnode it belongs to and whether that dnode was dropped."""

    dnode_id: int | None = None
    dropped: bool = False


@dataclass(eq=False)
class Taosd:
    """One taosd process of a pod; `crashloop` when it started on the data dir of a dropped dnode."""

    endpoint: str
    data: DataDir
    started_at: float
    crashloop: bool = False
    stopped_at: float | None = None

    @property
    def running(self) -> bool:
        return self.stopped_at is None


@dataclass(eq=False)
class Dnode:
    id: int
    endpoint: str
    create_time: float
    last_seen: float | None = None
    reboot_time: float | None = None
    proc: Taosd | None = None
    dropping: bool = False
    caught_up_at: float = 0.0
    """When the vnodes of its current process have caught up (`restored`)."""
    reboot_shown_at: float = 0.0
    """Until then `reboot_time` reads 0, its mnode `offline`/`ready` and its vnodes' applied index `-1/-1`: the
    status interval after a new process's first status (tdengine-admin.md §15)."""
    frozen: dict[int, tuple[str, int]] = field(default_factory=dict)
    """Vgroup id -> (status, applied index) its vnode last reported, kept while its taosd is dead: shown unchanged
    until the dnode is marked offline (the status, then `offline`) and after (the index)."""
    support_vnodes: int | None = None
    """Set by `alter dnode <id> 'supportVnodes'` (enterprise only); None: the configured `support_vnodes`."""


@dataclass(eq=False)
class Mnode:
    id: int
    create_time: float
    role_time: float | None = None
    creating_until: float = 0.0
    settle_until: float = 0.0
    dropping: bool = False


@dataclass(eq=False)
class Vgroup:
    id: int
    db: str
    replica: int
    members: list[int]
    leader: int
    learner: int | None = None
    table_times: list[float] = field(default_factory=list)
    applied: int = 0
    fresh: bool = True
    """Created by `create database`: its followers show `-1/-1` until their first report (a status interval)."""
    lost_at: float | None = None
    """When the leader stopped serving (its taosd died or its dnode went offline); None while it serves."""
    restored_at: float = 0.0
    """When its current leader has applied its log (until then its ins_vnodes row says `restored` false)."""
    size_kb: int = 0
    """Disk use of each of its vnodes, as `information_schema.ins_disk_usage` reports it (set by tests: writes
    do not grow it); a move copies this much."""

    def tables(self, now: float, delay: float) -> int:
        """Tables as ins_vgroups counts them: from vnode load reports, one status interval late."""
        return sum(1 for t in self.table_times if t + delay <= now)


@dataclass(eq=False)
class Database:
    name: str
    replica: int
    vgroup_ids: list[int]
    create_time: float
    tables: dict[str, Table] = field(default_factory=dict)
    """User tables (child and normal) by name; see `data.py`."""
    stables: set[str] = field(default_factory=set)


@dataclass(eq=False)
class Table:
    """A child or normal table: the vgroup holding it and the rows written to it."""

    name: str
    vgroup_id: int
    create_time: float
    stable: str | None = None
    rows: int = 0


@dataclass(frozen=True)
class MoveRecord:
    """One completed vnode move: vgroup, the member it replaced, the new member, what it copied."""

    vgroup: int
    db: str
    source: int
    target: int
    size_kb: int
    oper: str


@dataclass(eq=False)
class Trans:
    """A running mnode transaction as `show transactions` lists it."""

    id: int
    oper: str
    create_time: float
    last_exec_time: float
    last_action_info: str = "action:2 code:0x0(success) "
    stage: str = "redoAction"
    failed_times: int = 0
    db: str = ""
    """`show transactions`' db column: the database of a `red-vgroup`, '' for a drop-dnode."""
    done: threading.Event = field(default_factory=threading.Event)


class Cluster:
    """All simulated state behind one re-entrant lock (`lock`); `changed` is notified on every change."""

    def __init__(self, cfg: SimConfig, faults: Faults) -> None:
        self.cfg = cfg
        self.faults = faults
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.dnodes: dict[int, Dnode] = {}
        self.max_dnode_id = 0
        self.mnodes: dict[int, Mnode] = {}
        self.leader_id: int | None = None
        self.leader_lost_at: float | None = None
        self.dbs: dict[str, Database] = {}
        self.vgroups: dict[int, Vgroup] = {}
        self.next_vgroup_id = 2
        self.trans: dict[int, Trans] = {}
        self.next_trans_id = 1
        self.procs: dict[str, Taosd] = {}
        self.data_dirs: list[DataDir] = []
        self.password = cfg.root_password
        self.violations: list[str] = []
        self.moves: list[MoveRecord] = []
        """Every vnode copy that completed (a member replaced), in order: what a scale-in moved."""
        self.closed = False

    # -- processes and data dirs (driven by the fake Kubernetes) -------------------------------
    def new_data_dir(self) -> DataDir:
        with self.lock:
            d = DataDir()
            self.data_dirs.append(d)
            return d

    def start_taosd(self, endpoint: str, data: DataDir, first_ep: bool) -> Taosd:
        """Start a taosd; the firstEp on an empty cluster creates dnode 1 with the only mnode."""
        with self.lock:
            now = self.refresh()
            proc = Taosd(endpoint, data, now, crashloop=data.dropped)
            self.procs[endpoint.lower()] = proc
            if first_ep and self.max_dnode_id == 0 and not data.dropped:
                self.dnodes[1] = Dnode(1, endpoint, now)
                self.max_dnode_id = 1
                self.mnodes[1] = Mnode(1, now, role_time=now)
                self.leader_id = 1
                self.new_trans_id()
            self.changed.notify_all()
            return proc

    def stop_taosd(self, proc: Taosd) -> None:
        with self.lock:
            now = self.refresh()
            if proc.running:
                for d in self.dnodes.values():
                    if d.proc is proc:
                        d.frozen = {
                            vg.id: (self.member_status(vg, d.id, now), self.applied_of(vg, d.id, now))
                            for vg in self.vgroups.values()
                            if d.id in vg.members
                        }
                proc.stopped_at = time.time()
            self.changed.notify_all()

    # -- liveness ---------------------------------------------------------------------------------
    @staticmethod
    def accepts(proc: Taosd, d: Dnode) -> bool:
        """Whether this process's status messages are accepted as dnode `d`'s."""
        return not proc.data.dropped and proc.data.dnode_id in (None, d.id)

    def refresh(self) -> float:
        """Apply everything that time made true (first status, timeouts, elections); returns now."""
        now = time.time()
        hb = self.cfg.heartbeat_seconds
        for d in self.dnodes.values():
            p = self.procs.get(d.endpoint.lower())
            if p is None or not self.accepts(p, d):
                continue
            ready_at = max(d.create_time, p.started_at) + hb
            seen = now if p.stopped_at is None else p.stopped_at
            if seen < ready_at:
                continue
            if d.proc is not p:
                restarted = d.proc is not None  # a dnode's first process shows its start at once (tests/real)
                d.proc = p
                d.reboot_time = p.started_at
                d.reboot_shown_at = ready_at + hb if restarted else 0.0
                d.caught_up_at = ready_at + self.cfg.catchup_seconds
                d.frozen = {}
            p.data.dnode_id = d.id
            d.last_seen = max(d.last_seen or 0.0, seen)
        self._elect_mnode_leader(now)
        self._elect_vgroup_leaders(now)
        return now

    def is_online(self, d: Dnode, now: float) -> bool:
        return d.last_seen is not None and now - d.last_seen < self.cfg.offline_after_seconds

    def _elect_mnode_leader(self, now: float) -> None:
        lead = self.dnodes.get(self.leader_id) if self.leader_id is not None else None
        if lead is not None and self.is_online(lead, now):
            self.leader_lost_at = None
            return
        if self.leader_lost_at is None:
            self.leader_lost_at = now
        if now - self.leader_lost_at < self.cfg.election_seconds:
            return
        up = [m for _, m in sorted(self.mnodes.items()) if self.is_online(self.dnodes[m.id], now)]
        voters = [m for m in up if m.creating_until <= now]
        if voters and len(up) * 2 > len(self.mnodes):
            self.leader_id = voters[0].id
            voters[0].role_time = now
            self.leader_lost_at = None

    def serving(self, d: Dnode, now: float) -> bool:
        """Online and its taosd running: its vnodes can lead (a dead process stops at once, before the
        mnode notices the missing status messages)."""
        return self.is_online(d, now) and d.proc is not None and d.proc.running

    def _elect_vgroup_leaders(self, now: float) -> None:
        """A vgroup whose leader stopped serving has none for `election_seconds`, then the lowest
        serving member leads if a majority of members serves (raft)."""
        for vg in self.vgroups.values():
            leader = self.dnodes.get(vg.leader)
            if leader is not None and self.serving(leader, now) and vg.leader in vg.members:
                vg.lost_at = None
                continue
            if vg.lost_at is None:
                stopped = leader.proc.stopped_at if leader is not None and leader.proc is not None else None
                vg.lost_at = stopped if stopped is not None else now
            if now - vg.lost_at < self.cfg.election_seconds or self.faults.elections_held():
                continue
            up = [m for m in vg.members if m in self.dnodes and self.serving(self.dnodes[m], now)]
            if up and len(up) * 2 > len(vg.members):
                vg.leader = up[0]
                vg.lost_at = None
                vg.restored_at = now + self.cfg.catchup_seconds

    # -- derived views ----------------------------------------------------------------------------
    def vnodes_of(self, dnode_id: int) -> int:
        n = 0
        for vg in self.vgroups.values():
            n += vg.members.count(dnode_id) + (1 if vg.learner == dnode_id else 0)
        return n

    def dnode_status(self, d: Dnode, now: float) -> tuple[str, str]:
        """(status, note) as ins_dnodes shows them (mndRetrieveDnodes, §1 and §13)."""
        online = self.is_online(d, now)
        if d.dropping:
            return ("dropping" if online else "dropping*"), ("" if online else self._offline_note(d))
        return ("ready", "") if online else ("offline", self._offline_note(d))

    def _offline_note(self, d: Dnode) -> str:
        if d.last_seen is not None:
            return "status msg timeout"
        p = self.procs.get(d.endpoint.lower())
        if p is not None and p.running and not self.accepts(p, d):
            return "dnodeId not match"
        return "status not received"

    def mnode_role(self, m: Mnode, now: float) -> tuple[str, str]:
        """(role, status) as ins_mnodes shows them: offline dnode wins; fresh mnodes settle first."""
        d = self.dnodes[m.id]
        if not self.is_online(d, now):
            return "offline", "offline"
        if now < m.creating_until:
            return "learner", "creating"
        status = "dropping" if (m.dropping or d.dropping) else "ready"
        if now < m.settle_until or now < d.reboot_shown_at:
            return "offline", status
        return ("leader" if m.id == self.leader_id else "follower"), status

    def member_status(self, vg: Vgroup, dnode_id: int, now: float) -> str:
        d = self.dnodes.get(dnode_id)
        if d is None or d.dropping:
            return "dropping"
        if not self.is_online(d, now):
            return "offline"
        if dnode_id == vg.learner:
            return "learner"
        if vg.id in d.frozen and (d.proc is None or not d.proc.running):
            return d.frozen[vg.id][0]  # a dead taosd's last report: a stale `leader` beside the new one
        if dnode_id != vg.leader:
            electing = vg.lost_at is not None and now - vg.lost_at >= self.cfg.election_seconds
            return "candidate" if electing and self.serving(d, now) else "follower"
        return "leader"

    def applied_of(self, vg: Vgroup, dnode_id: int, now: float) -> int:
        """A member's applied index as `vN_applied/committed` shows it: -1 while new or rejoining, the last one
        reported while its taosd is dead, else the vgroup's."""
        d = self.dnodes.get(dnode_id)
        if (
            dnode_id == vg.learner
            or (vg.fresh and dnode_id != vg.leader and now < self._created(vg) + self.cfg.heartbeat_seconds)
            or (d is not None and now < d.reboot_shown_at)
        ):
            return -1
        if d is not None and vg.id in d.frozen:
            return d.frozen[vg.id][1]
        return vg.applied

    def _created(self, vg: Vgroup) -> float:
        db = self.dbs.get(vg.db)
        return db.create_time + self.cfg.db_create_seconds if db is not None else 0.0

    def alive(self, now: float) -> int:
        """`show cluster alive`: 0 without a serving mnode leader, 1 when every dnode is online and every vgroup has
        a serving leader, else 2 (as the real 3.3.7.5 answered around a restart, tdengine-admin.md §15)."""
        lead = self.dnodes.get(self.leader_id) if self.leader_id is not None else None
        if lead is None or not self.is_online(lead, now):
            return 0
        led = all(
            vg.leader in vg.members and vg.leader in self.dnodes and self.serving(self.dnodes[vg.leader], now)
            for vg in self.vgroups.values()
        )
        return 1 if led and all(self.is_online(d, now) for d in self.dnodes.values()) else 2

    def vnode_restored(self, vg: Vgroup, dnode_id: int, now: float) -> bool:
        """A vnode has caught up once its process has (`caught_up_at`) and, as leader, applied its log."""
        d = self.dnodes.get(dnode_id)
        if d is None or now < d.caught_up_at:
            return False
        return dnode_id != vg.leader or now >= vg.restored_at

    def support_of(self, d: Dnode) -> int:
        """`support_vnodes` as ins_dnodes shows it: 0 until the dnode's first status."""
        if d.last_seen is None:
            return 0
        return self.cfg.support_vnodes if d.support_vnodes is None else d.support_vnodes

    def placer(self, now: float, except_id: int | None = None) -> Placer:
        """One statement's dnode array (`mndBuildDnodesArray`): online dnodes with room configured."""
        slots = [
            Slot(d.id, self.vnodes_of(d.id), self.support_of(d), d.id in self.mnodes)
            for d in self.dnodes.values()
            if d.id != except_id and not d.dropping and self.is_online(d, now) and self.support_of(d) > 0
        ]
        return Placer(slots)

    def global_trans_running(self) -> bool:
        return any(not t.done.is_set() for t in self.trans.values())

    def new_trans_id(self) -> int:
        tid = self.next_trans_id
        self.next_trans_id += 1
        return tid

    def dnode_by_endpoint(self, endpoint: str) -> Dnode | None:
        for d in self.dnodes.values():
            if d.endpoint.lower() == endpoint.lower():
                return d
        return None

    def violation(self, message: str) -> None:
        with self.lock:
            self.violations.append(message)
