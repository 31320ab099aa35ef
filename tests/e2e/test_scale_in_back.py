"""A scale-in that stopped half-way, taken back through the real Pulumi CLI, a real control plane and real
TDengine 3.3.7.5 in real pods.

The database is made while 4 dnodes run, then tdengine-4 joins empty. 5 -> 3 drops tdengine-4 at once (an
empty dnode's drop is immediate, tdengine-admin.md §15) and sends tdengine-3's drop, whose real vnode moves take
about 20 s; the CLI is killed then (a CI runner stopped, a laptop closed). The StatefulSet is still at 5,
tdengine-4's pod runs on a dropped dnode's volume and tdengine-3's drop goes on in TDengine, which cannot take it
back. The user changes their mind: `pulumi cancel`, and `replicas` back to 5. That alone does not reach the
membership resources: their state still holds the old five members, and their (offline) Diff sees no change.
`pulumi refresh` runs their Read, which writes the members the cluster has into the state; `pulumi preview`
then shows the change, and `pulumi up` replaces the dropped dnodes' volumes through the real StatefulSet
controller and adds them again as new dnodes. The API watcher sees no data-safety violation, and every row
written is still there.
"""

from __future__ import annotations

import signal

from tests.e2e.harness import NAMESPACE
from tests.e2e.pulumi_cli import interrupt_when
from tests.e2e.real import STACK_RESOURCES, RealCluster
from tests.e2e.watch import ApiWatcher

REAL = True
STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "4", **STACK_RESOURCES}


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


def test_a_failed_scale_in_is_taken_back_by_refresh_and_up(e2e: RealCluster, watcher: ApiWatcher) -> None:
    e2e.project.init(STACK)
    e2e.project.up().check()
    e2e.tdengine.wait_healthy(4)
    rows = e2e.tdengine.create_database("app", replica=3, vgroups=4)  # 12 vnodes on tdengine-0..3
    e2e.project.set("replicas", "5")
    e2e.project.up().check()
    e2e.tdengine.wait_healthy(5)
    vnodes = {d["endpoint"].split(".", 1)[0]: int(d["vnodes"]) for d in e2e.tdengine.dnodes()}
    assert vnodes["tdengine-4"] == 0 and vnodes["tdengine-3"] > 0, vnodes
    ids = e2e.dnode_ids()
    drained, dropping = ids["tdengine-4"], ids["tdengine-3"]
    volumes = e2e.pvcs()

    e2e.project.set("replicas", "3")
    proc = e2e.project.start("up", "--yes", "--skip-preview")
    lines = interrupt_when(proc, f"tdengine-3: drop dnode {dropping}", signal.SIGKILL, group=False, after=2.0)
    (e2e.workdir / "logs" / "interrupted-up.log").write_text("".join(lines))
    ids = e2e.dnode_ids()
    assert e2e.sts_replicas() == 5 and "tdengine-4" not in ids and ids.get("tdengine-3") == dropping, lines
    e2e.project.pulumi("cancel", "--yes").check()

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
    e2e.tdengine.wait_healthy(5)
    readded = e2e.dnode_ids()
    assert readded["tdengine-4"] > max(drained, dropping)  # a new dnode id
    assert e2e.pvcs()["taosdata-tdengine-4"] != volumes["taosdata-tdengine-4"]  # on a new volume
    assert readded["tdengine-3"] > max(drained, dropping)  # its drop could not be taken back: a new dnode
    assert e2e.pvcs()["taosdata-tdengine-3"] != volumes["taosdata-tdengine-3"]
    topology = e2e.project.outputs()["topology"]
    assert sorted(d["pod"] for d in topology["dnodes"]) == [f"tdengine-{i}" for i in range(5)]
    assert e2e.project.preview("--expect-no-changes").code == 0
    assert e2e.tdengine.count("app.meters") == rows
    assert watcher.violations() == []
