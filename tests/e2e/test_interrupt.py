"""The Pulumi CLI stopped in the middle of a drain, by SIGINT (Ctrl-C) and by SIGKILL (a crash, a CI runner
killed), through the real engine, with real TDengine 3.3.7.5 in real pods: what the state holds afterwards, and
that the next `pulumi up` resumes from the cluster's state (waiting for the real `drop dnode` still moving vnodes
instead of sending another, or failing on TDengine's answers while it moves them) and converges without
shrinking the StatefulSet early or losing a row.

One cluster and one stack for the module: the second test grows the cluster the first one shrank.
"""

from __future__ import annotations

import json
import signal
import time

from tests.e2e.harness import NAMESPACE
from tests.e2e.pulumi_cli import interrupt_when
from tests.e2e.real import STACK_RESOURCES, RealCluster
from tests.e2e.watch import ApiWatcher

REAL = True
STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "3", **STACK_RESOURCES}
ROWS: dict[str, int] = {}
"""Rows written per super table, checked after every run."""
DROP = "tdengine-3: drop dnode"
"""The progress line printed as the drop is sent; a real drop of vnodes takes about 20 s (tdengine-admin.md §14)."""


def grow_to_four_with_data(e2e: RealCluster) -> int:
    """4 dnodes and a replica-3 database of 4 vgroups (12 vnodes over 4 dnodes: tdengine-3 holds 3)."""
    e2e.project.set("replicas", "4")
    e2e.project.up().check()
    e2e.tdengine.wait_healthy(4)
    name = f"db{len(e2e.project.runs)}"
    ROWS[f"{name}.meters"] = e2e.tdengine.create_database(name, replica=3, vgroups=4)
    dnode = e2e.dnode_ids().get("tdengine-3")
    assert dnode is not None and next(int(d["vnodes"]) for d in e2e.tdengine.dnodes() if d["id"] == dnode) > 0
    return dnode


def test_ctrl_c_in_the_middle_of_a_drain(e2e: RealCluster, watcher: ApiWatcher) -> None:
    e2e.project.init(STACK)
    e2e.project.up().check()
    dnode = grow_to_four_with_data(e2e)
    e2e.project.set("replicas", "3")
    proc = e2e.project.start("up", "--yes", "--skip-preview")
    lines = interrupt_when(proc, DROP, signal.SIGINT, group=True)
    output = "".join(lines)
    (e2e.workdir / "logs" / "interrupted-up-sigint.log").write_text(output)
    assert proc.returncode != 0, output
    # The engine waited for the drain it had started (a dynamic provider cannot be cancelled), recorded it,
    # and stopped before the StatefulSet: no pod left with data, and nothing is pending in the state.
    assert "tdengine-decommission updated" in output and "tdengine-sts updating" not in output, output
    assert e2e.sts_replicas() == 4 and "tdengine-3" not in e2e.dnode_ids()
    assert not json.loads(e2e.project.export())["deployment"].get("pending_operations")
    run = e2e.project.up().check()
    assert "tdengine-decommission updat" not in run.stdout  # already done: only the StatefulSet and membership
    assert DROP not in run.output  # never sent again
    assert e2e.sts_replicas() == 3 and "tdengine-3" not in e2e.dnode_ids()
    assert "delete PVC taosdata-tdengine-3" in run.output
    assert output.count(f"running [tdengine] {DROP} {dnode}") == 1  # its progress line (the summary repeats it)
    e2e.tdengine.assert_rows(ROWS)
    assert watcher.violations() == []


def test_sigkill_in_the_middle_of_a_drain(e2e: RealCluster, watcher: ApiWatcher) -> None:
    dnode = grow_to_four_with_data(e2e)
    e2e.project.set("replicas", "3")
    proc = e2e.project.start("up", "--yes", "--skip-preview")
    lines = interrupt_when(proc, f"{DROP} {dnode}", signal.SIGKILL, group=False, after=2.0)
    (e2e.workdir / "logs" / "interrupted-up-sigkill.log").write_text("".join(lines))
    assert e2e.sts_replicas() == 4
    status = {d["id"]: d["status"] for d in e2e.tdengine.dnodes()}.get(dnode, "gone")
    assert status != "ready", status  # the drop was sent, and TDengine goes on with it
    pending = json.loads(e2e.project.export())["deployment"]["pending_operations"]
    assert [(op["type"], op["resource"]["urn"].rsplit("::", 1)[1]) for op in pending] == [
        ("updating", "tdengine-decommission")
    ]
    # What the user meets next, step by step, each as the CLI itself says (README, "Interrupted runs"):
    locked = e2e.project.up()
    assert locked.code != 0 and "the stack is currently locked" in locked.output and "pulumi cancel" in locked.output
    e2e.project.pulumi("cancel", "--yes").check()
    runs = [e2e.project.up()]  # TDengine went on with the drop: this up waits for it instead of sending another
    if runs[0].code != 0:
        assert "pending operations" in runs[0].output, runs[0].output
        e2e.project.pulumi("refresh", "--yes", "--skip-preview").check()
        runs.append(e2e.project.up())
    runs[-1].check()
    resumed = "\n".join(r.output for r in runs)
    assert DROP not in resumed, resumed  # the drop in flight was waited for (or found done), never sent again
    deadline = time.monotonic() + 60
    while e2e.dnode_ids().get("tdengine-3") is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert e2e.sts_replicas() == 3 and e2e.dnode_ids().get("tdengine-3") is None
    assert "taosdata-tdengine-3" not in e2e.pvcs()
    e2e.tdengine.assert_rows(ROWS)
    assert watcher.violations() == []
