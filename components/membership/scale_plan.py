"""The scale-in's placement plan: every vgroup's final members before the first statement, which vnodes move once
by `redistribute vgroup` before the drops, and the refusal when no plan exists. Pure: decisions over the cluster's
rows (`placement.py` is TDengine's rule), no I/O; the runbook (`scale_in.py`) asks it again before each
statement, so a re-run after an interruption plans from where the cluster is.

The costs (tdengine-admin.md §14, measured on a real 3.3.7.5 cluster): `drop dnode` moves a dnode's vgroups in
parallel, about one move's time for 4 or 5 near-empty vnodes (23-24 s); `redistribute vgroup` moves one vgroup
at a time, about 20 s each even when empty; both are global transactions, one at a time. A move costs a fixed
part (`fixed_seconds`, 20 s measured) plus copying the vnode (its disk use from `ins_disk_usage` over
`copy_mbps`, the network's rate: a setting, not measured here). The copies of one drop share the network.

The rule, per departing dnode in drain order (highest ordinal first):

vnode of the dnode that is dropped next         | copy vs a move's fixed part | what happens
------------------------------------------------|-----------------------------|---------------------------------
lands on a staying dnode                        | any                         | moves once, in the drop (parallel)
lands on another departing dnode                | copy > fixed                | `redistribute vgroup` to the staying
                                                |                             | dnode the score ranks first, before
                                                |                             | the drop: once, serially
lands on another departing dnode                | copy <= fixed               | left to the drop: moves twice, both
                                                |                             | times in parallel with others

Moving a vnode twice costs its copy twice, in two parallel drops; moving it once first costs a serial move,
the fixed part plus one copy: cheaper exactly when the copy takes longer than the fixed part. When TDengine's
own placement would run out of room half-way (a vgroup whose only candidates fill up), every departing vnode is
moved by `redistribute vgroup` to a dnode of an exact assignment instead (slow, serial, but it completes); when
no assignment exists at all, the scale-in is refused before any change, naming the vgroup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from components.membership.placement import Group, Model, Node, Shortfall, assign
from components.tdengine.layout import Layout, describe_kb
from components.tdengine.naming import Naming
from components.tdengine.rows import REDISTRIBUTE_TRANS, ClusterState

FIXED_SECONDS = 20.0
"""A move's fixed part on the real cluster (§14: 19.8-21.8 s per `redistribute vgroup` of a near-empty vnode)."""


@dataclass(frozen=True)
class Costs:
    fixed_seconds: float
    copy_mbps: float

    def copy_seconds(self, kb: int) -> float:
        return kb / 1024 / self.copy_mbps

    def once(self, kb: int) -> bool:
        """Worth a serial `redistribute vgroup` rather than a second move in a parallel drop."""
        return self.copy_seconds(kb) > self.fixed_seconds


@dataclass(frozen=True)
class Redistribute:
    """Move one vnode of `group` from dnode `source` to `target` with `redistribute vgroup`."""

    group: int
    db: str
    source: int
    target: int
    members: tuple[int, ...]
    """The vgroup's complete new member list, as the statement takes it."""
    size_kb: int
    why: str
    """The whole reason (the plan's line)."""
    short: str = ""
    """Where it goes, for the statement's progress line."""


@dataclass(frozen=True)
class Drop:
    """`drop dnode <dnode>`: TDengine moves its vgroups, in parallel, to `placed`."""

    dnode: int
    pod: str
    placed: tuple[tuple[int, int], ...]
    """(vgroup, new member) for each of its vnodes."""
    again: tuple[str, ...] = ()
    """Why each vnode that lands on a dnode leaving later is left to move twice."""


@dataclass(frozen=True)
class Plan:
    steps: tuple[Redistribute | Drop, ...]
    leaving: int
    """Vnodes on the departing dnodes: the moves a scale-in cannot avoid."""
    final: dict[int, tuple[int, ...]] = field(default_factory=dict)
    """Every vgroup's members at the end."""
    every_vnode_by_redistribute: str = ""
    """Why every vnode is moved by redistribute (TDengine's own placement would stop half-way), or ''."""
    refusal: tuple[str, str] | None = None
    """(reason, fix) when no plan exists."""
    sizes_known: bool = True

    @property
    def moves(self) -> int:
        return sum(1 if isinstance(s, Redistribute) else len(s.placed) for s in self.steps)

    def first_for(self, dnode_id: int) -> Redistribute | Drop | None:
        return next((s for s in self.steps if (s.source if isinstance(s, Redistribute) else s.dnode) == dnode_id), None)


def plan_scale_in(
    state: ClusterState, layout: Layout, naming: Naming, order: list[str], keep: list[str], costs: Costs
) -> Plan:
    """The plan for draining the pods of `order` (in that order) while `keep` stay."""
    leaving = [d.id for p in order if (d := state.dnode_of(naming.fqdn(p))) is not None]
    staying = [d.id for p in keep if (d := state.dnode_of(naming.fqdn(p))) is not None]
    model = Model.of(state, layout, naming, leaving)
    must = sum(1 for g in model.groups for d in g.members if d in leaving)
    steps, stop = _by_drops(model.copy(), leaving, staying, keep, naming, costs)
    if stop is None:
        return _done(steps, must, model, layout)
    result = assign(model, set(leaving), staying)
    if isinstance(result, Shortfall):
        return Plan((), must, refusal=_refusal(result, keep), sizes_known=layout.sizes_known)
    offline = [model.nodes[d].pod for d in leaving if d in model.nodes and not model.nodes[d].online]
    if offline:
        reason = (
            f"dropping the departing dnodes one by one, TDengine's placement would stop at vgroup {stop.group.id} "
            f"of database {stop.group.db!r} ('Out of dnodes' half-way), and the vnodes of offline "
            f"{', '.join(offline)} cannot be moved by redistribute vgroup instead"
        )
        fix = f"bring {', '.join(offline)} back online and re-run, or " + _refusal(stop, keep)[1]
        return Plan((), must, refusal=(reason, fix), sizes_known=layout.sizes_known)
    why = (
        f"dropping them one by one, TDengine's own placement would stop at vgroup {stop.group.id} of database "
        f"{stop.group.db!r} ('Out of dnodes' half-way), so every departing vnode moves by redistribute vgroup "
        "to a dnode with room instead, one after another"
    )
    steps = _by_redistribute(model.copy(), leaving, result)
    return _done(steps, must, model, layout, why)


def _by_drops(
    model: Model, leaving: list[int], staying: list[int], keep: list[str], naming: Naming, costs: Costs
) -> tuple[list[Redistribute | Drop], Shortfall | None]:
    steps: list[Redistribute | Drop] = []
    for i, dnode_id in enumerate(leaving):
        node = model.nodes.get(dnode_id)
        if node is None:
            continue
        later = set(leaving[i + 1 :])
        _move_mnode(model, node, keep, naming)
        while True:
            placed = model.predict_drop(dnode_id)
            if isinstance(placed, Shortfall):
                return steps, placed
            risky = [(g, t) for g, t in placed if t in later]
            pick = next(((g, t) for g, t in risky if costs.once(g.size_kb) and node.online), None)
            if pick is None:
                again = tuple(_again(g, t, model, costs) for g, t in risky)
                steps.append(Drop(dnode_id, node.pod, tuple((g.id, t) for g, t in placed), again))
                model.drop(dnode_id, placed)
                break
            group, instead = pick
            target = model.best_target(group, set(staying))
            if target is None:
                return steps, Shortfall(group, tuple(model.nodes[d] for d in staying if d not in group.members))
            steps.append(_redistribute(model, group, node.id, target, instead, costs))
            model.move(group, node.id, target)
    return steps, None


def _by_redistribute(
    model: Model, leaving: list[int], targets: dict[tuple[int, int], int]
) -> list[Redistribute | Drop]:
    steps: list[Redistribute | Drop] = []
    for dnode_id in leaving:
        node = model.nodes.get(dnode_id)
        if node is None:
            continue
        for group in model.on(dnode_id):
            target = targets[(group.id, dnode_id)]
            members = tuple(target if d == dnode_id else d for d in group.members)
            why = f"to {model.nodes[target].describe()}, the place an exact assignment gives it"
            short = (
                f"vgroup {group.id} of {group.db} to dnode {target} ({model.nodes[target].pod}): every vnode moves so"
            )
            steps.append(Redistribute(group.id, group.db, dnode_id, target, members, group.size_kb, why, short))
            model.move(group, dnode_id, target)
        steps.append(Drop(dnode_id, node.pod, ()))
        model.drop(dnode_id, [])
    return steps


def _move_mnode(model: Model, node: Node, keep: list[str], naming: Naming) -> None:
    """The runbook moves a departing dnode's mnode to the lowest-ordinal staying dnode without one before the
    drop (`plan.next_step`): an mnode counts in the score, so the prediction moves it too."""
    if not node.mnode:
        return
    node.mnode = False
    if sum(n.mnode for n in model.nodes.values()) >= min(3, len(keep)):
        return
    kept = set(keep)
    for n in sorted((n for n in model.nodes.values() if n.pod in kept), key=lambda n: naming.ordinal(n.pod)):
        if not n.mnode and n.online:
            n.mnode = True
            return


def _redistribute(model: Model, group: Group, source: int, target: int, instead: int, costs: Costs) -> Redistribute:
    members = tuple(target if d == source else d for d in group.members)
    why = (
        f"dropping {model.nodes[source].pod} would place it on {model.nodes[instead].describe()}, which leaves too, "
        f"and its copy ({seconds(costs.copy_seconds(group.size_kb))} at {costs.copy_mbps:g} MB/s) takes longer than "
        f"a move's fixed {seconds(costs.fixed_seconds)}: moved once, to {model.nodes[target].describe()}"
    )
    short = (
        f"vgroup {group.id} of {group.db} moves once, to dnode {target} ({model.nodes[target].pod}), before the drop"
    )
    return Redistribute(group.id, group.db, source, target, members, group.size_kb, why, short)


def seconds(x: float) -> str:
    """20 -> '20 s', 0.39 -> '0.39 s'."""
    return f"{x:.0f} s" if x >= 10 else f"{x:.2g} s"


def _again(group: Group, target: int, model: Model, costs: Costs) -> str:
    return (
        f"vgroup {group.id} ({group.db}, {describe_kb(group.size_kb)}) lands on {model.nodes[target].describe()}, "
        f"which leaves later, and moves again then: its copy ({seconds(costs.copy_seconds(group.size_kb))}) costs "
        f"less than a serial redistribute ({seconds(costs.fixed_seconds)} fixed)"
    )


def _done(steps: list[Redistribute | Drop], must: int, model: Model, layout: Layout, why: str = "") -> Plan:
    """The plan, with every vgroup's final members: the steps replayed on the model they were planned from."""
    final = {g.id: list(g.members) for g in model.groups}
    for step in steps:
        if isinstance(step, Redistribute):
            final[step.group] = list(step.members)
        else:
            for gid, target in step.placed:
                final[gid] = [target if d == step.dnode else d for d in final[gid]]
    members = {gid: tuple(m) for gid, m in final.items()}
    return Plan(tuple(steps), must, members, why, sizes_known=layout.sizes_known)


def _refusal(shortfall: Shortfall, keep: list[str]) -> tuple[str, str]:
    g = shortfall.group
    where = ", ".join(n.describe() for n in shortfall.candidates) or "none (every remaining dnode holds one already)"
    reason = (
        f"vgroup {g.id} of database {g.db!r} (replica {g.replica}) has nowhere to go: its vnode on a departing "
        "dnode can only move to a remaining dnode that is not a member already, and those lack room for it once "
        f"the other departing vnodes are placed: {where}"
    )
    fix = (
        "raise TAOS_SUPPORT_VNODES (taosSettings) so the remaining dnodes hold more vnodes, remove fewer dnodes "
        f"(replicas {len(keep) + 1} or more), or make database {g.db!r} smaller (fewer vgroups)"
    )
    return reason, fix


def redistributing(state: ClusterState, layout: Layout, leaving: list[int]) -> bool:
    """A `redistribute vgroup` is running and moves a vnode off a departing dnode: an interrupted scale-in's."""
    if not _redistribute_running(state):
        return False
    return any(layout.moving(v) and any(m.dnode_id in leaving for m in v.members[:-1]) for v in layout.vgroups)


def redistribute_unseen(state: ClusterState, layout: Layout) -> bool:
    """A `redistribute vgroup` runs and no vgroup shows a move: it is between its start and its learner, or between
    its last member change and its end. Whose it is cannot be told yet; read again before judging."""
    return _redistribute_running(state) and not any(layout.moving(v) for v in layout.vgroups)


def _redistribute_running(state: ClusterState) -> bool:
    return any(t.oper == REDISTRIBUTE_TRANS for t in state.transactions)


def describe(plan: Plan, order: list[str]) -> list[str]:
    """The plan as progress lines: what leaves, every statement, and every vgroup moved and why."""
    once = sum(isinstance(s, Redistribute) for s in plan.steps)
    twice = sum(len(s.again) for s in plan.steps if isinstance(s, Drop))
    head = f"scale-in plan: {plan.leaving} vnodes leave {', '.join(order)}; {plan.moves} vnode moves"
    head += f", {once} by redistribute vgroup first (moved once)" if once else ""
    head += f", {twice} moved twice (small copies)" if twice else ""
    lines = [head]
    if not plan.sizes_known:
        lines.append(
            "plan: disk use per vgroup unknown (ins_disk_usage needs TDengine 3.3.5+): every vnode counts as small"
        )
    if plan.every_vnode_by_redistribute:
        lines.append(f"plan: {plan.every_vnode_by_redistribute}")
    for step in plan.steps:
        if isinstance(step, Redistribute):
            lines.append(f"plan: vgroup {step.group} ({step.db}, {describe_kb(step.size_kb)}): {step.why}")
        elif step.placed:
            ids = ", ".join(str(g) for g, _ in step.placed)
            lines.append(f"plan: drop dnode {step.dnode} ({step.pod}) moves vgroups {ids} in parallel")
            lines += [f"plan: {why}" for why in step.again]
        else:
            lines.append(f"plan: drop dnode {step.dnode} ({step.pod}), empty by then: at once")
    return lines
