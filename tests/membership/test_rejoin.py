"""rejoin.py as a table: rows and pods in, which member pods run on a dropped dnode's volume out. No I/O."""

from __future__ import annotations

import pytest

from components.membership import rejoin
from components.tdengine.kube_types import PodInfo
from components.tdengine.naming import Naming
from components.tdengine.rows import ClusterState, Dnode

NAMING = Naming("tdengine", "taosd", "tdengine-test", "cluster.local", 6030)
MEMBERS = [f"tdengine-{i}" for i in range(5)]


def state(*rows: tuple[int, int, str, str]) -> ClusterState:
    """(ordinal, id, status, note) per dnode."""
    dnodes = tuple(Dnode(i, NAMING.endpoint(f"tdengine-{o}"), 0, 9, st, note) for o, i, st, note in rows)
    return ClusterState(dnodes=dnodes, mnodes=(), databases=(), transactions=())


def pod(ordinal: int, phase: str = "Running", deleting: bool = False) -> PodInfo:
    return PodInfo(f"tdengine-{ordinal}", ordinal, phase == "Running", phase, deleting, f"uid-{ordinal}")


HEALTHY = [(0, 1, "ready", ""), (1, 3, "ready", ""), (2, 2, "ready", ""), (3, 4, "ready", "")]

CASES = [
    ("all members", state(*HEALTHY), [pod(o) for o in range(4)], True, []),
    ("a drained pod still running", state(*HEALTHY), [pod(o) for o in range(5)], True, [("tdengine-4", None)]),
    ("after the StatefulSet: a new pod", state(*HEALTHY), [pod(o) for o in range(5)], False, []),
    (
        "create dnode met dnodeId not match",
        state(*HEALTHY, (4, 9, "offline", "dnodeId not match")),
        [pod(o) for o in range(5)],
        False,
        [("tdengine-4", 9)],
    ),
    ("a pod still starting", state(*HEALTHY), [*(pod(o) for o in range(4)), pod(4, "Pending")], True, []),
    ("a pod terminating", state(*HEALTHY), [*(pod(o) for o in range(4)), pod(4, deleting=True)], True, []),
    ("an offline member with its dnode", state(*HEALTHY[:3], (3, 4, "offline", "status msg timeout")),
     [pod(o) for o in range(4)], True, []),
]  # fmt: skip


@pytest.mark.parametrize(("state_", "pods", "before", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_which_member_pods_run_on_a_dropped_dnodes_volume(state_, pods, before, expected):
    found = rejoin.stale_members(state_, pods, NAMING, MEMBERS, before_statefulset=before)
    assert [(s.pod, s.row.id if s.row else None) for s in found] == expected


def test_live_members_leave_out_a_stale_row_and_a_drained_pod():
    s = state(*HEALTHY, (4, 9, "offline", "dnodeId not match"))
    assert rejoin.live_members(s, NAMING) == ["tdengine-0", "tdengine-1", "tdengine-2", "tdengine-3"]


def test_the_first_dnodes_pod_is_refused_with_the_steps_the_others_healed():
    first = rejoin.Stale("tdengine-0", 0, "uid-0", None)
    refusal = rejoin.stale_refusal(first, NAMING, ["taosdata", "taoslog"])
    assert refusal is not None and refusal.startswith("refused: pod tdengine-0 runs on the data volume")
    assert "start a second, empty cluster" in refusal and "Nothing was changed" in refusal
    assert "Fix: restore taosdata-tdengine-0 taoslog-tdengine-0 from a backup" in refusal
    assert rejoin.stale_refusal(rejoin.Stale("tdengine-4", 4, "uid-4", None), NAMING, ["taosdata"]) is None
