"""placement.py and scale_plan.py as tables: rows in, prediction or plan (or refusal) out. No I/O.

The layout of the scale-in transcript (`transcripts/real-3.3.7.5-scale-in.jsonl`) is the anchor: its placement
was read off the real cluster's vnode counts (the simulator's replay reproduces it), and the plan must predict
the real drops' counts, dnode for dnode, and the one vnode they moved twice.
"""

from __future__ import annotations

from components.membership import placement, scale_plan
from components.membership.scale_plan import Costs, Drop, Redistribute
from components.tdengine.layout import Layout
from components.tdengine.naming import Naming
from components.tdengine.rows import ClusterState, Database, Dnode, Member, Mnode, Transaction, Vgroup

NAMING = Naming("tdengine", "taosd", "tdengine-test", "cluster.local", 6030)
ORDINAL = {1: 0, 2: 2, 3: 3, 4: 4, 5: 1}
"""The transcript's dnode ids -> pod ordinals."""
MV3 = {2: [1, 3, 4], 3: [2, 3, 5], 4: [2, 4, 5], 5: [1, 3, 4], 6: [1, 2, 5]}
MV1 = {7: [3], 8: [4], 9: [1]}
SMALL = Costs(fixed_seconds=20, copy_mbps=100)
"""A 20 s fixed part against a 100 MB/s copy: a vnode of more than 2000 MB moves once."""


def ep(dnode: int) -> str:
    return NAMING.endpoint(f"tdengine-{ORDINAL[dnode]}")


def cluster(
    groups: dict[str, dict[int, list[int]]],
    mnodes: tuple[int, ...] = (1, 2, 5),
    support: int = 9,
    dnodes: tuple[int, ...] = (1, 2, 3, 4, 5),
    size_kb: int = 0,
    transactions: tuple[Transaction, ...] = (),
) -> tuple[ClusterState, Layout]:
    count = {d: sum(d in m for g in groups.values() for m in g.values()) for d in dnodes}
    state = ClusterState(
        dnodes=tuple(Dnode(d, ep(d), count[d], support, "ready", "") for d in dnodes),
        mnodes=tuple(Mnode(d, ep(d), "leader" if d == 1 else "follower", "ready") for d in mnodes),
        databases=tuple(Database(db, len(next(iter(g.values())))) for db, g in groups.items()),
        transactions=transactions,
    )
    vgroups = tuple(
        Vgroup(vid, db, tuple(Member(d, "follower") for d in members))
        for db, g in groups.items()
        for vid, members in g.items()
    )
    replica = {db: len(next(iter(g.values()))) for db, g in groups.items()}
    return state, Layout(vgroups, replica, {v.id: size_kb for v in vgroups})


def pods(*ordinals: int) -> list[str]:
    return [f"tdengine-{o}" for o in ordinals]


def test_the_prediction_is_the_real_clusters_drop_for_drop():
    state, layout = cluster({"mv3": MV3, "mv1": MV1})
    model = placement.Model.of(state, layout, NAMING, [4, 3])
    first = model.predict_drop(4)
    assert not isinstance(first, placement.Shortfall)
    assert [(g.id, t) for g, t in first] == [(2, 2), (4, 3), (5, 5), (8, 5)]
    model.drop(4, first)
    assert {n.id: n.vnodes for n in model.nodes.values()} == {1: 4, 2: 4, 3: 5, 5: 5}  # the transcript's counts
    second = model.predict_drop(3)
    assert not isinstance(second, placement.Shortfall)
    model.drop(3, second)
    assert {n.id: n.vnodes for n in model.nodes.values()} == {1: 6, 2: 6, 5: 6}


def test_small_vnodes_are_left_to_the_drops_and_one_moves_twice_as_on_the_real_cluster():
    state, layout = cluster({"mv3": MV3, "mv1": MV1}, size_kb=1024)
    plan = scale_plan.plan_scale_in(state, layout, NAMING, pods(4, 3), pods(0, 1, 2), SMALL)
    assert [type(s).__name__ for s in plan.steps] == ["Drop", "Drop"]
    assert (plan.leaving, plan.moves) == (8, 9)  # the real cluster's 9 moves where 8 had to leave
    first = plan.steps[0]
    assert isinstance(first, Drop) and len(first.again) == 1 and first.again[0].startswith("vgroup 4 (mv3, 1.0 MiB)")
    assert all(3 not in m and 4 not in m for m in plan.final.values())


def test_large_vnodes_that_would_move_twice_move_once_first_by_redistribute():
    state, layout = cluster({"mv3": MV3, "mv1": MV1}, size_kb=10 * 1024 * 1024)  # 10 GiB: 102 s at 100 MB/s
    plan = scale_plan.plan_scale_in(state, layout, NAMING, pods(4, 3), pods(0, 1, 2), SMALL)
    assert (plan.leaving, plan.moves) == (8, 8)
    redistributed = [s for s in plan.steps if isinstance(s, Redistribute)]
    assert redistributed and all(s.source == 4 and s.target in (1, 2, 5) for s in redistributed)
    assert redistributed[0].group == 4 and redistributed[0].members == (2, 1, 5)
    assert (
        "would place it on dnode 3 (tdengine-3" in redistributed[0].why and "102 s at 100 MB/s" in redistributed[0].why
    )
    drops = [s for s in plan.steps if isinstance(s, Drop)]
    assert [d.dnode for d in drops] == [4, 3] and not any(d.again for d in drops)
    assert all(3 not in m and 4 not in m for m in plan.final.values())
    lines = scale_plan.describe(plan, pods(4, 3))
    assert lines[0].startswith("scale-in plan: 8 vnodes leave tdengine-4, tdengine-3; 8 vnode moves,")
    assert any(line.startswith("plan: vgroup 4 (mv3, 10.0 GiB): dropping tdengine-4") for line in lines)


def test_unknown_sizes_count_as_small_and_say_so():
    state, layout = cluster({"mv3": MV3, "mv1": MV1})
    unknown = Layout(layout.vgroups, layout.replica, {}, sizes_known=False)
    plan = scale_plan.plan_scale_in(state, unknown, NAMING, pods(4, 3), pods(0, 1, 2), SMALL)
    assert plan.moves == 9
    assert any("disk use per vgroup unknown" in line for line in scale_plan.describe(plan, pods(4, 3)))


def test_a_departing_mnode_moves_first_in_the_prediction():
    """tdengine-4 hosts an mnode: the runbook moves it to the lowest staying ordinal without one before its drop,
    and an mnode counts 0.9 in the score, so the prediction must see it there."""
    state, layout = cluster({"mv3": MV3, "mv1": MV1}, mnodes=(1, 2, 4))
    model = placement.Model.of(state, layout, NAMING, [4, 3])
    node = model.nodes[4]
    scale_plan._move_mnode(model, node, pods(0, 1, 2), NAMING)
    assert not node.mnode and model.nodes[5].mnode  # dnode 5 is tdengine-1


def test_no_placement_is_refused_naming_the_vgroup_its_database_the_full_dnodes_and_the_fix():
    """The property test's find: tdengine-0 full, the replica-3 vgroups of tdengine-3 have their other replicas on
    tdengine-1 and tdengine-2, so tdengine-0 is the only dnode they could go to."""
    groups = {"r1": {v: [1] for v in range(2, 8)}, "r3": {8: [5, 2, 3], 9: [3, 4, 5]}}
    state, layout = cluster(groups, mnodes=(1,), support=6)
    plan = scale_plan.plan_scale_in(state, layout, NAMING, pods(4, 3), pods(0, 1, 2), SMALL)
    assert plan.refusal is not None
    reason, fix = plan.refusal
    assert reason.startswith("vgroup ") and "of database 'r3' (replica 3) has nowhere to go" in reason
    assert "dnode 1 (tdengine-0: 6 of 6 vnodes)" in reason
    assert fix.startswith("raise TAOS_SUPPORT_VNODES") and "replicas 4 or more" in fix and "'r3' smaller" in fix


def test_when_tdengines_own_placement_would_stop_half_way_every_vnode_moves_by_redistribute():
    """dnode 4 leaves with a replica-1 vgroup (a) and a replica-3 vgroup on 2, 3, 4 (b). `drop dnode` would put
    (a) on dnode 1 (the lowest score), filling it, and then (b), whose only candidate is dnode 1, has none:
    'Vnodes exhausted' half-way. (a) can go to dnode 3 instead: an assignment exists, so the plan moves both by
    redistribute, then drops the empty dnode."""
    state, layout = cluster({"a": {2: [4], 4: [2], 5: [1]}, "b": {3: [2, 3, 4]}}, mnodes=(1, 2, 3), support=2,
                            dnodes=(1, 2, 3, 4))  # fmt: skip
    plan = scale_plan.plan_scale_in(state, layout, NAMING, pods(4), pods(0, 2, 3), SMALL)
    assert plan.refusal is None and "would stop at vgroup 3 of database 'b'" in plan.every_vnode_by_redistribute
    assert [(type(s).__name__, getattr(s, "group", None)) for s in plan.steps] == [
        ("Redistribute", 2),
        ("Redistribute", 3),
        ("Drop", None),
    ]
    assert plan.final == {2: (3,), 3: (2, 3, 1), 4: (2,), 5: (1,)}


def test_a_move_in_flight_counts_as_done_and_a_redistribute_of_ours_is_recognised():
    """An interrupted scale-in: vgroup 4 (on 2, 4, 5) is being moved off dnode 4 to dnode 1 (the 4th slot)."""
    state, layout = cluster(
        {"mv3": MV3, "mv1": MV1}, transactions=(Transaction(9, "redoAction", "red-vgroup", 0, "", "mv3"),)
    )
    moving = tuple(Vgroup(v.id, v.db, (*v.members, Member(1, "learner"))) if v.id == 4 else v for v in layout.vgroups)
    layout = Layout(moving, layout.replica, layout.size_kb)
    assert scale_plan.redistributing(state, layout, [4, 3])
    assert not scale_plan.redistributing(state, layout, [3])  # not a departing dnode's vnode: not ours
    model = placement.Model.of(state, layout, NAMING, [4, 3])
    assert next(g for g in model.groups if g.id == 4).members == [2, 1, 5]
    assert not scale_plan.redistribute_unseen(state, layout)  # the move shows: judged at once


def test_a_redistribute_that_shows_no_move_is_read_again_before_it_is_judged():
    """Between its last member change and its end (or its start and its learner) a `red-vgroup` shows no 4th slot:
    neither ours nor foreign yet. Without a transaction, or once the move shows, nothing waits."""
    red = (Transaction(9, "redoAction", "red-vgroup", 0, "", "mv3"),)
    state, layout = cluster({"mv3": MV3, "mv1": MV1}, transactions=red)
    assert scale_plan.redistribute_unseen(state, layout)
    assert not scale_plan.redistributing(state, layout, [4, 3])
    idle, _ = cluster({"mv3": MV3, "mv1": MV1})
    assert not scale_plan.redistribute_unseen(idle, layout)
    drop = (Transaction(9, "redoAction", "drop-dnode", 0, ""),)
    dropping, _ = cluster({"mv3": MV3, "mv1": MV1}, transactions=drop)
    assert not scale_plan.redistribute_unseen(dropping, layout)
