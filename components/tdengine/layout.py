"""Where the data is: every vgroup's members and each vgroup's disk use. Pure: parses the dict rows
`AdminClient.query` returns for `information_schema.ins_vgroups` and `information_schema.ins_disk_usage`.

A vgroup that is moving has one member more than its replica: the new one, in the last slot (TDengine adds it
at index `replica`, `mndAddVnodeToVgroup` / `mndAddIncVgroupReplicaToTrans`), until it replaces the old one.

`ins_disk_usage` (TDengine 3.3.5+, one row per vgroup, sizes in KB) is not in the reference: its columns, as the
real 3.3.7.5 answers them (tests/real/, the differential test): db_name, vgroup_id, wal (`wal_size` in TDengine's
documentation, `docs/en/14-reference/03-taos-sql/50-meta.md`, so both are read), data1, data2, data3 (the data
files on each storage tier), cache_rdb, table_meta, ss (shared storage), raw_data (an estimate of the
uncompressed size). What a move copies is taken as the vnode's local files: wal, the three data tiers, the
last/last_row cache and the metadata (not `ss`, which stays on shared storage, nor `raw_data`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from components.tdengine.rows import Vgroup

LOCAL_FILES = ("wal_size", "wal", "data1", "data2", "data3", "cache_rdb", "table_meta")
"""The columns summed as a vnode's size (`wal` in 3.3.7.5, `wal_size` in TDengine's documentation)."""


@dataclass(frozen=True)
class Layout:
    """The vgroups, each with its replica, and their disk use."""

    vgroups: tuple[Vgroup, ...]
    replica: Mapping[str, int]
    """Each database's replica (from ins_databases)."""
    size_kb: Mapping[int, int] = field(default_factory=dict)
    """Disk use of one vnode of each vgroup (KB); a vgroup missing here counts as 0."""
    sizes_known: bool = True
    """False when ins_disk_usage could not be read (a TDengine before 3.3.5): every vnode counts as small."""

    def replica_of(self, vgroup: Vgroup) -> int:
        return self.replica.get(vgroup.db) or len(vgroup.members)

    def moving(self, vgroup: Vgroup) -> bool:
        """A member is being added (the new one is the last slot)."""
        return len(vgroup.members) > self.replica_of(vgroup)

    def on(self, dnode_id: int) -> tuple[Vgroup, ...]:
        return tuple(v for v in self.vgroups if any(m.dnode_id == dnode_id for m in v.members))


def disk_use_kb(rows: Iterable[Mapping[str, Any]]) -> dict[int, int]:
    """vgroup id -> KB of one vnode's local files, from `ins_disk_usage` rows."""
    return {int(r["vgroup_id"]): sum(int(r.get(c) or 0) for c in LOCAL_FILES) for r in rows}


def describe_kb(kb: int) -> str:
    """1536 -> '1.5 MiB'."""
    if kb < 1024:
        return f"{kb} KiB"
    mib = kb / 1024
    return f"{mib:.1f} MiB" if mib < 1024 else f"{mib / 1024:.1f} GiB"
