"""`KubernetesApi.exec_in_pod` / `delete_pod` (kube_types.PodOps) over real HTTP and WebSocket, against the
fake API server backed by the simulator's Kubernetes (taosBenchmark in a pod, a StatefulSet that recreates
a deleted pod)."""

from __future__ import annotations

import inspect
import threading
import time

import pytest

from components.tdengine.errors import ExecFailed, KubeError
from components.tdengine.kube import KubernetesApi
from components.tdengine.kube_exec import exit_code
from components.tdengine.kube_types import ExecResult, PodInfo, PodOps
from components.verify.bench import benchmark_command, benchmark_stdin
from tests.sim import SimCluster
from tests.sim.kube_api import FakeKubeApi

NS, STS = "tdengine-test", "tdengine"
PW = "Tdengine-2025!"


@pytest.fixture(scope="module")
def sim():
    with SimCluster(root_password=PW) as s:
        s.bootstrap(3)
        yield s


@pytest.fixture
def api(sim):
    with FakeKubeApi(sim.kube, NS, STS, ["taosdata"]) as server:
        yield server


@pytest.fixture
def kube(api) -> KubernetesApi:
    return KubernetesApi(api.kubeconfig())


def test_both_implementations_satisfy_pod_ops(kube, sim):
    for impl in (kube, sim.kube):
        ops: PodOps = impl
        for name in ("exec_in_pod", "delete_pod"):
            assert inspect.signature(getattr(type(ops), name)) == inspect.signature(getattr(PodOps, name)), name


def test_exec_runs_taosbenchmark_with_the_password_only_on_stdin(kube, api, sim):
    command = benchmark_command("pulumi_verify", 3, 4, 3)
    result = kube.exec_in_pod(NS, "tdengine-1", command, benchmark_stdin(PW), timeout=10)
    assert result.exit_code == 0 and result.stderr == ""
    assert "SUCC: Spent" in result.stdout and "insert rows: 12 with 1 thread(s) into pulumi_verify" in result.stdout
    with sim.cluster.lock:
        assert sum(t.rows for t in sim.cluster.dbs["pulumi_verify"].tables.values()) == 12
    # what reached the pod through the exec URL's `command` parameters: exactly our argv, no password
    assert sim.kube.execs[-1] == ("tdengine-1", command)
    assert ("GET", f"/api/v1/namespaces/{NS}/pods/tdengine-1/exec") in api.requests


def test_a_non_zero_exit_is_a_result_with_its_code_and_output(kube):
    wrong = kube.exec_in_pod(NS, "tdengine-0", benchmark_command("x", 1, 1, 1), benchmark_stdin("Wrong-1234"))
    assert wrong == ExecResult(
        255, wrong.stdout, "ERROR: failed to connect native localhost:6030, reason: Authentication failure\n"
    )
    unknown = kube.exec_in_pod(NS, "tdengine-0", ["taos", "-s", "show dnodes"])
    assert (unknown.exit_code, unknown.stderr) == (127, "sh: 1: taos: not found\n")


def test_a_status_without_an_exit_code_keeps_what_the_command_printed(kube, api, monkeypatch):
    monkeypatch.setattr("components.tdengine.kube.exit_code", lambda _status: "the runtime lost it")
    with pytest.raises(ExecFailed) as err:
        kube.exec_in_pod(NS, "tdengine-0", benchmark_command("x", 1, 1, 1), benchmark_stdin("Wrong-1234"))
    assert err.value.reason == "the runtime lost it" and "Authentication failure" in err.value.stderr


def test_exec_and_delete_on_a_missing_pod_are_404s(kube):
    with pytest.raises(KubeError) as err:
        kube.exec_in_pod(NS, "tdengine-7", ["true"])
    assert err.value.status == 404 and 'pods "tdengine-7" not found' in str(err.value)
    with pytest.raises(KubeError) as err:
        kube.delete_pod(NS, "tdengine-7")
    assert err.value.status == 404 and str(err.value).startswith("Kubernetes API: delete pod tdengine-test/tdengine-7")


def test_exec_in_a_stopped_container_fails_with_the_servers_reason(kube, sim):
    sim.kube.crash_pod(2)
    try:
        with pytest.raises(KubeError) as err:
            kube.exec_in_pod(NS, "tdengine-2", ["true"])
    finally:
        sim.kube.restart_pod(2)
    assert 'container "tdengine" in pod "tdengine-2" is not running' in str(err.value)
    sim.wait_until(lambda s: all(p.ready for p in s.pods) and s.dnode(sim.endpoint(2))["status"] == "ready")


def test_delete_pod_is_recreated_by_the_statefulset_and_rejoins(kube, sim):
    sim.kube.terminate_seconds = 0.1
    before = sim.dnode_id(1)
    kube.delete_pod(NS, "tdengine-1")
    pod = next(p for p in sim.kube.pods() if p.name == "tdengine-1")
    assert pod.deleting and not pod.ready
    snap = sim.wait_until(lambda s: all(p.ready and not p.deleting for p in s.pods) and len(s.pods) == 3)
    snap = sim.wait_until(lambda s: s.dnode(sim.endpoint(1))["status"] == "ready")
    assert snap.dnode(sim.endpoint(1))["id"] == before  # same PVC, same dnode
    assert sim.violations == []


class SlowPod:
    """A backend whose command never finishes in time."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def list_pods(self, namespace, statefulset):
        return [PodInfo("tdengine-0", 0, ready=True, phase="Running")]

    def exec_in_pod(self, namespace, pod, command, stdin="", timeout=600.0):
        self.release.wait(5)
        return ExecResult(0, "", "")


def test_a_command_that_does_not_exit_in_time_is_an_error():
    backend = SlowPod()
    with FakeKubeApi(backend, NS, STS, ["taosdata"]) as server:  # type: ignore[arg-type]
        start = time.monotonic()
        threading.Timer(0.6, backend.release.set).start()  # so the stream closes soon after the client gives up
        with pytest.raises(ExecFailed) as err:
            KubernetesApi(server.kubeconfig()).exec_in_pod(NS, "tdengine-0", ["sleep", "60"], timeout=0.3)
        backend.release.set()
    assert "the command did not exit within 0.3s" in str(err.value)
    assert time.monotonic() - start < 5


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ('{"metadata":{},"status":"Success"}', 0),
        (
            '{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
            3,
        ),
        ('{"status":"Failure","message":"container not found","reason":"InternalError"}', "container not found"),
        (  # kwok v0.8.0: the runtime's os/exec error, no ExitCode cause
            '{"status":"Failure","reason":"InternalError","code":500,"message":"Internal error occurred: error '
            'executing command in container: cmd wait: sh -c exec taosBenchmark -y: exit status 255"}',
            255,
        ),
        ("", "the exec stream closed without an exit status"),
        ("not json", "the exec stream closed without an exit status"),
    ],
)
def test_exit_code_comes_from_the_closing_status(status, expected):
    assert exit_code(status) == expected
