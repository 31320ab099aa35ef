"""Pure decisions of the membership provider: preflight refusals, the next step for a departing dnode,
mnode placement, and which PVCs may be reclaimed. No I/O, no Pulumi: tests call these with plain data.

The provider loops read -> decide -> act -> re-read, so every decision is taken on fresh state and a
re-run after an interruption picks up where the cluster is, not where a previous run thought it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from components.tdengine.errors import Refused
from components.tdengine.kube_types import PodInfo, PvcInfo
from components.tdengine.naming import Naming
from components.tdengine.rows import DROP_DNODE_TRANS, REDISTRIBUTE_TRANS, ClusterState, Dnode

MNODE_TARGET = 3


@dataclass(frozen=True)
class DrainOptions:
    """The operator's acknowledgements the decisions depend on (from the resource inputs, `props.py`, which
    holds their defaults)."""

    force: bool
    """Drop an offline departing dnode with `drop dnode <id> force` (its replicas are rebuilt elsewhere)."""
    allow_fewer_than_three: bool
    """Acknowledge a cluster of fewer than 3 dnodes, hence fewer than 3 mnodes (no quorum to spare)."""


class StepKind(StrEnum):
    DONE = "done"
    WAIT = "wait"
    DROP_MNODE = "drop_mnode"
    CREATE_MNODE = "create_mnode"
    DROP_DNODE = "drop_dnode"
    CREATE_DNODE = "create_dnode"
    REDISTRIBUTE = "redistribute"


@dataclass(frozen=True)
class Step:
    """One action (or wait) decided for the cluster; `kind` names it, the rest says on what."""

    kind: StepKind
    dnode_id: int = 0
    endpoint: str = ""
    force: bool = False
    reason: str = ""
    vgroup: int = 0
    """REDISTRIBUTE: the vgroup, and its complete new member list."""
    members: tuple[int, ...] = ()


def departing_pods(state: ClusterState, naming: Naming, old_members: list[str], new_members: list[str]) -> list[str]:
    """Pods to remove, highest ordinal first: those dropped from the member list, plus any pod beyond the
    new size whose dnode is still in the cluster (left over from an interrupted run)."""
    keep = set(new_members)
    leaving = {p for p in old_members if p not in keep}
    size = len(new_members)
    for d in state.dnodes:
        pod = naming.pod_of(d)
        if pod is not None and pod not in keep and naming.ordinal(pod) >= size:
            leaving.add(pod)
    return sorted(leaving, key=naming.ordinal, reverse=True)


def preflight_size(target: int, options: DrainOptions, action: str = "scale-down") -> None:
    """Fewer than 3 dnodes means fewer than 3 mnodes, so one more loss stops the cluster: in every
    direction (create, scale-up, scale-down, no change) only with the acknowledgement."""
    if target < MNODE_TARGET and not options.allow_fewer_than_three:
        raise Refused(
            f"the target of {target} dnodes leaves fewer than 3 mnodes, so losing one more dnode stops the cluster",
            "keep replicas >= 3, or set allowFewerThanThreeDnodes: true to acknowledge it",
            action,
        )


def preflight_scale_down(
    state: ClusterState,
    naming: Naming,
    departing: list[str],
    remaining: list[str],
    options: DrainOptions,
    moving_ours: bool = False,
) -> None:
    """Refuse, before anything changes, a scale-down that TDengine would stop half-way or that would
    lose data or quorum. Raises Refused naming the reason and the fix. Whether the vnodes fit, vgroup
    by vgroup, is the placement plan's (`scale_plan.py`); `moving_ours`: a `redistribute vgroup` running now
    moves a vnode off a departing dnode (an interrupted scale-in's)."""
    if not departing:
        return
    target = len(remaining)
    db = state.max_replica
    if db is not None and db.replica is not None and target < db.replica:
        raise Refused(
            f"database {db.name!r} has replica {db.replica}, which needs at least {db.replica} dnodes, "
            f"but the target is {target} (TDengine would stop with 'Out of dnodes' mid-way)",
            f"keep replicas >= {db.replica}, or drop or re-create database {db.name!r} with a lower replica",
            "scale-down",
        )
    preflight_size(target, options)
    departing_fqdns = {naming.fqdn(p) for p in departing}
    kept_pods = {naming.fqdn(p): p for p in remaining}
    for dnode in state.dnodes:
        if dnode.is_dropping and dnode.fqdn in kept_pods:
            pod = kept_pods[dnode.fqdn]
            raise Refused(
                f"dnode {dnode.id} of {pod}, which the new replicas keep, is being dropped by someone else or by "
                "an earlier scale-down, and TDengine cannot cancel a drop",
                f"set replicas to {naming.ordinal(pod)} or fewer and run `pulumi up` to let the drop finish, then "
                f"scale up again ({pod} then joins as a new dnode on a new volume)",
                "scale-down",
            )
        if dnode.is_dropping and dnode.fqdn not in departing_fqdns:
            raise Refused(
                f"dnode {dnode.id} ({dnode.endpoint}) is being dropped by someone else",
                "wait until it is gone from 'show dnodes', then re-run",
                "scale-down",
            )
    for pod in remaining:
        found = state.dnode_of(naming.fqdn(pod))
        if found is None or not found.is_ready:
            status = "missing from the cluster" if found is None else f"{found.status} ({found.note or 'no note'})"
            raise Refused(
                f"dnode of remaining pod {pod} is {status}; vnodes must move to healthy dnodes only",
                f"bring {pod} back to ready (kubectl -n {naming.namespace} get pod {pod}; show dnodes) and re-run",
                "scale-down",
            )
    ours = {d.id for d in state.dnodes if d.fqdn in departing_fqdns and d.is_dropping}
    foreign = [
        t
        for t in state.transactions
        if not (t.oper == DROP_DNODE_TRANS and ours) and not (t.oper == REDISTRIBUTE_TRANS and moving_ours)
    ]
    if foreign:
        t = foreign[0]
        raise Refused(
            f"transaction {t.id} ({t.oper}, stage {t.stage}) is running and is not a drain of ours",
            "wait for it to finish ('show transactions'), then re-run",
            "scale-down",
        )
    for pod in departing:
        found = state.dnode_of(naming.fqdn(pod))
        if found is not None and not found.is_online and not found.is_dropping and not options.force:
            raise offline_refusal(found, pod)
    _refuse_offline_mnode_after_two_left(state, naming, departing, target)
    leader = state.leader
    for pod in departing:
        found = state.dnode_of(naming.fqdn(pod))
        if found is not None and leader is not None and state.mnode_on(found) == leader:
            raise leader_refusal(found, pod, naming)


def _refuse_offline_mnode_after_two_left(
    state: ClusterState, naming: Naming, departing: list[str], target: int
) -> None:
    """TDengine force-drops an offline dnode that hosts an mnode only while 3 mnodes exist ('Only two
    mnodes exist'). Walk the drain order: each departing mnode goes, and one is re-created only while
    the target keeps min(3, target); refuse if an offline one would be reached with fewer than 3 left."""
    mnodes = len(state.mnodes)
    for pod in departing:
        dnode = state.dnode_of(naming.fqdn(pod))
        if dnode is None or dnode.is_dropping or state.mnode_on(dnode) is None:
            continue
        if not dnode.is_online and mnodes < MNODE_TARGET:
            raise Refused(
                f"departing dnode {dnode.id} of {pod} is offline and hosts an mnode; TDengine force-drops it only "
                f"while 3 mnodes exist, and the drain would leave {mnodes} by then ('Only two mnodes exist')",
                f"bring {pod} back online and re-run",
                "scale-down",
            )
        mnodes = max(mnodes - 1, min(MNODE_TARGET, target))


def offline_refusal(dnode: Dnode, pod: str) -> Refused:
    return Refused(
        f"departing dnode {dnode.id} of {pod} is {dnode.status} ({dnode.note or 'no note'}); "
        "its vnodes cannot be copied from it",
        f"bring {pod} back online and re-run, or set forceDropOffline: true to rebuild its replicas from "
        "the other dnodes (data of replica-1 databases on it would be lost, and TDengine refuses that)",
        "scale-down",
    )


def leader_refusal(dnode: Dnode, pod: str, naming: Naming) -> Refused:
    return Refused(
        f"departing dnode {dnode.id} of {pod} hosts the mnode leader, and TDengine cannot drop the leader",
        f"restart that pod (kubectl -n {naming.namespace} delete pod {pod}) so another mnode takes over, then re-run",
        "scale-down",
    )


def next_step(state: ClusterState, naming: Naming, pod: str, remaining: list[str], options: DrainOptions) -> Step:
    """What to do next for one departing pod.

    dnode row   | status             | mnode on it        | step
    ------------|--------------------|--------------------|-------------------------------------------
    absent      | -                  | -                  | done
    present     | dropping/dropping* | -                  | wait (a drain in progress, ours: resume)
    present     | creating           | -                  | wait
    present     | online             | leader             | refuse (cannot drop the leader)
    present     | online             | follower/other     | drop_mnode (then re-placed, before the drain)
    present     | online             | none; mnodes short | create_mnode on the lowest remaining ordinal
    present     | online             | none; red-vgroup   | wait (a redistribute, ours: resume)
    present     | online             | none               | drop_dnode (the plan may move vnodes first)
    present     | offline            | any, no force      | refuse (vnodes cannot be copied from it)
    present     | offline            | any, force         | drop_dnode force (TDengine drops its mnode)
    """
    dnode = state.dnode_of(naming.fqdn(pod))
    if dnode is None:
        return Step(StepKind.DONE, reason=f"{pod} is not in the cluster")
    if dnode.is_dropping:
        return Step(StepKind.WAIT, dnode.id, dnode.endpoint, reason=f"dnode {dnode.id} of {pod} is {dnode.status}")
    if dnode.is_creating:
        return Step(StepKind.WAIT, dnode.id, dnode.endpoint, reason=f"dnode {dnode.id} of {pod} is being created")
    if not dnode.is_online:
        if not options.force:
            raise offline_refusal(dnode, pod)
        return Step(StepKind.DROP_DNODE, dnode.id, dnode.endpoint, force=True, reason=f"{pod} is offline; force")
    mnode = state.mnode_on(dnode)
    if mnode is not None:
        if mnode.is_leader:
            raise leader_refusal(dnode, pod, naming)
        reason = f"move the mnode off {pod} before draining it"
        return Step(StepKind.DROP_MNODE, dnode.id, dnode.endpoint, reason=reason)
    candidate = mnode_to_add(state, naming, remaining)
    if candidate is not None:
        return Step(StepKind.CREATE_MNODE, candidate.id, candidate.endpoint, reason="keep 3 mnodes while draining")
    moving = next((t for t in state.transactions if t.oper == REDISTRIBUTE_TRANS), None)
    if moving is not None:
        reason = f"redistribute vgroup of {moving.db or 'a database'} running (transaction {moving.id})"
        return Step(StepKind.WAIT, dnode.id, dnode.endpoint, reason=reason)
    return Step(StepKind.DROP_DNODE, dnode.id, dnode.endpoint, reason=f"drain {pod}")


def mnode_to_add(state: ClusterState, naming: Naming, members: list[str]) -> Dnode | None:
    """Where the next mnode goes while there are fewer than min(3, members): the ready member dnode
    without an mnode on the lowest ordinal (None when enough, or no such dnode)."""
    if len(state.mnodes) >= min(MNODE_TARGET, len(members)):
        return None
    for pod in sorted(members, key=naming.ordinal):
        dnode = state.dnode_of(naming.fqdn(pod))
        if dnode is not None and dnode.is_ready and state.mnode_on(dnode) is None:
            return dnode
    return None


def plan_membership(state: ClusterState, naming: Naming, members: list[str]) -> list[Step]:
    """Converge a grown or new cluster: a dnode for every member pod, then min(3, members) mnodes on the
    lowest ordinals. Returns the next steps (empty when converged); mnode steps wait for ready dnodes."""
    dnodes = {pod: state.dnode_of(naming.fqdn(pod)) for pod in sorted(members, key=naming.ordinal)}
    steps = [
        Step(StepKind.CREATE_DNODE, endpoint=naming.endpoint(pod), reason=f"{pod} has no dnode")
        for pod, dnode in dnodes.items()
        if dnode is None
    ]
    if steps:
        return _after_transactions(state, steps)
    not_ready = [pod for pod, dnode in dnodes.items() if dnode is None or not dnode.is_ready]
    if not_ready:
        return [Step(StepKind.WAIT, reason=f"dnodes of {', '.join(not_ready)} not ready yet")]
    candidate = mnode_to_add(state, naming, members)
    if candidate is not None:
        step = Step(StepKind.CREATE_MNODE, candidate.id, candidate.endpoint, reason="fewer than 3 mnodes")
        return _after_transactions(state, [step])
    settling = [m for m in state.mnodes if not m.is_settled]
    if settling or state.leader is None:
        shown = ", ".join(f"{m.endpoint} {m.role}" for m in settling) or "no leader"
        return [Step(StepKind.WAIT, reason=f"mnodes not settled yet: {shown}")]
    return []


def _after_transactions(state: ClusterState, steps: list[Step]) -> list[Step]:
    """`create dnode` and `create mnode` are refused (979, "Conflict transaction not completed") while any
    transaction runs, such as the drop of a scale-in that was stopped and taken back: wait for it instead."""
    if not state.transactions:
        return steps
    t = state.transactions[0]
    statement = "create dnode" if steps[0].kind is StepKind.CREATE_DNODE else "create mnode"
    return [Step(StepKind.WAIT, reason=f"{statement} waits for transaction {t.id} ({t.oper}, stage {t.stage}) to end")]


def reclaimable_pvcs(
    pvcs: list[PvcInfo], pods: list[PodInfo], state: ClusterState, naming: Naming, first_ordinal: int
) -> list[PvcInfo]:
    """PVCs safe to delete: ordinal >= first_ordinal, no pod of that ordinal, and the dnode whose endpoint
    the pod would carry is not in the cluster. Anything else may still hold a member's data."""
    live = {p.ordinal for p in pods}
    return [
        pvc
        for pvc in pvcs
        if pvc.ordinal >= first_ordinal
        and pvc.ordinal not in live
        and state.dnode_of(naming.fqdn(naming.pod(pvc.ordinal))) is None
    ]
