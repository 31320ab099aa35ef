"""Which pods are members in the cluster's own view, and which member pods run on the volume of a dropped dnode.
Pure: decisions over rows and pod listings, no I/O (`heal.py` acts on them, `refresh.py` reads for them).

A dropped dnode's data dir never rejoins: TDengine refuses its status ('dnodeId not match' on a row created for
its endpoint) and the image does not re-register it. A scale-in that stopped half-way leaves such a pod running
(the StatefulSet never shrank): its dnode is gone, its volume stale. The way back is a new volume, on which the
pod starts as a new dnode:

pod of a member | its endpoint in `show dnodes`                | ordinal | decision
----------------|----------------------------------------------|---------|------------------------------------------
absent          | -                                            | -       | nothing (the StatefulSet adds it)
running         | a row, not 'dnodeId not match'               | any     | nothing (a member)
running         | an offline row, 'dnodeId not match'          | > 0     | heal: drop that empty row, new volume
running         | none, before the StatefulSet changes         | > 0     | heal: new volume (a pod the StatefulSet
                | (DnodeDecommission)                          |         | already runs: a drained one, or one that
                |                                              |         | never joined, whose volume is empty)
running         | none, after it (ClusterMembership)           | > 0     | nothing (a new pod, about to join)
running         | none or 'dnodeId not match'                  | 0       | refuse: a new volume on the first dnode
                |                                              |         | starts a second cluster
"""

from __future__ import annotations

from dataclasses import dataclass

from components.tdengine.kube_types import PodInfo
from components.tdengine.naming import Naming
from components.tdengine.rows import ClusterState, Dnode

STALE_NOTE = "dnodeId not match"


@dataclass(frozen=True)
class Stale:
    """A member pod on a dropped dnode's volume, and the empty row to drop first (None when there is none)."""

    pod: str
    ordinal: int
    uid: str
    row: Dnode | None


def live_members(state: ClusterState, naming: Naming) -> list[str]:
    """The pods whose dnode is in the cluster (any status but a stale row), by ordinal: the members as the
    cluster has them, what `pulumi refresh` writes into the state."""
    pods = {naming.pod_of(d) for d in state.dnodes if d.note != STALE_NOTE}
    return sorted((p for p in pods if p is not None), key=naming.ordinal)


def stale_members(
    state: ClusterState, pods: list[PodInfo], naming: Naming, members: list[str], before_statefulset: bool
) -> list[Stale]:
    """Member pods running on a dropped dnode's volume (the table above)."""
    found = []
    for pod in pods:
        if pod.name not in members or pod.deleting or pod.phase != "Running":
            continue
        row = state.dnode_of(naming.fqdn(pod.name))
        if row is not None and row.note == STALE_NOTE and not row.is_online:
            found.append(Stale(pod.name, pod.ordinal, pod.uid, row))
        elif row is None and before_statefulset:
            found.append(Stale(pod.name, pod.ordinal, pod.uid, None))
    return found


def stale_refusal(stale: Stale, naming: Naming, templates: list[str]) -> str | None:
    """Why this one is not healed, with the steps, or None when it is."""
    if stale.ordinal > 0:
        return None
    pvcs = " ".join(f"{t}-{stale.pod}" for t in templates)
    return (
        f"refused: pod {stale.pod} runs on the data volume of a dnode that was dropped, and it is the first "
        f"dnode (every pod's firstEp): on a new volume it would start a second, empty cluster. Nothing was changed. "
        f"Fix: restore {pvcs} from a backup and restart the pod (kubectl -n {naming.namespace} delete pod "
        f"{stale.pod}), or rebuild the cluster from a backup"
    )


def announce(stale: Stale) -> str:
    """The progress line that names it."""
    what = (
        f"its dnode was dropped and the row `create dnode` made for it (dnode {stale.row.id}) says {STALE_NOTE!r}"
        if stale.row is not None
        else "its endpoint is not in the cluster: its dnode was dropped by an earlier scale-in"
    )
    return (
        f"{stale.pod} runs on the data volume of a dropped dnode ({what}), so it can never rejoin: replacing its "
        "volume; it joins as a new dnode"
    )
