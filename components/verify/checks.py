"""Pure decisions of `verify`: the cluster's health, the test database's vgroups, the row count, and
whether a failover test may run at all.

Inputs are the typed rows of `tdengine.rows` (`ClusterState`, `Vgroup`); no I/O. Every problem
and refusal is one sentence naming the node, what was seen and what was expected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from components.tdengine.naming import Naming
from components.tdengine.rows import ClusterState, Dnode, Mnode, Vgroup

VERIFY_DB = "pulumi_verify"
"""The check's own database. Not the seed's `test`: taosBenchmark drops its database first, and a seed
reader's cluster may hold a `test` of their own."""
STABLE = "meters"
"""taosBenchmark's super table; its child tables are d0..d{tables-1}."""


def spread_problems(vgroups: tuple[Vgroup, ...], replica: int, db: str = VERIFY_DB) -> list[str]:
    """Each vgroup has exactly one leader and `replica` replicas, on distinct dnodes, all up."""
    if not vgroups:
        return [f"database {db} has no vgroups"]
    problems = []
    for vg in vgroups:
        leaders = [m for m in vg.members if m.is_leader]
        if not leaders:
            problems.append(f"vgroup {vg.id} of {db} has no leader ({vg.describe()})")
        elif len(leaders) > 1:
            problems.append(f"vgroup {vg.id} of {db} has {len(leaders)} leaders ({vg.describe()})")
        ids = [m.dnode_id for m in vg.voters]
        if len(ids) != replica:
            problems.append(f"vgroup {vg.id} of {db} has {len(ids)} replicas, expected {replica} ({vg.describe()})")
        for dnode_id, n in sorted(Counter(ids).items()):
            if n > 1:
                problems.append(f"vgroup {vg.id} of {db} has {n} replicas on dnode {dnode_id}; they must be distinct")
        problems += [
            f"vgroup {vg.id} of {db}: the replica on dnode {m.dnode_id} is {m.status or 'unknown'}"
            for m in vg.voters
            if not m.is_up
        ]
    return problems


def vnodes_per_dnode(vgroups: Iterable[Vgroup]) -> dict[int, int]:
    counts: Counter[int] = Counter(m.dnode_id for vg in vgroups for m in vg.voters)
    return dict(sorted(counts.items()))


def row_count_problem(counted: int, expected: int, table: str) -> str | None:
    if counted == expected:
        return None
    return f"select count(*) from {table} = {counted}, expected {expected} (tables x rows written by taosBenchmark)"


def cluster_problems(state: ClusterState, naming: Naming) -> list[str]:
    """Every dnode ready; min(3, dnodes) mnodes, one of them leader and the rest followers."""
    problems = [
        f"dnode {d.id} ({naming.pod_of(d) or d.endpoint}) is {d.status}" + (f" ({d.note})" if d.note else "")
        for d in state.dnodes
        if not d.is_ready
    ]
    wanted = min(3, len(state.dnodes))
    if len(state.mnodes) < wanted:
        problems.append(f"{len(state.mnodes)} mnodes, expected {wanted} (pulumi up keeps them)")
    if state.leader is None:
        problems.append("no mnode is leader: " + ", ".join(f"mnode {m.id} {m.role}" for m in state.mnodes))
    problems += [
        f"mnode {m.id} ({naming.pod_of(m) or m.endpoint}) is {m.role}" for m in state.mnodes if not m.is_settled
    ]
    return problems


@dataclass(frozen=True)
class Refusal:
    """Why `--failover` will not delete a pod on this cluster, and what would make it safe."""

    reason: str
    fix: str

    def __str__(self) -> str:
        return f"failover refused: {self.reason}. Nothing was changed. Fix: {self.fix}"


@dataclass(frozen=True)
class FailoverTarget:
    """The pod to delete: the one whose dnode hosts the mnode leader."""

    pod: str
    dnode: Dnode
    mnode: Mnode


def plan_failover(
    state: ClusterState, naming: Naming, vgroups: tuple[Vgroup, ...], test_replica: int
) -> FailoverTarget | Refusal:
    """Refuse unless losing the mnode leader's dnode for a while keeps every mnode and database available:
    3+ dnodes, all ready, no transaction running, 3 mnodes with a leader, and no replica-1 database with a
    vnode on that dnode."""
    if test_replica != 3:
        return Refusal(
            f"the failover test writes into {VERIFY_DB} while a dnode is down, which needs replica 3, "
            f"not {test_replica}",
            "run it with --replica 3 (the default)",
        )
    if len(state.dnodes) < 3:
        return Refusal(
            f"the cluster has {len(state.dnodes)} dnode(s); without a third, losing one leaves no majority for "
            "the mnodes and replica-3 vgroups",
            "scale to 3 or more dnodes (replicas: 3), then run the failover test",
        )
    if len(state.mnodes) < 3:
        return Refusal(
            f"the cluster has {len(state.mnodes)} mnode(s); losing the leader's dnode leaves no mnode majority",
            "run `pulumi up`: ClusterMembership keeps 3 mnodes on a cluster of 3 or more dnodes",
        )
    down = [d for d in state.dnodes if not d.is_ready]
    if down:
        shown = ", ".join(f"dnode {d.id} ({naming.pod_of(d) or d.endpoint}) is {d.status}" for d in down)
        return Refusal(
            f"the cluster is already degraded: {shown}; deleting another pod could stop it",
            "wait until every dnode is ready (`show dnodes`), then run the failover test",
        )
    if state.transactions:
        running = ", ".join(f"{t.id} {t.oper} ({t.stage})" for t in state.transactions)
        return Refusal(
            f"transaction(s) {running} are running; a leader change in the middle would only slow them down",
            "wait until `show transactions` is empty, then retry",
        )
    leader = state.leader
    if leader is None:
        return Refusal("no mnode is leader right now", "wait until `show mnodes` shows a leader, then retry")
    pod = naming.pod_of(leader)
    dnode = next((d for d in state.dnodes if d.id == leader.id or d.fqdn == leader.fqdn), None)
    if pod is None or dnode is None:
        return Refusal(
            f"the mnode leader ({leader.endpoint}) is not a pod of StatefulSet {naming.statefulset} in namespace "
            f"{naming.namespace}",
            "check the stack's namespace/clusterName/serviceName settings against the cluster",
        )
    replica = {db.name: db.replica for db in state.databases}
    exposed = sorted(
        {
            vg.db
            for vg in vgroups
            if vg.db != VERIFY_DB and replica.get(vg.db) == 1 and any(m.dnode_id == dnode.id for m in vg.members)
        }
    )
    if exposed:
        return Refusal(
            f"replica-1 database(s) {', '.join(exposed)} have vnodes on dnode {dnode.id} ({pod}), the mnode leader's "
            "dnode; they would be unavailable while its pod restarts",
            f"make them replica 3 (`alter database {exposed[0]} replica 3` on 3+ dnodes) or drop them, then retry",
        )
    return FailoverTarget(pod, dnode, leader)
