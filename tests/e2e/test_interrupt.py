"""The Pulumi CLI stopped in the middle of a drain, by SIGINT (Ctrl-C) and by SIGKILL (a crash, a CI runner
killed), through the real engine: what the state holds afterwards, and that the next `pulumi up` resumes from
the cluster's state and converges without dropping anything twice or shrinking the StatefulSet early.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

from tests.e2e.harness import NAMESPACE, E2ECluster
from tests.e2e.procs import end_session
from tests.e2e.watch import ApiWatcher

STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "4"}
CLUSTER_OPTIONS = {"migration_seconds": 2.0}
"""Slow vnode copies: a drain of tdengine-3 takes several seconds, long enough to interrupt."""


def interrupt_when(proc: subprocess.Popen[str], marker: str, sig: int, group: bool) -> list[str]:
    """Read the CLI's output; at the first line containing `marker`, send `sig` (to the CLI alone, or to its
    process group as a terminal's Ctrl-C does). Returns every line, until the CLI has exited."""
    lines: list[str] = []
    sent = threading.Event()
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if marker in line and not sent.is_set():
            sent.set()
            if group:
                os.killpg(proc.pid, sig)
            else:
                os.kill(proc.pid, sig)
    proc.wait(timeout=300)
    end_session(proc.pid)  # what it left (after a SIGKILL, its plugins: each in a process group of its own)
    assert sent.is_set(), f"never saw {marker!r}:\n{''.join(lines)}"
    return lines


def grow_to_four_with_data(e2e: E2ECluster) -> int:
    e2e.project.set("replicas", "4")
    e2e.project.up().check()
    e2e.sim.wait_until(lambda s: len(s.dnodes) == 4, timeout=30)
    name = f"db{len(e2e.project.runs)}"
    e2e.sim.create_database(name, replica=3, vgroups=4)  # 12 vnodes over 4 dnodes: tdengine-3 holds some
    dnode = e2e.dnode_ids().get("tdengine-3")
    assert dnode is not None and next(d["vnodes"] for d in e2e.sim.dnodes() if d["id"] == dnode) > 0
    return dnode


def test_ctrl_c_in_the_middle_of_a_drain(e2e: E2ECluster, watcher: ApiWatcher) -> None:
    e2e.project.init(STACK)
    dnode = grow_to_four_with_data(e2e)
    e2e.project.set("replicas", "3")
    proc = e2e.project.start("up", "--yes", "--skip-preview")
    lines = interrupt_when(proc, "tdengine-3: drop dnode", signal.SIGINT, group=True)
    output = "".join(lines)
    (e2e.workdir / "logs" / "interrupted-up-sigint.log").write_text(output)
    assert proc.returncode != 0, output
    # The engine waited for the drain it had started (a dynamic provider cannot be cancelled), recorded it,
    # and stopped before the StatefulSet: no pod left with data, and nothing is pending in the state.
    assert "tdengine-decommission updated" in output and "tdengine-sts updating" not in output, output
    assert e2e.sts_replicas() == 4
    assert e2e.sim.mutations().count(f"drop dnode {dnode}") == 1
    assert not json.loads(e2e.project.export())["deployment"].get("pending_operations")
    run = e2e.project.up().check()
    assert "tdengine-decommission updat" not in run.stdout  # already done: only the StatefulSet and membership
    assert e2e.sts_replicas() == 3 and e2e.dnode_ids().get("tdengine-3") is None
    assert e2e.sim.mutations().count(f"drop dnode {dnode}") == 1  # never sent again
    assert "delete PVC taosdata-tdengine-3" in run.output
    assert watcher.violations() == [] and e2e.sim.violations == []


def test_sigkill_in_the_middle_of_a_drain(e2e: E2ECluster, watcher: ApiWatcher) -> None:
    dnode = grow_to_four_with_data(e2e)
    e2e.project.set("replicas", "3")
    proc = e2e.project.start("up", "--yes", "--skip-preview")
    lines = interrupt_when(proc, "tdengine-3: drop dnode", signal.SIGKILL, group=False)
    (e2e.workdir / "logs" / "interrupted-up-sigkill.log").write_text("".join(lines))
    assert e2e.sts_replicas() == 4
    pending = json.loads(e2e.project.export())["deployment"]["pending_operations"]
    assert [(op["type"], op["resource"]["urn"].rsplit("::", 1)[1]) for op in pending] == [
        ("updating", "tdengine-decommission")
    ]
    # What the user meets next, step by step, each as the CLI itself says (README, "Interrupted runs"):
    locked = e2e.project.up()
    assert locked.code != 0 and "the stack is currently locked" in locked.output and "pulumi cancel" in locked.output
    e2e.project.pulumi("cancel", "--yes").check()
    run = e2e.project.up()  # TDengine went on with the drop: this up waits for it instead of sending another
    if run.code != 0:
        assert "pending operations" in run.output, run.output
        e2e.project.pulumi("refresh", "--yes", "--skip-preview").check()
        run = e2e.project.up()
    run.check()
    deadline = time.monotonic() + 60
    while e2e.dnode_ids().get("tdengine-3") is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert e2e.sts_replicas() == 3 and e2e.dnode_ids().get("tdengine-3") is None
    assert e2e.sim.mutations().count(f"drop dnode {dnode}") == 1
    assert watcher.violations() == [] and e2e.sim.violations == []
