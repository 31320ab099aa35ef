"""plan.py as tables: cluster state in, decision (or refusal) out. No I/O."""

from __future__ import annotations

import pytest

from components.membership import plan
from components.tdengine.errors import Refused
from components.tdengine.kube_types import PodInfo, PvcInfo
from components.tdengine.naming import Naming
from components.tdengine.rows import ClusterState, Database, Dnode, Mnode, Transaction


def acks(force: bool = False, allow_fewer_than_three: bool = False) -> plan.DrainOptions:
    """The operator's acknowledgements, both off unless a row says otherwise."""
    return plan.DrainOptions(force=force, allow_fewer_than_three=allow_fewer_than_three)


NAMING = Naming("tdengine", "taosd", "tdengine-test", "cluster.local", 6030)


def ep(ordinal: int) -> str:
    return NAMING.endpoint(f"tdengine-{ordinal}")


def state(
    dnodes: list[tuple[int, int, int, str]],  # (ordinal, id, vnodes, status)
    mnodes: list[tuple[int, str]] = ((0, "leader"),),  # (ordinal, role); mnode id = its dnode's id
    databases: list[tuple[str, int | None]] = (),
    transactions: list[tuple[int, str]] = (),
    notes: dict[int, str] | None = None,
) -> ClusterState:
    by_ordinal = {o: i for o, i, _, _ in dnodes}
    return ClusterState(
        dnodes=tuple(Dnode(i, ep(o), v, 9, s, (notes or {}).get(o, "")) for o, i, v, s in dnodes),
        mnodes=tuple(Mnode(by_ordinal[o], ep(o), role, "ready") for o, role in mnodes),
        databases=tuple(Database(n, r) for n, r in databases),
        transactions=tuple(Transaction(i, "redoAction", op, 0, "") for i, op in transactions),
    )


def pods(n: int) -> list[str]:
    return [f"tdengine-{i}" for i in range(n)]


HEALTHY5 = [(0, 1, 2, "ready"), (1, 3, 2, "ready"), (2, 2, 2, "ready"), (3, 4, 1, "ready"), (4, 5, 1, "ready")]
MNODES3 = [(0, "leader"), (1, "follower"), (2, "follower")]


def test_departing_pods_highest_ordinal_first_including_leftovers():
    s = state(HEALTHY5, MNODES3)
    assert plan.departing_pods(s, NAMING, pods(5), pods(3)) == ["tdengine-4", "tdengine-3"]
    # a resumed run: the old member list already says 3, but tdengine-3's dnode is still there
    assert plan.departing_pods(s, NAMING, pods(3), pods(3)) == ["tdengine-4", "tdengine-3"]


REFUSALS = [
    (
        "replica-3 database",
        state(HEALTHY5[:3], MNODES3, [("metrics", 3)]),
        pods(3),
        pods(2),
        {"allow_fewer_than_three": True},
        "database 'metrics' has replica 3",
    ),
    ("fewer than 3", state(HEALTHY5[:3], MNODES3), pods(3), pods(2), {}, "leaves fewer than 3 mnodes"),
    (
        "remaining not ready",
        state([*HEALTHY5[:1], (1, 3, 2, "offline"), *HEALTHY5[2:]], MNODES3),
        pods(5),
        pods(3),
        {},
        "remaining pod tdengine-1 is offline",
    ),
    (
        "foreign drop",
        state([*HEALTHY5[:2], (2, 2, 2, "dropping"), *HEALTHY5[3:]], MNODES3),
        pods(5),
        pods(4),
        {},
        "being dropped by someone else",
    ),
    (
        "foreign transaction",
        state(HEALTHY5, MNODES3, transactions=[(7, "create-mnode")]),
        pods(5),
        pods(4),
        {},
        "transaction 7 (create-mnode",
    ),
    (
        "offline departing",
        state([*HEALTHY5[:4], (4, 5, 1, "offline")], MNODES3),
        pods(5),
        pods(4),
        {},
        "departing dnode 5 of tdengine-4 is offline",
    ),
    (
        "leader departs",
        state(HEALTHY5, [(4, "leader"), (0, "follower"), (1, "follower")]),
        pods(5),
        pods(4),
        {},
        "hosts the mnode leader",
    ),
]


@pytest.mark.parametrize(("name", "s", "old", "new", "options", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_preflight_refusals_name_reason_and_fix(name, s, old, new, options, message):
    departing = plan.departing_pods(s, NAMING, old, new)
    with pytest.raises(Refused) as err:
        plan.preflight_scale_down(s, NAMING, departing, new, acks(**options))
    assert message in str(err.value)
    assert "Fix: " in str(err.value) and "Nothing was changed" in str(err.value)


def test_preflight_passes_a_healthy_scale_down_and_our_own_drop():
    plan.preflight_scale_down(
        state(HEALTHY5, MNODES3, [("app", 3)]), NAMING, ["tdengine-4", "tdengine-3"], pods(3), acks()
    )
    resumed = state([*HEALTHY5[:4], (4, 5, 1, "dropping")], MNODES3, transactions=[(9, "drop-dnode")])
    plan.preflight_scale_down(resumed, NAMING, ["tdengine-4"], pods(4), acks())
    forced = state([*HEALTHY5[:4], (4, 5, 1, "offline")], MNODES3)
    plan.preflight_scale_down(forced, NAMING, ["tdengine-4"], pods(4), acks(force=True))


# (dnode of tdengine-3: status, mnode role on it or None, mnodes elsewhere, force) -> (step kind, force flag)
NEXT_STEPS = [
    ("absent", None, None, False, ("done", False)),
    ("dropping", None, None, False, ("wait", False)),
    ("dropping*", None, None, False, ("wait", False)),
    ("creating", None, None, False, ("wait", False)),
    ("ready", "follower", None, False, ("drop_mnode", False)),
    ("ready", None, 2, False, ("create_mnode", False)),
    ("ready", None, 3, False, ("drop_dnode", False)),
    ("offline", None, 3, True, ("drop_dnode", True)),
    ("offline", "offline", 2, True, ("drop_dnode", True)),
]


@pytest.mark.parametrize(("status", "role", "others", "force", "expected"), NEXT_STEPS)
def test_next_step_state_table(status, role, others, force, expected):
    dnodes = [(0, 1, 2, "ready"), (1, 2, 2, "ready"), (2, 3, 2, "ready")]
    if status != "absent":
        dnodes.append((3, 7, 1, status))
    mnodes = [(0, "leader"), (1, "follower"), (2, "follower")][: (others or 3)]
    if role:
        mnodes.append((3, role))
    step = plan.next_step(state(dnodes, mnodes), NAMING, "tdengine-3", pods(3), acks(force=force))
    assert (step.kind, step.force) == expected
    if step.kind == "create_mnode":
        assert step.dnode_id == 3  # the lowest remaining ordinal without an mnode (tdengine-2 has id 3)


def test_next_step_refuses_offline_without_force_and_the_leader():
    offline = state([(0, 1, 2, "ready"), (1, 2, 2, "ready"), (2, 3, 2, "ready"), (3, 7, 1, "offline")], MNODES3)
    with pytest.raises(Refused, match="forceDropOffline"):
        plan.next_step(offline, NAMING, "tdengine-3", pods(3), acks())
    leader = state(HEALTHY5[:4], [(3, "leader"), (0, "follower"), (1, "follower")])
    with pytest.raises(Refused, match="delete pod tdengine-3"):
        plan.next_step(leader, NAMING, "tdengine-3", pods(3), acks())


def test_plan_membership_creates_missing_dnodes_then_mnodes_on_lowest_ordinals():
    s = state([(0, 1, 0, "ready")], [(0, "leader")])
    assert [(x.kind, x.endpoint) for x in plan.plan_membership(s, NAMING, pods(3))] == [
        ("create_dnode", ep(1)),
        ("create_dnode", ep(2)),
    ]
    s = state([(0, 1, 0, "ready"), (1, 3, 0, "offline"), (2, 2, 0, "ready")], [(0, "leader")])
    assert [x.kind for x in plan.plan_membership(s, NAMING, pods(3))] == ["wait"]
    s = state([(0, 1, 0, "ready"), (1, 3, 0, "ready"), (2, 2, 0, "ready")], [(0, "leader")])
    assert [(x.kind, x.dnode_id) for x in plan.plan_membership(s, NAMING, pods(3))] == [("create_mnode", 3)]
    s = state(
        [(0, 1, 0, "ready"), (1, 3, 0, "ready"), (2, 2, 0, "ready")], [(0, "leader"), (1, "offline"), (2, "follower")]
    )
    assert [x.kind for x in plan.plan_membership(s, NAMING, pods(3))] == ["wait"]  # a new mnode still settling
    s = state([(0, 1, 0, "ready"), (1, 3, 0, "ready"), (2, 2, 0, "ready")], MNODES3)
    assert plan.plan_membership(s, NAMING, pods(3)) == []
    assert plan.plan_membership(state([(0, 1, 0, "ready")], [(0, "leader")]), NAMING, pods(1)) == []


def test_plan_membership_waits_for_a_running_transaction_before_creating():
    """On the real cluster a scale-in killed mid-drop and taken back met 979 on `create dnode`: the drop's
    transaction was still running. Both creates wait for any transaction; a wait or nothing to do is unchanged."""
    drop = [(9, "drop-dnode")]
    s = state([(0, 1, 0, "ready")], [(0, "leader")], transactions=drop)
    [step] = plan.plan_membership(s, NAMING, pods(3))
    assert (
        step.kind == "wait"
        and step.reason == "create dnode waits for transaction 9 (drop-dnode, stage redoAction) to end"
    )
    s = state([(0, 1, 0, "ready"), (1, 3, 0, "ready"), (2, 2, 0, "ready")], [(0, "leader")], transactions=drop)
    [step] = plan.plan_membership(s, NAMING, pods(3))
    assert step.kind == "wait" and step.reason.startswith("create mnode waits for transaction 9")
    s = state([(0, 1, 0, "ready"), (1, 3, 0, "ready"), (2, 2, 0, "ready")], MNODES3, transactions=drop)
    assert plan.plan_membership(s, NAMING, pods(3)) == []


def test_reclaimable_pvcs_only_without_pod_and_out_of_the_cluster():
    pvcs = [PvcInfo(f"taosdata-tdengine-{i}", "taosdata", i) for i in range(6)]
    live = [PodInfo(f"tdengine-{i}", i, True, "Running") for i in range(3)] + [
        PodInfo("tdengine-4", 4, False, "Running", True)
    ]
    s = state([(0, 1, 0, "ready"), (1, 2, 0, "ready"), (2, 3, 0, "ready"), (5, 9, 0, "offline")])
    names = [p.name for p in plan.reclaimable_pvcs(pvcs, live, s, NAMING, 3)]
    # 3: gone and out -> delete; 4: pod still terminating -> keep; 5: its dnode is still a member -> keep
    assert names == ["taosdata-tdengine-3"]
    assert plan.reclaimable_pvcs(pvcs, live, s, NAMING, 6) == []
