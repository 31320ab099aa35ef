"""`verify: true` through the real engine: the step is a pulumi-command `local.Command` that runs after
ClusterMembership; its check execs the real taosBenchmark in a real TDengine pod through the real API server and
reads the result over a port-forward.

The pulumi-command plugin itself is the toolchain's stand-in (scripts/e2e/pulumi-command: the module proxy
serves no version of the real provider), implementing `command:local:Command` as pulumi-command 1.x documents.
"""

from __future__ import annotations

from tests.e2e.harness import NAMESPACE
from tests.e2e.real import STACK_RESOURCES, RealCluster

REAL = True
STACK = {
    **STACK_RESOURCES,
    "namespace": NAMESPACE,
    "storageClass": "standard",
    "replicas": "3",
    "verify": "true",
    "verifyTables": "4",
    "verifyRows": "5",
}


def test_up_runs_the_checks_and_turning_them_off_drops_the_dataset(e2e: RealCluster) -> None:
    e2e.project.init(STACK)
    run = e2e.project.up().check()
    assert "command:local:Command" in run.stdout and "tdengine-verify" in run.stdout
    assert e2e.plane.subresource_calls("exec", NAMESPACE) == 1  # taosBenchmark, once, in a pod
    password = e2e.project.outputs(show_secrets=True)["rootPassword"]
    assert e2e.tdengine.count("pulumi_verify.meters") == 20  # what the real taosBenchmark wrote
    assert "rows      ok    20 of 20 in pulumi_verify.meters" in run.output
    assert password not in run.output and password not in e2e.project.export()

    again = e2e.project.up().check()  # nothing changed: the step does not run again
    assert e2e.plane.subresource_calls("exec", NAMESPACE) == 1
    assert "tdengine-verify" not in again.stdout

    assert "pulumi_verify" in {r["name"] for r in e2e.tdengine.sql("show databases")}
    e2e.project.set("verify", "false")  # the step's delete drops the test database, the pods stay
    off = e2e.project.up().check()
    assert "verify: dropped database pulumi_verify" in off.output
    assert "pulumi_verify" not in {r["name"] for r in e2e.tdengine.sql("show databases")}
