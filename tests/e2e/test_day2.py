"""Day-2 changes through the real Pulumi CLI and the real StatefulSet controller: what `pulumi preview` says of each
kind, an image change rolled one pod at a time in order, refusals in preview, a storageSize increase that keeps
every pod and grows every PVC, and a destroy that still takes the pods away (the StatefulSet is deleted with
orphan propagation).

One cluster and one stack for the module, each test continuing from the one before (a story, in file order).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubernetes import client, config

from tests.e2e.harness import NAMESPACE, STATEFULSET, E2ECluster
from tests.sim import ops

STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "3"}
CLUSTER_OPTIONS = {"migration_seconds": 0.3}
OLD, NEW = "tdengine/tdengine:3.3.7.5", "tdengine/tdengine:3.3.7.6"


@dataclass
class PodWatch:
    """Every 50 ms: which of the StatefulSet's pods are not Ready and which taosd are not ready, and every pod
    deletion, in order (a new uid under the same name is a restart)."""

    e2e: E2ECluster
    deleted: list[str] = field(default_factory=list)
    most_down: int = 0
    downs: list[tuple[str, ...]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> PodWatch:
        api = config.new_client_from_config(str(self.e2e.plane.kubeconfig), persist_config=False)
        self._core = client.CoreV1Api(api)
        self._last = {n: p.metadata.uid for n, p in self._pods().items()}
        self._members = set(self._last)
        self._gone: set[str] = set()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _pods(self) -> dict[str, Any]:
        return {p.metadata.name: p for p in self._core.list_namespaced_pod(NAMESPACE, _request_timeout=10).items}

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                pods = self._pods()
            except Exception:  # the API server busy: the next round
                continue
            for name, uid in self._last.items():
                now = pods.get(name)
                terminating = now is not None and now.metadata.deletion_timestamp is not None
                if (now is None or now.metadata.uid != uid or terminating) and uid not in self._gone:
                    self._gone.add(uid)
                    self.deleted.append(name)
            self._last = {n: p.metadata.uid for n, p in pods.items()}
            down = {n for n in self._members if n not in pods or not _ready(pods[n])}
            down |= {d["endpoint"].split(".", 1)[0] for d in self.e2e.sim.dnodes() if d["status"] != "ready"}
            shown = tuple(sorted(down))
            if not self.downs or self.downs[-1] != shown:
                self.downs.append(shown)
            self.most_down = max(self.most_down, len(down))


def _ready(pod: Any) -> bool:
    conditions = (pod.status and pod.status.conditions) or []
    return pod.metadata.deletion_timestamp is None and any(c.type == "Ready" and c.status == "True" for c in conditions)


@pytest.fixture(scope="module")
def cluster(e2e: E2ECluster) -> Iterator[E2ECluster]:
    e2e.project.init(STACK)
    e2e.project.up().check()
    e2e.sim.create_database("app", replica=3, vgroups=4)
    for _ in range(8):
        ops.create_table(e2e.sim.cluster, "app")
    yield e2e


def pods(e2e: E2ECluster) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in e2e.plane.get("pods", "-n", NAMESPACE)["items"]}


def tables(e2e: E2ECluster) -> dict[int, int]:
    return {vg["id"]: vg["tables"] for vg in e2e.sim.vgroups()}


def test_preview_says_an_image_change_is_a_rolling_restart_and_sends_no_sql(cluster: E2ECluster) -> None:
    e2e = cluster
    requests, before = len(e2e.sim.requests), {n: p["metadata"]["uid"] for n, p in pods(e2e).items()}
    e2e.project.set("image", NEW)
    run = e2e.project.preview().check()
    assert "[tdengine] plan: rolling restart of 3 pods, one at a time (image 3.3.7.5 -> 3.3.7.6, maintenance" in (
        run.output
    )
    assert "tdengine-change update [diff: ~image,plan,templateHash]" in run.stdout
    diff = e2e.project.preview("--diff").check().stdout
    assert '~ image              : "tdengine/tdengine:3.3.7.5" => "tdengine/tdengine:3.3.7.6"' in diff
    assert '+ plan               : "rolling restart of 3 pods' in diff
    assert len(e2e.sim.requests) == requests  # Check and Diff only: no SQL, no port-forward
    assert {n: p["metadata"]["uid"] for n, p in pods(e2e).items()} == before


def test_an_image_change_rolls_the_pods_one_at_a_time_in_order(cluster: E2ECluster) -> None:
    e2e = cluster
    data = tables(e2e)
    leader = next(m for m in e2e.sim.mnodes() if m["role"] == "leader")["endpoint"].split(".", 1)[0]
    with PodWatch(e2e) as watch:
        run = e2e.project.up().check()
    order = [p for p in watch.deleted if p.startswith(f"{STATEFULSET}-")]
    assert order == ["tdengine-2", "tdengine-1", "tdengine-0"] and order[-1] == leader, watch.deleted
    assert watch.most_down == 1, watch.downs
    assert [d for d in watch.downs if d] and all(len(d) <= 1 for d in watch.downs)
    sts = e2e.plane.get("statefulset", STATEFULSET, "-n", NAMESPACE)
    assert sts["spec"]["updateStrategy"] == {"type": "OnDelete"}
    revision = sts["status"]["updateRevision"]
    for p in pods(e2e).values():
        assert p["spec"]["containers"][0]["image"] == NEW
        assert p["metadata"]["labels"]["controller-revision-hash"] == revision
    for line in ("restart tdengine-2 (dnode ", "1 of 3: image 3.3.7.5 -> 3.3.7.6", "rolling restart done"):
        assert line in run.output, run.output
    assert tables(e2e) == data and e2e.sim.violations == []
    assert all(d["status"] == "ready" for d in e2e.sim.dnodes())
    e2e.project.pulumi("preview", "--expect-no-changes").check()


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("storageClass", "fast", "another class means new volumes, and moving every dnode's data"),
        ("image", "tdengine/tdengine:3.3.8.0", "changes the Feature version: TDengine does not support rolling"),
        ("storageSize", "1Gi", "Kubernetes cannot shrink a volume"),
        ("serviceName", "taosd2", "changes every dnode's endpoint"),
    ],
)
def test_unsafe_changes_are_refused_in_preview_naming_the_way(cluster: E2ECluster, key: str, value: str, says: str):
    e2e = cluster
    requests = len(e2e.sim.requests)
    old = e2e.project.outputs()  # unchanged by a refusal
    e2e.project.set(key, value)
    try:
        run = e2e.project.preview()
        assert run.code != 0
        assert "tdengine-change' has a problem: " in run.output and says in run.output and "Fix: " in run.output
        up = e2e.project.up()
        assert up.code != 0 and says in up.output
    finally:
        e2e.project.pulumi("config", "rm", key).check()
        if key in STACK:
            e2e.project.set(key, STACK[key])
        if key == "image":
            e2e.project.set("image", NEW)
    assert len(e2e.sim.requests) == requests and e2e.project.outputs() == old


def test_a_storage_size_increase_keeps_every_pod_and_grows_every_pvc(cluster: E2ECluster) -> None:
    e2e = cluster
    before = {n: p["metadata"]["uid"] for n, p in pods(e2e).items()}
    sts_uid = e2e.plane.get("statefulset", STATEFULSET, "-n", NAMESPACE)["metadata"]["uid"]
    e2e.project.set("storageSize", "25Gi")  # the pool's volumes are 20Gi: a real expansion
    preview = e2e.project.preview().check()
    assert "[tdengine] plan: volume expansion, no restart (taosdata 5Gi -> 25Gi)" in preview.output
    assert "+-1 to replace" in preview.stdout  # the StatefulSet object, as the plan says
    with PodWatch(e2e) as watch:
        run = e2e.project.up().check()
    assert "resize PVC taosdata-tdengine-0: 5Gi -> 25Gi" in run.output and "orphan propagation" in run.output
    assert {n: p["metadata"]["uid"] for n, p in pods(e2e).items()} == before and watch.deleted == []
    assert watch.most_down == 0, watch.downs
    sts = e2e.plane.get("statefulset", STATEFULSET, "-n", NAMESPACE)
    assert sts["metadata"]["uid"] != sts_uid  # recreated, and it adopted the pods
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "25Gi"
    for p in pods(e2e).values():
        assert p["metadata"]["ownerReferences"][0]["uid"] == sts["metadata"]["uid"] and _phase(p) == "Running"
    for pvc in e2e.plane.get("pvc", "-n", NAMESPACE)["items"]:
        assert pvc["spec"]["resources"]["requests"]["storage"] == "25Gi"
        assert pvc["status"]["capacity"]["storage"] == "25Gi"
    assert len(e2e.plane.resized) == 3, e2e.plane.resized
    assert e2e.sim.violations == []
    e2e.project.pulumi("preview", "--expect-no-changes").check()


def _phase(pod: dict[str, Any]) -> str:
    return str(pod["status"]["phase"])


def test_destroy_still_takes_the_pods_away(cluster: E2ECluster) -> None:
    e2e = cluster
    volumes = {p["metadata"]["name"] for p in e2e.plane.get("pvc", "-n", NAMESPACE)["items"]}
    run = e2e.project.pulumi("destroy", "--yes", "--skip-preview").check()
    assert "delete pod tdengine-0 (its StatefulSet is gone)" in run.output
    t0 = time.monotonic()
    e2e.plane.wait("the pods to be gone", lambda: not e2e.plane.get("pods", "-n", NAMESPACE)["items"], 60)
    assert time.monotonic() - t0 < 60
    assert {p["metadata"]["name"] for p in e2e.plane.get("pvc", "-n", NAMESPACE)["items"]} == volumes
    assert e2e.sim.violations == []
