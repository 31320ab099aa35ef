"""`KubernetesApi` against the fake API server in `tests/sim/kube_api.py`, over real HTTP and WebSocket.

Over 300 lines: every KubeOps call over real HTTP/WebSocket, with the failure each must name.
"""

from __future__ import annotations

import json
import pickle
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from components.tdengine.errors import KubeError
from components.tdengine.kube import KubernetesApi
from components.tdengine.kube_types import KubeOps, PodInfo, PvcInfo
from tests.sim.kube_api import FakeKubeApi, kubeconfig_for

NS, STS, TEMPLATES = "tdengine", "tdengine", ["taosdata", "taoslog"]
TOKEN = "s3cr3t-token-value"
PODS_PATH = f"/api/v1/namespaces/{NS}/pods"
PVCS_PATH = f"/api/v1/namespaces/{NS}/persistentvolumeclaims"


class RawStore:
    """A KubeOps backend that returns everything it holds, so filtering is left to `KubernetesApi`."""

    def __init__(self) -> None:
        self.pods = [
            PodInfo("tdengine-2", 2, ready=True, phase="Running"),
            PodInfo("tdengine-10", 10, ready=True, phase="Running"),
            PodInfo("tdengine-0", 0, ready=True, phase="Running"),
            PodInfo("tdengine-1", 1, ready=False, phase="Pending"),
            PodInfo("tdengine-3", 3, ready=True, phase="Running", deleting=True),
            PodInfo("other-0", 0, ready=True, phase="Running"),
            PodInfo("tdengine-web-0", 0, ready=True, phase="Running"),
        ]
        self.pvcs = [
            PvcInfo("taoslog-tdengine-1", "taoslog", 1),
            PvcInfo("taosdata-tdengine-1", "taosdata", 1),
            PvcInfo("taosdata-tdengine-0", "taosdata", 0),
            PvcInfo("taoslog-tdengine-0", "taoslog", 0),
            PvcInfo("data-other-0", "data", 0),
            PvcInfo("taosdata-tdengine-web-0", "taosdata", 0),
        ]
        self.deleted: list[str] = []

    def list_pods(self, namespace: str, statefulset: str) -> list[PodInfo]:
        return list(self.pods)

    def list_pvcs(self, namespace: str, statefulset: str, templates: list[str]) -> list[PvcInfo]:
        return list(self.pvcs)

    def delete_pvc(self, namespace: str, name: str) -> None:
        self.deleted.append(name)
        self.pvcs = [p for p in self.pvcs if p.name != name]

    def port_forward(self, namespace: str, pod: str, port: int) -> AbstractContextManager[str]:
        raise NotImplementedError


class Echo(BaseHTTPRequestHandler):
    """The port-forward target: answers `<pod-label> <method> <path> <body>`."""

    label = "target"

    def do_GET(self) -> None:
        self._answer(b"")

    def do_POST(self) -> None:
        self._answer(self.rfile.read(int(self.headers["Content-Length"])))

    def _answer(self, body: bytes) -> None:
        data = f"{self.label} {self.command} {self.path} ".encode() + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def store() -> RawStore:
    return RawStore()


@pytest.fixture
def target() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake(store: RawStore, target: ThreadingHTTPServer) -> Iterator[FakeKubeApi]:
    forward_to = (target.server_address[0], target.server_address[1])
    with FakeKubeApi(store, NS, STS, TEMPLATES, token=TOKEN, forward_to=forward_to) as server:  # type: ignore[arg-type]
        yield server


@pytest.fixture
def kube(fake: FakeKubeApi) -> KubernetesApi:
    return KubernetesApi(fake.kubeconfig())


def test_satisfies_the_protocol(kube: KubernetesApi) -> None:
    ops: KubeOps = kube
    assert ops is kube


def test_list_pods_filters_sorts_and_reads_state(kube: KubernetesApi, fake: FakeKubeApi) -> None:
    pods = kube.list_pods(NS, STS)
    assert pods == [
        PodInfo("tdengine-0", 0, ready=True, phase="Running", uid="uid-tdengine-0"),
        PodInfo("tdengine-1", 1, ready=False, phase="Pending", uid="uid-tdengine-1"),
        PodInfo("tdengine-2", 2, ready=True, phase="Running", uid="uid-tdengine-2"),
        PodInfo("tdengine-3", 3, ready=True, phase="Running", deleting=True, uid="uid-tdengine-3"),
        PodInfo("tdengine-10", 10, ready=True, phase="Running", uid="uid-tdengine-10"),
    ]
    assert fake.requests == [("GET", PODS_PATH)]


def test_list_pvcs_filters_by_statefulset_and_template_and_sorts(kube: KubernetesApi) -> None:
    assert kube.list_pvcs(NS, STS, TEMPLATES) == [
        PvcInfo("taosdata-tdengine-0", "taosdata", 0),
        PvcInfo("taoslog-tdengine-0", "taoslog", 0),
        PvcInfo("taosdata-tdengine-1", "taosdata", 1),
        PvcInfo("taoslog-tdengine-1", "taoslog", 1),
    ]
    assert [p.name for p in kube.list_pvcs(NS, STS, ["taoslog"])] == ["taoslog-tdengine-0", "taoslog-tdengine-1"]


def test_other_namespace_is_empty(kube: KubernetesApi) -> None:
    assert kube.list_pods("elsewhere", STS) == []
    assert kube.list_pvcs("elsewhere", STS, TEMPLATES) == []


def test_delete_pvc_then_again_is_fine(kube: KubernetesApi, store: RawStore, fake: FakeKubeApi) -> None:
    kube.delete_pvc(NS, "taosdata-tdengine-1")
    kube.delete_pvc(NS, "taosdata-tdengine-1")  # now a 404: not an error
    assert store.deleted == ["taosdata-tdengine-1"]
    assert fake.requests == [("DELETE", f"{PVCS_PATH}/taosdata-tdengine-1")] * 2
    assert "taosdata-tdengine-1" not in [p.name for p in kube.list_pvcs(NS, STS, TEMPLATES)]


def test_forbidden_raises_kube_error_naming_namespace_without_token(kube: KubernetesApi, fake: FakeKubeApi) -> None:
    fake.fail(PODS_PATH, 403, f'pods is forbidden: User "system:serviceaccount:{NS}:pulumi" cannot list pods')
    with pytest.raises(KubeError) as info:
        kube.list_pods(NS, STS)
    assert info.value.status == 403
    message = str(info.value)
    assert f"namespace {NS!r}" in message and "HTTP 403" in message and "cannot list pods" in message
    assert TOKEN not in message and TOKEN not in repr(info.value.__cause__ or info.value.__context__)


def test_delete_error_other_than_404_raises(kube: KubernetesApi, fake: FakeKubeApi) -> None:
    fake.fail(f"{PVCS_PATH}/taosdata-tdengine-0", 403)
    with pytest.raises(KubeError, match=r"delete persistentvolumeclaim tdengine/taosdata-tdengine-0 .*HTTP 403"):
        kube.delete_pvc(NS, "taosdata-tdengine-0")


def test_wrong_token_is_401_and_not_echoed(fake: FakeKubeApi) -> None:
    wrong = "wrong-token-xyz"
    kube = KubernetesApi(kubeconfig_for(fake.url, token=wrong))
    with pytest.raises(KubeError) as info:
        kube.list_pvcs(NS, STS, TEMPLATES)
    assert info.value.status == 401 and wrong not in str(info.value)


def test_kubeconfig_as_path_and_as_json_and_context(fake: FakeKubeApi, tmp_path, monkeypatch) -> None:
    path = tmp_path / "config"
    path.write_text(fake.kubeconfig())
    assert len(KubernetesApi(str(path)).list_pods(NS, STS)) == 5

    monkeypatch.setenv("KUBECONFIG", str(path))
    assert len(KubernetesApi().list_pods(NS, STS)) == 5

    as_json = json.dumps(yaml.safe_load(fake.kubeconfig()))
    assert "\n" not in as_json
    assert len(KubernetesApi(as_json, context="fake").list_pods(NS, STS)) == 5

    with pytest.raises(KubeError, match=r"load Kubernetes configuration failed.*nope"):
        KubernetesApi(fake.kubeconfig(), context="nope").list_pods(NS, STS)


def test_bad_kubeconfig_content_does_not_echo_it() -> None:
    content = f"apiVersion: v1\nusers: [token: {TOKEN}\n"
    with pytest.raises(KubeError) as info:
        KubernetesApi(content).list_pods(NS, STS)
    assert TOKEN not in str(info.value)


def test_no_kubeconfig_and_not_in_cluster(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubeError, match="not running in a pod"):
        KubernetesApi().list_pods(NS, STS)


def test_construction_does_no_io(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    kube = KubernetesApi(kubeconfig_for(f"http://127.0.0.1:{closed_port}"))
    KubernetesApi(str(tmp_path / "does-not-exist"))
    restored = pickle.loads(pickle.dumps(kube))
    with pytest.raises(KubeError, match=f"list pods in namespace '{NS}' failed"):
        restored.list_pods(NS, STS)


def test_port_forward_reaches_the_target(kube: KubernetesApi, fake: FakeKubeApi) -> None:
    with kube.port_forward(NS, "tdengine-0", 6041) as url:
        assert url.startswith("http://127.0.0.1:")
        assert urllib.request.urlopen(f"{url}/rest/sql", timeout=5).read() == b"target GET /rest/sql "
        post = urllib.request.Request(f"{url}/rest/sql", data=b"show dnodes", method="POST")
        assert urllib.request.urlopen(post, timeout=5).read() == b"target POST /rest/sql show dnodes"
    forward = f"{PODS_PATH}/tdengine-0/portforward"
    assert fake.requests.count(("GET", forward)) == 3  # the entry probe, then one stream per connection
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)  # closed on exit


def test_port_forward_concurrent_connections_and_large_body(kube: KubernetesApi) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB each way
    results: list[bytes] = []

    def call(url: str, i: int) -> None:
        req = urllib.request.Request(f"{url}/{i}", data=body, method="POST")
        results.append(urllib.request.urlopen(req, timeout=10).read())

    with kube.port_forward(NS, "tdengine-2", 6041) as url:
        threads = [threading.Thread(target=call, args=(url, i)) for i in range(4)]
        for t in threads:
            t.start()
        kube.list_pods(NS, STS)  # plain calls keep working while streams are open
        for t in threads:
            t.join()
    assert sorted(r[: r.index(b" /") + 3] for r in results) == [f"target POST /{i}".encode() for i in range(4)]
    assert all(r.endswith(body) for r in results)


@pytest.mark.parametrize(
    ("pod", "fail", "status", "text"),
    [
        ("tdengine-9", False, 404, 'pods "tdengine-9" not found'),
        ("tdengine-0", True, 403, "cannot create pods/portforward"),
    ],
    ids=["pod-missing", "forbidden"],
)
def test_port_forward_errors_name_the_pod(kube: KubernetesApi, fake: FakeKubeApi, pod, fail, status, text) -> None:
    if fail:
        fake.fail(f"{PODS_PATH}/{pod}/portforward", 403, "cannot create pods/portforward")
    with pytest.raises(KubeError) as info:
        with kube.port_forward(NS, pod, 6041):
            pytest.fail("entered")
    message = str(info.value)
    assert info.value.status == status
    assert f"port-forward to pod {NS}/{pod} port 6041" in message and text in message
    assert TOKEN not in message


def test_port_forward_to_a_closed_port_closes_the_connection(kube: KubernetesApi, fake: FakeKubeApi) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        fake.forward_targets[("tdengine-0", 6041)] = s.getsockname()
    with kube.port_forward(NS, "tdengine-0", 6041) as url:
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(url, timeout=5)


def test_port_forward_latency(kube: KubernetesApi) -> None:
    with kube.port_forward(NS, "tdengine-0", 6041) as url:
        start = time.perf_counter()
        for _ in range(5):
            urllib.request.urlopen(f"{url}/x", timeout=5).read()
        per_request = (time.perf_counter() - start) / 5
    assert per_request < 0.5, per_request


def test_secrets_are_created_replaced_read_and_deleted(kube: KubernetesApi, fake: FakeKubeApi) -> None:
    assert kube.read_secret(NS, "tdengine-root-kept") is None
    kube.write_secret(NS, "tdengine-root-kept", {"TAOS_ROOT_PASSWORD": "Old-Pass-2025!"}, {"team": "db"})
    stored = fake.secrets[(NS, "tdengine-root-kept")]
    assert stored["metadata"]["labels"] == {"team": "db"} and "stringData" not in stored
    assert kube.read_secret(NS, "tdengine-root-kept") == {"TAOS_ROOT_PASSWORD": "Old-Pass-2025!"}
    kube.write_secret(NS, "tdengine-root-kept", {"TAOS_ROOT_PASSWORD": "New-Pass-2026!"}, {})  # exists: replaced
    assert kube.read_secret(NS, "tdengine-root-kept") == {"TAOS_ROOT_PASSWORD": "New-Pass-2026!"}
    secrets = f"/api/v1/namespaces/{NS}/secrets"
    assert [r for r in fake.requests if "/secrets" in r[1]][1:5] == [
        ("POST", secrets),
        ("GET", f"{secrets}/tdengine-root-kept"),
        ("POST", secrets),
        ("PUT", f"{secrets}/tdengine-root-kept"),
    ]
    kube.delete_secret(NS, "tdengine-root-kept")
    kube.delete_secret(NS, "tdengine-root-kept")  # already gone: not an error
    assert (NS, "tdengine-root-kept") not in fake.secrets


def test_secret_errors_name_the_secret(kube: KubernetesApi, fake: FakeKubeApi) -> None:
    fake.fail(f"/api/v1/namespaces/{NS}/secrets/tdengine-root-kept", 403, "secrets is forbidden")
    with pytest.raises(KubeError, match=rf"read secret {NS}/tdengine-root-kept failed: HTTP 403"):
        kube.read_secret(NS, "tdengine-root-kept")
