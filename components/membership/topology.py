"""Typed rows of ins_dnodes / ins_mnodes / ins_databases / perf_trans, and pod <-> endpoint mapping.

Pure: parses the dict rows `AdminClient.query` returns. Pods are matched to dnodes by the endpoint's
FQDN, case-insensitively, never by id (ids are never reused and do not follow ordinals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.membership.kube_types import pod_ordinal

DNODES_SQL = "show dnodes"
MNODES_SQL = "show mnodes"
DATABASES_SQL = "select name, `replica` from information_schema.ins_databases"
TRANSACTIONS_SQL = "show transactions"


@dataclass(frozen=True)
class Dnode:
    id: int
    endpoint: str
    vnodes: int
    support_vnodes: int
    status: str
    note: str

    @property
    def fqdn(self) -> str:
        return self.endpoint.rsplit(":", 1)[0].lower()

    @property
    def is_ready(self) -> bool:
        return self.status == "ready"

    @property
    def is_dropping(self) -> bool:
        return self.status.startswith("dropping")

    @property
    def is_online(self) -> bool:
        """Heartbeating: `ready`, `creating` or `dropping` without the `*` of a down process."""
        return self.status in ("ready", "creating", "dropping")


@dataclass(frozen=True)
class Mnode:
    id: int
    endpoint: str
    role: str
    status: str

    @property
    def fqdn(self) -> str:
        return self.endpoint.rsplit(":", 1)[0].lower()


@dataclass(frozen=True)
class Database:
    name: str
    replica: int | None


@dataclass(frozen=True)
class Transaction:
    id: int
    stage: str
    oper: str
    failed_times: int
    last_action_info: str


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
        return next((m for m in self.mnodes if m.role == "leader"), None)

    @property
    def max_replica(self) -> Database | None:
        user_dbs = [d for d in self.databases if d.replica is not None]
        return max(user_dbs, key=lambda d: d.replica or 0, default=None)


@dataclass(frozen=True)
class Naming:
    """How the StatefulSet names pods and how TDengine names their dnodes."""

    statefulset: str
    service: str
    namespace: str
    cluster_domain: str
    server_port: int

    def pod(self, ordinal: int) -> str:
        return f"{self.statefulset}-{ordinal}"

    def fqdn(self, pod: str) -> str:
        return f"{pod}.{self.service}.{self.namespace}.svc.{self.cluster_domain}".lower()

    def endpoint(self, pod: str) -> str:
        return f"{self.fqdn(pod)}:{self.server_port}"

    def ordinal(self, pod: str) -> int:
        n = pod_ordinal(pod, self.statefulset)
        if n is None:
            raise ValueError(f"{pod!r} is not a pod of StatefulSet {self.statefulset!r}")
        return n

    def pod_of(self, dnode: Dnode | Mnode) -> str | None:
        """The pod whose FQDN the dnode's endpoint carries, or None for a dnode of something else."""
        suffix = f".{self.service}.{self.namespace}.svc.{self.cluster_domain}".lower()
        host = dnode.fqdn
        if not host.endswith(suffix):
            return None
        pod = host[: -len(suffix)]
        return pod if pod_ordinal(pod, self.statefulset) is not None else None


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


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
            )
            for r in transactions
        ),
    )
