"""`SimCluster`: the public face of the simulator — one TDengine cluster, its REST front and fake kube.

Tests of the provider drive it through `sim.url` (REST) and `sim.kube` (KubeOps), then assert on
snapshots (`dnodes()`, `mnodes()`, `vgroups()`), on `violations` and on the request log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from tests.sim import ops, tables
from tests.sim.clock import Scheduler
from tests.sim.faults import Faults
from tests.sim.kube import FakeKube
from tests.sim.model import Cluster, Database, MoveRecord, SimConfig, Vgroup
from tests.sim.rest import RequestRecord, RestFront, RestServer

_READ_ONLY = ("show", "select", "describe", "desc")


@dataclass(frozen=True)
class Snapshot:
    """Everything a wait predicate may look at, taken under one lock."""

    dnodes: list[dict[str, Any]]
    mnodes: list[dict[str, Any]]
    vgroups: list[dict[str, Any]]
    transactions: list[dict[str, Any]]
    pods: list[Any]
    pvcs: list[Any]

    def dnode(self, endpoint: str) -> dict[str, Any] | None:
        """The ins_dnodes row of an endpoint (case-insensitive), or None."""
        return next((d for d in self.dnodes if d["endpoint"].lower() == endpoint.lower()), None)


class SimCluster:
    def __init__(
        self,
        namespace: str = "tdengine-test",
        statefulset: str = "tdengine",
        service: str = "taosd",
        cluster_domain: str = "cluster.local",
        server_port: int = 6030,
        root_password: str = "taosdata",
        support_vnodes: int = 9,
        migration_seconds: float = 0.05,
        pod_start_seconds: float = 0.02,
        heartbeat_seconds: float = 0.02,
        offline_after_seconds: float = 0.05,
        auto_join: bool = True,
        templates: tuple[str, ...] = ("taosdata",),
        seed: int = 0,
        mnode_create_seconds: float | None = None,
        mnode_settle_seconds: float | None = None,
        db_create_seconds: float | None = None,
        election_seconds: float | None = None,
        catchup_seconds: float | None = None,
        copy_kb_per_second: float = 0.0,
        enterprise: bool = False,
    ) -> None:
        hb2 = 2 * heartbeat_seconds
        self.config = SimConfig(
            namespace, statefulset, service, cluster_domain, server_port, root_password, support_vnodes,
            migration_seconds, pod_start_seconds, heartbeat_seconds, offline_after_seconds, auto_join,
            tuple(templates), seed,
            hb2 if mnode_create_seconds is None else mnode_create_seconds,
            hb2 if mnode_settle_seconds is None else mnode_settle_seconds,
            hb2 if db_create_seconds is None else db_create_seconds,
            hb2 if election_seconds is None else election_seconds,
            hb2 if catchup_seconds is None else catchup_seconds,
            copy_kb_per_second, enterprise,
        )  # fmt: skip
        self.faults = Faults()
        self.cluster = Cluster(self.config, self.faults)
        self._scheduler = Scheduler()
        self._front = RestFront(self.cluster, self.faults)
        self._server = RestServer(self._front)
        self.faults.set_unreachable_hook(self._server.set_unreachable)
        self.kube = FakeKube(self.cluster, self._scheduler, "")
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> SimCluster:
        if not self._started:
            self._scheduler.start()
            self._server.start()
            self.kube.url = self._server.url
            self._started = True
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        with self.cluster.lock:
            self.cluster.closed = True
            for t in self.cluster.trans.values():
                t.done.set()
        self._scheduler.stop()
        self._server.stop()

    def __enter__(self) -> SimCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """taosAdapter base URL; POST {url}/rest/sql."""
        return self._server.url

    # -- setup helpers ---------------------------------------------------------------------------------
    def endpoint(self, ordinal: int) -> str:
        return self.config.endpoint(ordinal)

    def bootstrap(self, replicas: int, timeout: float = 10.0) -> None:
        """Start `replicas` pods in parallel on a fresh cluster and wait until pods and dnodes are ready."""
        if self.cluster.max_dnode_id or self.kube.replicas:
            raise RuntimeError("bootstrap() needs a fresh cluster")
        self.kube.scale(replicas)
        eps = {self.endpoint(o).lower() for o in range(replicas)}
        self.wait_until(
            lambda s: (
                sum(p.ready for p in s.pods) == replicas
                and {d["endpoint"].lower() for d in s.dnodes if d["status"] == "ready"} >= eps
            ),
            timeout=timeout,
        )

    def bootstrap_in_order(self, order: list[int], timeout: float = 10.0) -> None:
        """Start pods 0..len(order) on a fresh cluster without the image's auto-join, then `create dnode` for
        the other pods in the given order of ordinals: dnode ids 2, 3, ... follow it (placement depends on id
        order, so a test can lay a cluster out as a recorded one was)."""
        if self.config.auto_join or self.cluster.max_dnode_id or self.kube.replicas:
            raise RuntimeError("bootstrap_in_order() needs a fresh cluster with auto_join=False")
        self.kube.scale(len(order) + 1)
        first = self.endpoint(0)
        self.wait_until(lambda s: (s.dnode(first) or {}).get("status") == "ready" and all(p.ready for p in s.pods))
        for ordinal in order:
            ops.create_dnode(self.cluster, self.endpoint(ordinal))
        eps = [self.endpoint(o) for o in range(len(order) + 1)]
        self.wait_until(lambda s: all((s.dnode(e) or {}).get("status") == "ready" for e in eps), timeout=timeout)

    def place_database(self, name: str, replica: int, members: list[list[int]]) -> None:
        """A database laid out by hand (each vgroup's dnode ids), as an earlier shape of the cluster could have
        left it; through the model, not logged as a request."""
        with self.cluster.lock:
            c = self.cluster
            ids = []
            for m in members:
                vg = Vgroup(c.next_vgroup_id, name, replica, list(m), leader=m[0], fresh=False)
                c.vgroups[vg.id] = vg
                ids.append(vg.id)
                c.next_vgroup_id += 1
            c.dbs[name] = Database(name, replica, ids, time.time())

    def create_database(self, name: str, replica: int = 1, vgroups: int = 2) -> None:
        """CREATE DATABASE through the model (not logged as a REST request); raises SqlError."""
        ops.create_database(self.cluster, name, replica, vgroups)

    def set_size(self, database: str, kb: int) -> None:
        """Every vnode of the database uses `kb` of disk (`ins_disk_usage`; what a move of one copies)."""
        with self.cluster.lock:
            for vg in self.cluster.vgroups.values():
                if vg.db == database:
                    vg.size_kb = kb

    def set_root_password(self, password: str) -> None:
        """ALTER USER root PASS through the model (an operator in a taos shell; not logged as a REST
        request); raises SqlError as the statement would."""
        ops.alter_password(self.cluster, "root", password)

    def dnode_id(self, ordinal: int) -> int | None:
        """The id of the dnode whose endpoint is pod `ordinal`'s, if it is in the cluster."""
        with self.cluster.lock:
            d = self.cluster.dnode_by_endpoint(self.endpoint(ordinal))
            return d.id if d else None

    # -- observation -----------------------------------------------------------------------------------
    def dnodes(self) -> list[dict[str, Any]]:
        names = [c[0] for c in tables.DNODE_COLS]
        return [dict(zip(names, r, strict=True)) for r in tables.dnode_rows(self.cluster)]

    def mnodes(self) -> list[dict[str, Any]]:
        return [{"id": r[0], "endpoint": r[1], "role": r[2], "status": r[3]} for r in tables.mnode_rows(self.cluster)]

    def vgroups(self) -> list[dict[str, Any]]:
        with self.cluster.lock:
            return [
                {
                    "id": vg.id,
                    "db": vg.db,
                    "replica": vg.replica,
                    "members": list(vg.members),
                    "moving_to": vg.learner,
                    "leader": vg.leader,
                    "tables": len(vg.table_times),
                    "size_kb": vg.size_kb,
                }
                for _, vg in sorted(self.cluster.vgroups.items())
            ]

    def moves(self) -> list[MoveRecord]:
        """Every vnode move that completed, in order (drops and redistributes)."""
        with self.cluster.lock:
            return list(self.cluster.moves)

    def transactions(self) -> list[dict[str, Any]]:
        names = [c[0] for c in tables.TRANS_COLS]
        return [dict(zip(names, r, strict=True)) for r in tables.trans_rows(self.cluster)]

    def snapshot(self) -> Snapshot:
        with self.cluster.lock:
            return Snapshot(
                self.dnodes(), self.mnodes(), self.vgroups(), self.transactions(), self.kube.pods(), self.kube.pvcs()
            )

    def wait_until(self, predicate: Callable[[Snapshot], bool], timeout: float = 5.0) -> Snapshot:
        """Poll snapshots until `predicate` holds; TimeoutError names the last snapshot otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            snap = self.snapshot()
            if predicate(snap):
                return snap
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s; last snapshot: {snap}")
            time.sleep(0.003)

    @property
    def violations(self) -> list[str]:
        with self.cluster.lock:
            return list(self.cluster.violations)

    @property
    def password(self) -> str:
        with self.cluster.lock:
            return self.cluster.password

    @property
    def requests(self) -> list[RequestRecord]:
        return self._front.records()

    def statements(self) -> list[str]:
        return [r.sql for r in self.requests]

    def mutations(self) -> list[str]:
        return [s for s in self.statements() if s.strip().split(None, 1)[:1] and not _read_only(s)]


def _read_only(sql: str) -> bool:
    return sql.strip().split(None, 1)[0].lower() in _READ_ONLY
