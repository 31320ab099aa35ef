"""TDengine's vnode placement, as `source/dnode/mnode/impl/src/mndVgroup.c` (3.3.x) does it.

One statement (`create database`, `drop dnode`) builds one dnode array (`mndBuildDnodesArray`): the online
dnodes with `support_vnodes > 0`, in sdb order (dnode id), except the dnode being dropped; each dnode's vnode
count is read once, and whether it hosts an mnode. Before every pick the array is sorted by
`mndGetDnodeScore` = (vnodes + 0.9 x hosts-an-mnode) / support_vnodes, in 32-bit floats; the sort keeps
the order of equal scores (their previous order in the array), and a pick adds one vnode to the chosen
dnode *in the array*. `create database` takes the first `replica` dnodes of the sorted array for each
vgroup (`mndGetAvailableDnode`); `drop dnode` takes, for each vgroup with a member on the dropped dnode in
vgroup-id order, the first dnode that is not a member (`mndAddVnodeToVgroup`).

This reproduces, dnode for dnode, every placement of the two 3.3.7.5 transcripts (`real-3.3.7.5-redistribute`:
`app` replica 3 vgroups 5 and `one` replica 1 vgroups 3 on 5 dnodes; `real-3.3.7.5-scale-in`: the vnode
counts after each `drop dnode`, the double move included). The sdb order (dnode id, vgroup id) and the stable
sort are what makes it reproduce them; the source leaves them to its hash table and `taosArraySort`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tests.sim import codes
from tests.sim.codes import SqlError

MNODE_WEIGHT = 0.9
"""`mndGetDnodeScore(pDnode, 0, 0.9)`: an mnode counts as 0.9 of a vnode."""


def f32(x: float) -> float:
    """x as a C `float`."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


@dataclass
class Slot:
    """One dnode of a statement's array."""

    id: int
    vnodes: int
    support: int
    mnode: bool

    @property
    def score(self) -> float:
        total = f32(f32(float(self.vnodes)) + f32(f32(float(self.mnode)) * f32(MNODE_WEIGHT)))
        return f32(total / self.support)

    @property
    def full(self) -> bool:
        return self.vnodes >= self.support


class Placer:
    """The dnode array of one statement: picks in TDengine's order and counts what it placed."""

    def __init__(self, slots: list[Slot]) -> None:
        self.slots = sorted(slots, key=lambda s: s.id)  # sdb order

    def _sort(self) -> None:
        self.slots.sort(key=lambda s: s.score)  # stable: equal scores keep their order

    def for_vgroup(self, replica: int) -> list[int]:
        """`create database`: the first `replica` dnodes; 820 if too few, 954 if one of them is full."""
        self._sort()
        if len(self.slots) < replica:
            raise SqlError(codes.NO_ENOUGH_DNODES)
        picked = self.slots[:replica]
        if any(s.full for s in picked):
            raise SqlError(codes.NO_ENOUGH_VNODES)
        for s in picked:
            s.vnodes += 1
        return sorted(s.id for s in picked)

    def replacement(self, members: set[int]) -> int:
        """`drop dnode`: the first dnode that is not a member; 954 if it is full, 820 if there is none."""
        self._sort()
        for s in self.slots:
            if s.id in members:
                continue
            if s.full:
                raise SqlError(codes.NO_ENOUGH_VNODES)
            s.vnodes += 1
            return s.id
        raise SqlError(codes.NO_ENOUGH_DNODES)
