"""A root session with one cluster: taosAdapter directly (`admin_url`) or through a port-forward to a ready
member pod, reopened on demand (`reconnect`), and the reads and tolerant writes every user of it shares.

The same path for the providers, `status` and `verify`, so each sees what `pulumi up` sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from components.tdengine import sql, wait
from components.tdengine.connection import Connection
from components.tdengine.errors import AdminUnreachable, ClusterError, TDengineError
from components.tdengine.kube_types import PodOps, WorkloadOps
from components.tdengine.layout import Layout, disk_use_kb
from components.tdengine.rest import AdminClient
from components.tdengine.rows import ClusterState, parse_state, parse_vgroups


class Session:
    """An AdminClient, through a port-forward to a ready member pod unless `admin_url` is set.
    `reconnect()` replaces a forward that died."""

    def __init__(self, conn: Connection, kube: PodOps | None, members: list[str]) -> None:
        self.conn = conn
        self.kube = kube
        self.members = members
        self._stack = ExitStack()
        self.admin = self._open()

    def _open(self) -> AdminClient:
        if self.conn.admin_url:
            return AdminClient(self.conn.admin_url, self.conn.password, timeout=self.conn.statement_timeout)
        if self.kube is None:
            raise ClusterError("no adminUrl is set and no Kubernetes access is configured to port-forward")
        naming = self.conn.naming
        ready = {
            p.name for p in self.kube.list_pods(naming.namespace, naming.statefulset) if p.ready and not p.deleting
        }
        pod = next((p for p in sorted(self.members, key=naming.ordinal) if p in ready), None)
        if pod is None:
            raise AdminUnreachable(
                f"no ready pod among {', '.join(self.members)} in namespace {naming.namespace} to port-forward to"
            )
        url = self._stack.enter_context(self.kube.port_forward(naming.namespace, pod, self.conn.rest_port))
        return AdminClient(url, self.conn.password, timeout=self.conn.statement_timeout)

    def client(self, password: str) -> AdminClient:
        """Another login through the same connection (the root password checks)."""
        return AdminClient(self.admin.url, password, timeout=self.conn.statement_timeout)

    def reconnect(self) -> None:
        if not self.conn.admin_url:
            self._stack.close()
            self._stack = ExitStack()
            self.admin = self._open()

    def close(self) -> None:
        self._stack.close()


@contextmanager
def session(conn: Connection, kube: PodOps | None, members: list[str]) -> Iterator[Session]:
    s = Session(conn, kube, members)
    try:
        yield s
    finally:
        s.close()


def read_state(admin: AdminClient) -> ClusterState:
    """dnodes, mnodes, databases and transactions: one request each."""
    return parse_state(
        admin.query(sql.DNODES), admin.query(sql.MNODES), admin.query(sql.DATABASES), admin.query(sql.TRANSACTIONS)
    )


def read_layout(admin: AdminClient, state: ClusterState) -> Layout:
    """Every vgroup's members (one request) and their disk use (one request per database that has vgroups).
    Without `ins_disk_usage` (TDengine before 3.3.5: 'Table does not exist') the sizes are unknown."""
    vgroups = parse_vgroups(admin.query(sql.VGROUPS))
    replica = {d.name: d.replica for d in state.databases if d.replica is not None}
    sizes: dict[int, int] = {}
    for database in sorted({v.db for v in vgroups}):
        try:
            sizes.update(disk_use_kb(admin.query(sql.disk_usage(database))))
        except TDengineError as err:
            if err.code != sql.TABLE_NOT_EXIST:
                raise
            return Layout(vgroups, replica, {}, sizes_known=False)
    return Layout(vgroups, replica, sizes)


def read_cluster(s: Session, what: str, deadline: wait.Deadline) -> ClusterState:
    """The cluster's state, riding out an unreachable adapter (and reopening the forward) until the deadline."""
    return wait.until(what, lambda _elapsed: read_state(s.admin), deadline=deadline, poll=0.0, reconnect=s.reconnect)


def execute_tolerating(admin: AdminClient, statement: str, ok_codes: set[int] | frozenset[int]) -> None:
    """Run a change whose "already done" answers (`ok_codes`) are success: a re-run may find it done."""
    try:
        admin.execute(statement)
    except TDengineError as err:
        if err.code not in ok_codes:
            raise


def default_kube(kubeconfig: str | None, context: str | None) -> PodOps:
    """The official client, from a kubeconfig (path or content) and context, else the ambient configuration.
    The one factory; the `kubernetes` package is imported only here, when it is used."""
    from components.tdengine.kube import KubernetesApi

    return KubernetesApi(kubeconfig or None, context or None)


def default_workload(kubeconfig: str | None, context: str | None) -> WorkloadOps:
    """`default_kube` with what a day-2 change needs besides (the StatefulSet, PVC sizes, StorageClasses)."""
    from components.tdengine.kube_workload import KubernetesWorkload

    return KubernetesWorkload(kubeconfig or None, context or None)
