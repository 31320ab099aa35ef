"""`verify: true` through the real engine: the step is a pulumi-command `local.Command` that runs after
ClusterMembership; its check execs taosBenchmark in a pod through the real API server (kwok runs it locally:
tests/e2e/bin/taosBenchmark hands it to the simulator's emulation) and reads the result over a port-forward.

The pulumi-command plugin itself is the toolchain's stand-in (scripts/e2e/pulumi-command: the module proxy
serves no version of the real provider), implementing `command:local:Command` as pulumi-command 1.x documents.
"""

from __future__ import annotations

from tests.e2e.harness import NAMESPACE, E2ECluster

STACK = {
    "namespace": NAMESPACE,
    "storageClass": "standard",
    "replicas": "3",
    "verify": "true",
    "verifyTables": "4",
    "verifyRows": "5",
}


def test_up_runs_the_checks_and_destroy_drops_the_dataset(e2e: E2ECluster) -> None:
    e2e.project.init(STACK)
    run = e2e.project.up().check()
    assert "command:local:Command" in run.stdout and "tdengine-verify" in run.stdout
    calls = e2e.exec_calls()
    assert len(calls) == 1 and calls[0][:6] == ["-y", "-I", "stmt", "-d", "pulumi_verify", "-t"], calls
    password = e2e.project.outputs(show_secrets=True)["rootPassword"]
    assert e2e.sql(password, "select count(*) from pulumi_verify.meters") == [[20]]
    assert "rows      ok    20 of 20 in pulumi_verify.meters" in run.output
    assert password not in run.output and password not in e2e.project.export()

    again = e2e.project.up().check()  # nothing changed: the step does not run again
    assert len(e2e.exec_calls()) == 1
    assert "tdengine-verify" not in again.stdout

    e2e.project.pulumi("destroy", "--yes", "--skip-preview").check()  # its delete drops the test database
    assert "drop database if exists pulumi_verify" in e2e.sim.statements()
