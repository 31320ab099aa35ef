"""Pods that survive a failover, on real TDengine 3.3.7.5 in real pods on the real node.

The official image's start-up exits, and so takes its pod's taosd down, when a cluster-level statement fails at
start (`create snode on dnode 1` while the mnodes elect): with two pods in that loop a real cluster never elected
again. The program's start-up (components/startup.py) retries those statements in the background. Each drill here
is followed by the cluster's own word on its health (3 ready dnodes, 3 mnodes with one leader, every vgroup with
exactly one leader and every member leader or follower), every acknowledged row still there, and no container
restarted by its own start-up:
- `verify --failover` (the operator CLI): the mnode leader's pod deleted, FAILOVER_DRILLS times in a row;
- a cold restart: every pod deleted at once, COLD_RESTARTS times;
- a pod started while the mnodes cannot elect (the other two taosd frozen by SIGSTOP) keeps running.
The first creation of the module's cluster (`podManagementPolicy: Parallel`, a generated root password) must also
restart no container: the official start-up restarted pods 1 and/or 2 there (`create dnode` with the new password
before pod 0 had set it; docs/e2e.md has the comparison).
`TDENGINE_FAILOVER_DRILLS=10 TDENGINE_COLD_RESTARTS=3` runs the issue's full series (docs/e2e.md has its figures);
each drill's times go to `<workdir>/drills.json`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

from tests.e2e.controlplane import E2E_DIR
from tests.e2e.harness import NAMESPACE, STATEFULSET
from tests.e2e.real import STACK_RESOURCES, RealCluster

REAL = True
STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "3", **STACK_RESOURCES}
FAILOVER_DRILLS = int(os.environ.get("TDENGINE_FAILOVER_DRILLS", "1"))
"""1 in every run; `TDENGINE_FAILOVER_DRILLS=10` runs the issue's series (docs/e2e.md: 10 of 10 after the deleted pod
was made to stay while its name is needed; before, 2 of 13 never recovered: a new mnode leader that could not
resolve the deleted pod's name stayed restoring). One drill of a run beside a cold Go build failed on a transient
answer to verify's count, now read again (components/verify/reads.py); CI makes one drill."""
COLD_RESTARTS = int(os.environ.get("TDENGINE_COLD_RESTARTS", "1"))
DRILLS: list[dict[str, Any]] = []
ROWS = {"app.meters": 0}


def operator(e2e: RealCluster, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return e2e.project.operator(*args, timeout=timeout)


def record(e2e: RealCluster, drill: dict[str, Any]) -> None:
    DRILLS.append(drill)
    (e2e.workdir / "drills.json").write_text(json.dumps(DRILLS, indent=2))


def assert_whole(e2e: RealCluster, timeout: float = 180) -> float:
    """Wait until the cluster says it is whole; then check rows and restarts. Returns the seconds waited."""
    t0 = time.monotonic()
    e2e.tdengine.wait_healthy(3, timeout=timeout)
    deadline = time.monotonic() + timeout
    while True:
        vgroups = e2e.tdengine.vgroups()
        unsettled = [v["vgroup_id"] for v in vgroups if not _settled(v)]
        if not unsettled:
            break
        assert time.monotonic() < deadline, f"vgroups {unsettled} not settled: {vgroups}"
        time.sleep(0.5)
    waited = time.monotonic() - t0
    e2e.tdengine.assert_rows(ROWS)
    assert e2e.pod_restarts() == {f"tdengine-{i}": 0 for i in range(3)}, e2e.describe_pods()
    return waited


def _settled(vgroup: dict[str, Any]) -> bool:
    statuses = [vgroup.get(f"v{i}_status") for i in range(1, 5) if vgroup.get(f"v{i}_dnode")]
    return statuses.count("leader") == 1 and all(s in ("leader", "follower") for s in statuses)


def test_a_new_cluster_with_data(e2e: RealCluster) -> None:
    e2e.project.init(STACK)
    e2e.project.up().check()
    assert e2e.pod_restarts() == {f"tdengine-{i}": 0 for i in range(3)}, e2e.describe_pods()
    ROWS["app.meters"] = e2e.tdengine.create_database("app", replica=3, vgroups=3)
    assert_whole(e2e)


def test_failover_drills_in_a_row(e2e: RealCluster) -> None:
    root = str(E2E_DIR)
    for n in range(FAILOVER_DRILLS):
        try:
            done = operator(e2e, "verify", "--stack", "e2e", "--failover", "--json", "--pulumi-root", root)
            assert done.returncode in (0, 5), f"drill {n + 1}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
            summary = json.loads(done.stdout)
            failover = summary["failover"]
            assert failover["outcome"] in ("leader moved", "back before any election"), summary
            whole = assert_whole(e2e)
        except AssertionError:
            keep_pod_logs(e2e, f"drill-{n + 1}")  # the survivors' taosd logs go with their pods
            raise
        record(e2e, {"drill": "failover", "n": n + 1, **failover, "wholeAfterVerify": round(whole, 2)})


def keep_pod_logs(e2e: RealCluster, prefix: str) -> None:
    """Every pod's container log (and the one before a restart) into the work directory's logs."""
    for pod in e2e.plane.get("pods", "-n", NAMESPACE)["items"]:
        name = pod["metadata"]["name"]
        for extra in ((), ("--previous",)):
            text = e2e.plane.kubectl("logs", name, "-n", NAMESPACE, *extra, check=False)
            (e2e.workdir / "logs" / f"{prefix}-{name}{''.join(extra)}.log").write_text(text)


def test_cold_restarts(e2e: RealCluster) -> None:
    for n in range(COLD_RESTARTS):
        t0 = time.monotonic()
        before = {p["metadata"]["uid"] for p in e2e.plane.get("pods", "-n", NAMESPACE)["items"]}
        e2e.plane.kubectl("delete", "pods", "-n", NAMESPACE, "-l", f"app={STATEFULSET}", "--wait=false")
        e2e.plane.wait("every pod replaced", lambda gone=before: _all_replaced(e2e, gone), 120)
        assert_whole(e2e, timeout=300)
        record(e2e, {"drill": "cold restart", "n": n + 1, "whole": round(time.monotonic() - t0, 2)})


def _all_replaced(e2e: RealCluster, before: set[str]) -> bool:
    """Three pods running, none of them one that was deleted."""
    pods = e2e.plane.get("pods", "-n", NAMESPACE)["items"]
    running = [p for p in pods if p["status"].get("phase") == "Running" and p["metadata"]["uid"] not in before]
    return len(running) == 3 and len(pods) == 3


def freeze(e2e: RealCluster, pods: list[str], signal: str) -> None:
    for pod in pods:
        e2e.plane.kubectl("exec", "-n", NAMESPACE, pod, "--", "pkill", f"-{signal}", "-x", "taosd")


def restart_while_the_mnodes_cannot_elect(e2e: RealCluster, watch_seconds: float = 45) -> int:
    """Freeze taosd in pods 1 and 2, delete pod 0, watch its container for `watch_seconds`, thaw. Returns how often
    pod 0's container restarted meanwhile."""
    freeze(e2e, ["tdengine-1", "tdengine-2"], "STOP")
    try:
        old = e2e.plane.get("pod", "tdengine-0", "-n", NAMESPACE)["metadata"]["uid"]
        e2e.plane.kubectl("delete", "pod", "tdengine-0", "-n", NAMESPACE, "--wait=false")
        e2e.plane.wait(
            "a new tdengine-0 running",
            lambda: (
                (p := e2e.plane.get("pod", "tdengine-0", "-n", NAMESPACE))["metadata"]["uid"] != old
                and p["status"].get("phase") == "Running"
            ),
            120,
        )
        time.sleep(watch_seconds)
        return e2e.pod_restarts()["tdengine-0"]
    finally:
        freeze(e2e, ["tdengine-1", "tdengine-2"], "CONT")


def test_a_pod_started_while_the_mnodes_cannot_elect_keeps_running(e2e: RealCluster) -> None:
    restarts = restart_while_the_mnodes_cannot_elect(e2e)
    log = e2e.plane.kubectl("logs", "tdengine-0", "-n", NAMESPACE, check=False)
    assert restarts == 0, log
    assert "tdengine-start" in log and "starting taosd" in log
    assert_whole(e2e)
