"""A scale-in that stopped half-way, taken back through the real Pulumi CLI and a real control plane.

5 -> 3 drains tdengine-4, then TDengine refuses the drop of tdengine-3 (a simulator fault: 979, a conflicting
transaction), so `pulumi up` fails with the StatefulSet still at 5 and tdengine-4's pod on a dropped dnode's
volume. Setting `replicas` back to 5 alone does not reach the membership resources: their state still holds the
old five members, and their (offline) Diff sees no change (ClusterChange, which recorded the failed run's 3,
previews a scale-out it leaves to them). `pulumi refresh` runs their Read, which writes the
members the cluster has (tdengine-0..3) into the state; `pulumi preview` then shows the change, and `pulumi up`
replaces tdengine-4's stale volume through the real StatefulSet controller and re-adds it as a new dnode. The
API watcher and the simulator's recorder see no data-safety violation.
"""

from __future__ import annotations

from tests.e2e.harness import NAMESPACE, E2ECluster
from tests.e2e.watch import ApiWatcher

STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "5"}
CLUSTER_OPTIONS = {"migration_seconds": 0.3}


MEMBERSHIP_UPDATES = {
    "tdengine:DnodeDecommission tdengine-decommission",
    "tdengine:ClusterMembership tdengine-membership",
}


def updated(preview: str) -> set[str]:
    """The resources a preview's lines (` ~  <type> <name> update [diff: ...]`) say it updates."""
    found = set()
    for line in preview.splitlines():
        words = line.split()
        if len(words) >= 4 and words[0] == "~" and words[3] == "update":
            found.add(f"{words[1].rsplit('/', 1)[-1]} {words[2]}")
    return found


def test_a_failed_scale_in_is_taken_back_by_refresh_and_up(e2e: E2ECluster, watcher: ApiWatcher) -> None:
    e2e.project.init(STACK)
    e2e.project.up().check()
    e2e.sim.wait_until(lambda s: sum(d["status"] == "ready" for d in s.dnodes) == 5, timeout=60)
    e2e.sim.create_database("app", replica=1, vgroups=10)  # vnodes on every dnode: each drain moves some
    drained, refused = e2e.dnode_ids().get("tdengine-4"), e2e.dnode_ids().get("tdengine-3")
    assert drained is not None and refused is not None
    stale_volume = e2e.pvcs()["taosdata-tdengine-4"]

    e2e.sim.faults.sql_error(979, pattern=rf"^drop dnode {refused}$")
    e2e.project.set("replicas", "3")
    failed = e2e.project.up()
    assert failed.code != 0 and "Conflict transaction not completed" in failed.output, failed.output
    assert "`pulumi refresh`, set replicas back" in failed.output  # the error names the way back
    ids = e2e.dnode_ids()
    assert e2e.sts_replicas() == 5 and "tdengine-4" not in ids and ids.get("tdengine-3") == refused
    e2e.sim.faults.clear()

    e2e.project.set("replicas", "5")
    unchanged = e2e.project.preview().check().stdout  # without a refresh both resources' state says 5 already
    assert MEMBERSHIP_UPDATES.isdisjoint(updated(unchanged)), unchanged

    refresh = e2e.project.pulumi("refresh", "--yes", "--skip-preview").check()
    assert "2 updated" in refresh.stdout, refresh.stdout  # the two membership resources' Read
    preview = e2e.project.preview("--diff").check()
    assert MEMBERSHIP_UPDATES <= updated(e2e.project.preview().check().stdout)
    assert "tdengine-4" in preview.stdout and "members" in preview.stdout, preview.stdout

    up = e2e.project.up().check()
    assert "tdengine-4 runs on the data volume of a dropped dnode" in up.output, up.output
    e2e.sim.wait_until(lambda s: sum(d["status"] == "ready" for d in s.dnodes) == 5, timeout=60)
    readded = e2e.dnode_ids().get("tdengine-4")
    assert readded is not None and readded > max(drained, refused)  # a new dnode id
    assert e2e.pvcs()["taosdata-tdengine-4"] != stale_volume  # on a new volume
    topology = e2e.project.outputs()["topology"]
    assert sorted(d["pod"] for d in topology["dnodes"]) == [f"tdengine-{i}" for i in range(5)]
    assert e2e.project.preview("--expect-no-changes").code == 0
    assert watcher.violations() == [] and e2e.sim.violations == []
