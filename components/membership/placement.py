"""TDengine's vnode placement, to predict where `drop dnode` puts each vnode, and whether any placement of the
departing vnodes fits at all. Pure: built from the cluster's rows, no I/O.

The rule (`source/dnode/mnode/impl/src/mndVgroup.c`, read from TDengine's 3.3 source, and reproducing every
placement of the two 3.3.7.5 transcripts, `transcripts/real-3.3.7.5-redistribute.jsonl` and
`real-3.3.7.5-scale-in.jsonl`): a `drop dnode` builds one array of the online dnodes with `support_vnodes > 0`
except the dropped one, in dnode-id order, each with its vnode count (`mndBuildDnodesArray`). For each vgroup
with a member on the dropped dnode, in vgroup-id order, it sorts the array by `mndGetDnodeScore` =
(vnodes + 0.9 if the dnode hosts an mnode) / support_vnodes, in 32-bit floats, keeping the order of equal
scores, and takes the first dnode that is not a member (`mndAddVnodeToVgroup`): "Vnodes exhausted" if that one
is full (so only when every candidate is), "Out of dnodes" if there is none; the chosen dnode's count grows by
one in the array. Every other departing dnode is a candidate too: that is how a vnode moves twice.
"""

from __future__ import annotations

import copy
import struct
from dataclasses import dataclass, field

from components.tdengine.layout import Layout
from components.tdengine.naming import Naming
from components.tdengine.rows import ClusterState

MNODE_WEIGHT = 0.9


def _f32(x: float) -> float:
    return float(struct.unpack("f", struct.pack("f", x))[0])


@dataclass
class Node:
    """One dnode as placement sees it."""

    id: int
    pod: str
    """Its pod (`''` for a dnode of no pod of this StatefulSet)."""
    vnodes: int
    support: int
    mnode: bool
    online: bool

    @property
    def score(self) -> float:
        return _f32(_f32(_f32(float(self.vnodes)) + _f32(float(self.mnode)) * _f32(MNODE_WEIGHT)) / self.support)

    @property
    def full(self) -> bool:
        return self.vnodes >= self.support

    def describe(self) -> str:
        return f"dnode {self.id} ({self.pod or 'no pod'}: {self.vnodes} of {self.support} vnodes)"


@dataclass
class Group:
    """One vgroup: its members' dnode ids and the disk use of one of its vnodes."""

    id: int
    db: str
    replica: int
    members: list[int]
    size_kb: int


@dataclass(frozen=True)
class Shortfall:
    """A vgroup none of whose candidates has room: where a plan stops."""

    group: Group
    candidates: tuple[Node, ...]
    """The dnodes it could have gone to, all full (or none at all)."""


@dataclass
class Model:
    """The dnodes and vgroups a scale-in moves vnodes between; `copy()` before simulating."""

    nodes: dict[int, Node]
    groups: list[Group] = field(default_factory=list)

    @classmethod
    def of(cls, state: ClusterState, layout: Layout, naming: Naming, leaving: list[int]) -> Model:
        """From the live rows. A vgroup in the middle of a move counts as moved (its new member, the last slot,
        replaces the member on the first of `leaving`, the dnodes in drain order, that it has), and a dnode
        being dropped as gone: TDengine has already chosen where its vnodes go."""
        dropping = {d.id for d in state.dnodes if d.is_dropping}
        groups = []
        for v in layout.vgroups:
            members = [m.dnode_id for m in v.members]
            if layout.moving(v):
                new, old = members[-1], members[:-1]
                gone = next((d for d in [*dropping, *leaving] if d in old), None)
                members = [new if d == gone else d for d in old] if gone is not None else members
            groups.append(Group(v.id, v.db, layout.replica_of(v), members, layout.size_kb.get(v.id, 0)))
        nodes = {
            d.id: Node(d.id, naming.pod_of(d) or "", 0, d.support_vnodes, state.mnode_on(d) is not None, d.is_online)
            for d in sorted(state.dnodes, key=lambda d: d.id)
            if d.id not in dropping
        }
        model = cls(nodes, sorted(groups, key=lambda g: g.id))
        for g in model.groups:
            for d in g.members:
                if d in model.nodes:
                    model.nodes[d].vnodes += 1
        return model

    def copy(self) -> Model:
        return copy.deepcopy(self)

    def on(self, dnode_id: int) -> list[Group]:
        return [g for g in self.groups if dnode_id in g.members]

    def predict_drop(self, dnode_id: int) -> list[tuple[Group, int]] | Shortfall:
        """Where `drop dnode <dnode_id>` would put each of its vnodes, in TDengine's order (nothing changed)."""
        array = [copy.copy(n) for n in self.nodes.values() if n.id != dnode_id and n.online and n.support > 0]
        placed: list[tuple[Group, int]] = []
        for g in self.on(dnode_id):
            array.sort(key=lambda n: n.score)
            choice = next((n for n in array if n.id not in g.members), None)
            if choice is None or choice.full:
                return Shortfall(g, tuple(self.nodes[n.id] for n in array if n.id not in g.members))
            choice.vnodes += 1
            placed.append((g, choice.id))
        return placed

    def best_target(self, group: Group, allowed: set[int]) -> int | None:
        """The dnode of `allowed` (not a member, online, with room) the score ranks first: where a redistribute
        sends the vnode, so it lands where TDengine's own balance would."""
        fits = [n for n in self.nodes.values() if n.id in allowed and n.id not in group.members]
        fits = [n for n in fits if n.online and n.support > 0 and not n.full]
        return min(fits, key=lambda n: n.score).id if fits else None

    def move(self, group: Group, source: int, target: int) -> None:
        group.members = [target if d == source else d for d in group.members]
        self.nodes[source].vnodes -= 1
        self.nodes[target].vnodes += 1

    def drop(self, dnode_id: int, placed: list[tuple[Group, int]]) -> None:
        for g, target in placed:
            self.move(g, dnode_id, target)
        del self.nodes[dnode_id]


def assign(model: Model, leaving: set[int], staying: list[int]) -> dict[tuple[int, int], int] | Shortfall:
    """A staying dnode for every departing vnode (vgroup id, departing dnode) -> dnode, a vgroup's on distinct
    dnodes that are not its members, within every dnode's room; or a vgroup that cannot have one. A maximum flow
    (source -> vgroup: its departing vnodes; vgroup -> dnode: 1; dnode -> sink: its room), so it is exact: when
    it finds none, no order of statements can place them all."""
    room = {d: max(model.nodes[d].support - model.nodes[d].vnodes, 0) for d in staying if model.nodes[d].online}
    groups = [g for g in model.groups if any(d in leaving for d in g.members)]
    need = {g.id: sum(d in leaving for d in g.members) for g in groups}
    flow: dict[tuple[int, int], int] = {}  # (vgroup, dnode) -> 0/1
    used = dict.fromkeys(room, 0)

    def augment(gid: int, seen: set[int]) -> bool:
        """One more vnode of vgroup `gid` placed, re-routing others where needed (depth-first)."""
        g = next(x for x in groups if x.id == gid)
        for d in room:
            if d in g.members or flow.get((gid, d)) or d in seen:
                continue
            seen.add(d)
            if used[d] < room[d]:
                flow[(gid, d)] = 1
                used[d] += 1
                return True
            for other, _ in [k for k, v in flow.items() if k[1] == d and v]:
                flow[(other, d)] = 0  # move `other`'s vnode off d, if it fits elsewhere
                if augment(other, seen):
                    flow[(gid, d)] = 1
                    return True
                flow[(other, d)] = 1
        return False

    for g in groups:
        for _ in range(need[g.id]):
            if not augment(g.id, set()):
                return Shortfall(g, tuple(model.nodes[d] for d in room if d not in g.members))
    out: dict[tuple[int, int], int] = {}
    for g in groups:
        targets = iter(sorted(d for (gid, d), v in flow.items() if gid == g.id and v))
        for d in g.members:
            if d in leaving:
                out[(g.id, d)] = next(targets)
    return out
