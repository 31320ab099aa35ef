"""The `verify: true` step under mocks (the Command as the program declares it), and that Command run for
real: its interpreter, command and environment, as registered, in a subprocess against the simulator
through the fake Kubernetes API server."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
from pulumi.runtime import rpc

from tests import harness
from tests.harness import ROOT, run_program, stack_config
from tests.sim import SimCluster, ops
from tests.sim.kube_api import FakeKubeApi

COMMAND = "command:local:Command"
MEMBERSHIP = "pulumi-python:dynamic/tdengine:ClusterMembership"
PW = "Tdengine-2025!"


def topology(*dnodes: tuple[str, int], roles: tuple[str, ...] = ("leader", "follower", "follower"), vnodes: int = 0):
    return {
        "dnodes": [
            {"pod": pod, "id": i, "endpoint": f"{pod}.taosd:6030", "status": "ready", "vnodes": vnodes}
            for pod, i in dnodes
        ],
        "mnodes": [
            {"id": i, "endpoint": f"{pod}.taosd:6030", "role": role, "status": "ready"}
            for (pod, i), role in zip(dnodes, roles, strict=False)
        ],
    }


THREE = (("tdengine-0", 1), ("tdengine-1", 3), ("tdengine-2", 2))


@pytest.fixture
def declared(monkeypatch):
    """run(config, topology) -> the registration of the Command (None without one), plus the raw requests."""
    requests: dict[str, Any] = {}

    class Mocks(harness.ProgramMocks):
        topology: dict | None = None

        def new_resource(self, args):
            rid, state = super().new_resource(args)
            if args.typ == MEMBERSHIP:
                state["topology"] = Mocks.topology
            return rid, state

    class Monitor(harness.RecordingMonitor):
        def RegisterResource(self, request):
            requests[request.name] = request
            return super().RegisterResource(request)

    monkeypatch.setattr(harness, "ProgramMocks", Mocks)
    monkeypatch.setattr(harness, "RecordingMonitor", Monitor)

    def run(settings: dict[str, str], topo: dict | None = None, secret_keys: tuple[str, ...] = ()):
        Mocks.topology = topo
        requests.clear()
        config = {**stack_config("dev"), **{f"tdengine:{k}": v for k, v in settings.items()}}
        monitor = run_program(config, secret_keys=secret_keys).monitor
        found = monitor.of_type(COMMAND)
        return (found[0] if found else None), monitor, dict(requests)

    return run


def plain_strings(value: Any) -> list[str]:
    """Every string in `value` outside a secret wrapper."""
    if rpc.is_rpc_secret(value):
        return []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *plain_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in plain_strings(v)]
    return [value] if isinstance(value, str) else []


def test_the_command_exists_only_when_verify_is_on(declared):
    off, monitor, _ = declared({})
    assert off is None and not monitor.of_type(COMMAND)
    on, monitor, requests = declared({"verify": "true"}, topology(*THREE))
    assert on is not None and on.name == "tdengine-verify"
    component = monitor.one("tdengine:index:Cluster")
    assert on.parent == component.urn
    assert monitor.one(MEMBERSHIP).urn in on.dependencies  # after the cluster is joined
    assert (on.inputs["create"], on.inputs["delete"]) == ("check", "drop")
    assert on.inputs["interpreter"][1:] == ["-m", "components.verify.step"]
    assert on.inputs["dir"] == str(ROOT)
    assert on.inputs["logging"] == "stderr" and on.inputs["addPreviousOutputInEnv"] is False
    assert set(on.additional_secret_outputs) == {"stdout", "stderr"}
    request = requests["tdengine-verify"]
    assert request.deleteBeforeReplace and "triggers[*]" in request.replaceOnChanges


def test_triggers_follow_the_membership_and_the_settings_not_leader_moves(declared):
    def triggers(settings: dict[str, str], topo: dict) -> list:
        command, _, _ = declared({"verify": "true", **settings}, topo)
        return command.inputs["triggers"]

    base = triggers({}, topology(*THREE))
    assert base[0] == [
        "tdengine-0=dnode 1",
        "tdengine-1=dnode 3",
        "tdengine-2=dnode 2",
        "mnode 1",
        "mnode 2",
        "mnode 3",
    ]
    assert base[1] == {"tables": 10, "rows": 100, "replica": 3} and base[2] == "tdengine/tdengine:3.3.7.5"
    # the same members with another leader and other vnode counts: no re-run
    assert triggers({}, topology(*THREE, roles=("follower", "leader", "follower"), vnodes=4)) == base
    # a fourth dnode, or a dnode that came back with a new id: re-run
    assert triggers({}, topology(*THREE, ("tdengine-3", 4)))[0] != base[0]
    assert triggers({}, topology(("tdengine-0", 1), ("tdengine-1", 3), ("tdengine-2", 5)))[0] != base[0]
    # the check's own settings, and the image: re-run
    assert triggers({"verifyRows": "500"}, topology(*THREE))[1] == {"tables": 10, "rows": 500, "replica": 3}
    assert triggers({"image": "tdengine/tdengine:3.3.7.0"}, topology(*THREE))[2] == "tdengine/tdengine:3.3.7.0"


def test_secrets_only_in_secret_environment_entries(declared):
    kubeconfig = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: tok-3141592653\n"
    settings = {"verify": "true", "rootPassword": PW, "kubeconfig": kubeconfig}
    command, _, _ = declared(settings, topology(*THREE), secret_keys=("tdengine:rootPassword", "tdengine:kubeconfig"))
    inputs = command.inputs
    assert rpc.is_rpc_secret(inputs["environment"])
    environment = rpc.unwrap_rpc_secret(inputs["environment"])
    assert environment["TDENGINE_ROOT_PASSWORD"] == PW and environment["TDENGINE_KUBECONFIG"] == kubeconfig
    shown = plain_strings({k: v for k, v in inputs.items() if k != "environment"})
    assert shown and not [s for s in shown if PW in s or "tok-3141592653" in s]
    settings_json = json.loads(environment["TDENGINE_VERIFY_SETTINGS"])
    assert PW not in environment["TDENGINE_VERIFY_SETTINGS"] and "rootPassword" not in settings_json
    assert settings_json["namespace"] == "tdengine-test" and settings_json["verifyTables"] == 10


def test_the_declared_command_runs_against_the_cluster(declared):
    """The registered interpreter + create/delete + environment, run as pulumi-command would run them."""
    with SimCluster(root_password=PW) as sim:
        sim.bootstrap(3)
        for ordinal in (1, 2):
            ops.create_mnode(sim.cluster, sim.dnode_id(ordinal))
        sim.wait_until(lambda s: sorted(m["role"] for m in s.mnodes) == ["follower", "follower", "leader"])
        host, port = sim.url.removeprefix("http://").rsplit(":", 1)
        with FakeKubeApi(sim.kube, "tdengine-test", "tdengine", ["taosdata"], forward_to=(host, int(port))) as api:
            settings = {"verify": "true", "rootPassword": PW, "kubeconfig": api.kubeconfig(), "verifyRows": "20"}
            command, _, _ = declared(settings, topology(*THREE), ("tdengine:rootPassword", "tdengine:kubeconfig"))
            inputs = command.inputs
            env = {"PATH": os.environ.get("PATH", ""), **rpc.unwrap_rpc_secret(inputs["environment"])}

            def run(action: str) -> subprocess.CompletedProcess:
                argv = [*inputs["interpreter"], inputs[action]]
                return subprocess.run(argv, cwd=inputs["dir"], env=env, capture_output=True, text=True, timeout=60)

            created = run("create")
            tables = dict(sim.cluster.dbs["pulumi_verify"].tables)
            deleted = run("delete")
            exec_urls = [path for method, path in api.requests if path.endswith("/exec")]
    assert created.returncode == 0, created.stderr
    summary = json.loads(created.stdout)
    assert summary == {"dnodes": 3, "exitCode": 0, "problems": [], "result": "ok", "rows": 200, "vgroups": 2}
    assert "rows      ok    200 of 200 in pulumi_verify.meters" in created.stderr
    assert len(tables) == 10 and sum(t.rows for t in tables.values()) == 200  # kept until the delete
    assert deleted.returncode == 0 and "dropped database pulumi_verify" in deleted.stderr
    assert "pulumi_verify" not in sim.cluster.dbs
    assert exec_urls == ["/api/v1/namespaces/tdengine-test/pods/tdengine-0/exec"]
    assert all(PW not in argv[2] for _, argv in sim.kube.execs)  # the exec request never carried it
    for output in (created.stdout, created.stderr, deleted.stdout, deleted.stderr):
        assert PW not in output and "token" not in output


def test_a_failing_check_fails_the_command_and_prints_why_without_secrets(declared):
    with SimCluster(root_password=PW) as sim:
        sim.bootstrap(3)  # one mnode only: the check names it
        host, port = sim.url.removeprefix("http://").rsplit(":", 1)
        with FakeKubeApi(sim.kube, "tdengine-test", "tdengine", ["taosdata"], forward_to=(host, int(port))) as api:
            settings = {"verify": "true", "rootPassword": PW, "kubeconfig": api.kubeconfig()}
            command, _, _ = declared(settings, topology(*THREE), ("tdengine:rootPassword", "tdengine:kubeconfig"))
            env = {"PATH": os.environ.get("PATH", ""), **rpc.unwrap_rpc_secret(command.inputs["environment"])}
            argv = [*command.inputs["interpreter"], "check"]
            done = subprocess.run(argv, cwd=command.inputs["dir"], env=env, capture_output=True, text=True, timeout=60)
            env["TDENGINE_ROOT_PASSWORD"] = "Not-the-password-9"
            refused = subprocess.run(
                argv, cwd=command.inputs["dir"], env=env, capture_output=True, text=True, timeout=60
            )
    assert done.returncode == 1
    assert "1 mnodes, expected 3 (pulumi up keeps them)" in done.stderr and '"result": "failed"' in done.stdout
    assert refused.returncode == 2 and "Authentication failure" in refused.stderr
    for output in (done.stdout, done.stderr, refused.stdout, refused.stderr):
        assert PW not in output and "Not-the-password-9" not in output and "fake-token" not in output
