"""Upgrading a stack: a cluster deployed by the previous release goes to this checkout's program with `pulumi up`
alone, through the real Pulumi CLI, a real control plane and real TDengine 3.3.7.5 in real pods.

The previous release is exported from git (`PREVIOUS_RELEASE`, the commit of its tag) into the test's work
directory, and the project runs it first: `pulumi up` of 4 dnodes, a replica-3 database written. Then the project
runs this checkout's program on the same stack and state. That `up` may update resources' inputs, but must not
create, replace or delete any resource (a deleted DnodeDecommission with deleteDataOnDestroy deletes every PVC),
restart a pod, replace a volume, or send a statement that changes the cluster. After it the stack has no
changes left, and a scale-in and a rolling change work under the new program, with every row still there.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.controlplane import ROOT
from tests.e2e.harness import NAMESPACE
from tests.e2e.real import STACK_RESOURCES, RealCluster
from tests.e2e.watch import ApiWatcher

REAL = True
PREVIOUS_RELEASE = "71d2c9b"
"""The commit of the tag v2026.12.07: the release a stack may have been deployed with before this one."""
STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "4", **STACK_RESOURCES}
WRITES = re.compile(r"\b(create dnode|drop dnode|create mnode|drop mnode|alter user|alter dnode|redistribute vgroup)\b")
"""Statements that change the cluster, as the program's progress lines announce them."""


def export_release(commit: str, into: Path) -> Path:
    """The program as `commit` had it: `git archive` of the checkout's history."""
    into.mkdir(parents=True, exist_ok=True)
    found = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, check=False)
    assert found.returncode == 0, (
        f"commit {commit} (the previous release) is not in this clone's history; a shallow clone lacks it. "
        "Fix: git fetch --unshallow"
    )
    archive = subprocess.run(["git", "archive", commit, "Pulumi.yaml", "__main__.py", "requirements.txt",
                              "components"], cwd=ROOT, capture_output=True, check=True)  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def cluster_state(e2e: RealCluster) -> dict[str, Any]:
    """What an upgrade must leave as it was: the pods (uid, restarts), the volumes, the dnodes and mnodes."""
    pods = e2e.plane.get("pods", "-n", NAMESPACE)["items"]
    return {
        "pods": {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods},
        "restarts": e2e.pod_restarts(),
        "volumes": e2e.pvcs(),
        "dnodes": e2e.dnode_ids(),
        "mnodes": sorted(m["endpoint"] for m in e2e.tdengine.mnodes()),
    }


def engine_summary(output: str) -> str:
    """The `Resources:` block an `up` ends with."""
    return output.rsplit("Resources:", 1)[-1].split("Duration:", 1)[0]


def test_a_stack_of_the_previous_release_upgrades_with_pulumi_up_alone(e2e: RealCluster, watcher: ApiWatcher) -> None:
    previous = export_release(PREVIOUS_RELEASE, e2e.workdir / "previous-release")
    e2e.project.use_program(previous)
    e2e.project.init(STACK)
    e2e.project.up().check()
    e2e.tdengine.wait_healthy(4)
    rows = e2e.tdengine.create_database("app", replica=3, vgroups=4)
    before = cluster_state(e2e)

    e2e.project.use_program(ROOT)
    preview = e2e.project.preview("--diff").check()
    up = e2e.project.up().check()
    summary = engine_summary(up.stdout)
    assert not re.search(r"\b(created|deleted|replaced)\b", summary), f"{summary}\n(preview:\n{preview.stdout})"
    assert not WRITES.search(up.output), up.output
    e2e.tdengine.wait_healthy(4)
    assert cluster_state(e2e) == before
    assert e2e.project.preview("--expect-no-changes").code == 0

    e2e.project.set("replicas", "3")  # a scale-in under the new program
    e2e.project.up().check()
    e2e.tdengine.wait_healthy(3)
    assert sorted(e2e.dnode_ids()) == ["tdengine-0", "tdengine-1", "tdengine-2"]
    assert "taosdata-tdengine-3" not in e2e.pvcs()

    kept = cluster_state(e2e)
    e2e.project.set("cpuRequest", "120m")  # a rolling change under the new program
    roll = e2e.project.up().check()
    assert "rolling restart done" in roll.output and "cpuRequest 100m -> 120m" in roll.output, roll.output
    e2e.tdengine.wait_healthy(3)
    rolled = cluster_state(e2e)
    assert all(rolled["pods"][p] != kept["pods"][p] for p in kept["pods"]), (kept, rolled)  # each pod restarted
    assert rolled["volumes"] == kept["volumes"] and rolled["dnodes"] == kept["dnodes"]
    assert e2e.tdengine.count("app.meters") == rows
    assert watcher.violations() == []
