"""Day-2 changes through the real Pulumi CLI and the real StatefulSet controller, on real TDengine 3.3.7.5 in real
pods on the real node: what `pulumi preview` says of each kind, a change of the pod template (a `taosSettings`
entry) rolled one pod at a time in order, refusals in preview, a storageSize increase that keeps every pod and
grows every PVC, and a destroy that still takes the pods away (the StatefulSet is deleted with orphan propagation).

Only 3.3.7.5 is built here, so the roll is a settings change; the image change (a maintenance release) is
previewed only: preview sends no SQL and pulls no image.

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

from tests.e2e.harness import NAMESPACE, STATEFULSET
from tests.e2e.real import STACK_RESOURCES, RealCluster
from tests.e2e.watch import ApiWatcher

REAL = True
STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "3", **STACK_RESOURCES}
OLD, NEW = "tdengine/tdengine:3.3.7.5", "tdengine/tdengine:3.3.7.6"
SETTING = ("taosSettings[0]", "TAOS_NUM_OF_RPC_SESSIONS=30001")
"""The roll's change: one more taos.cfg setting (numOfRpcSessions, 10000 by default in 3.3.7.5), not one every
dnode must share, so it rolls; it reaches the pods through the taoscfg ConfigMap, whose checksum is in the pod
template. Whether taosd then runs with it: `test_the_restarted_dnodes_run_the_new_setting`."""
ROWS: dict[str, int] = {}
"""Rows written per child table (every row acknowledged by TDengine), checked after every change."""


NOT_HEARD_FROM = "status not received"
"""The note of `show dnodes` for a dnode the mnode leader has had no status from since it took office: unknown, not
down (as a round in which no pod answers). Every dnode shows it after each mnode election until its next status
reaches the new leader, which the real server took up to ~5 s for a live dnode (its status request to the old
leader timing out first: 'failed to SendRecv status req with timeout 5000'); a roll has an election per restart, as
each restarted mnode follower calls one when it rejoins."""
OFFLINE_SECONDS = 3.0
"""How long `show dnodes` must go on showing a dnode not `ready` (any other note) for the watch to count it down.
Every live dnode reports its status each second (statusInterval 1); after an election a live dnode the leader had
heard from before was shown `status msg timeout` for about a second, until its next status arrived. A pod the roll
takes down counts at once (not Ready), and a dnode truly down stays `offline` far longer."""


@dataclass
class PodWatch:
    """Every 50 ms: which of the StatefulSet's pods are not Ready and which dnodes `show dnodes` has shown not
    `ready` for OFFLINE_SECONDS (asked of the pods' taosAdapter; a round in which none answers, as while the mnodes
    elect, and a dnode the new mnode leader has not yet heard from, NOT_HEARD_FROM, are unknown, not down), and
    every pod deletion, in order (a new uid under the same name is a restart). `seen` logs every change with its
    reason; `blips` the shorter not-ready readings."""

    e2e: RealCluster
    deleted: list[str] = field(default_factory=list)
    most_down: int = 0
    downs: list[tuple[str, ...]] = field(default_factory=list)
    unknown: int = 0
    """Rounds in which no pod answered `show dnodes`."""
    rounds: int = 0
    seen: list[str] = field(default_factory=list)
    """Each change of what is down or not ready, with when and why: pods not Ready, `show dnodes` rows not ready."""
    blips: list[str] = field(default_factory=list)
    """Dnodes shown not ready for less than OFFLINE_SECONDS, and what the mnode said of them."""
    seen_last: tuple[Any, ...] = ()
    not_heard: set[str] = field(default_factory=set)
    """Dnodes some reading showed as not yet heard from by the mnode leader (NOT_HEARD_FROM: unknown)."""
    leaders: list[str] = field(default_factory=list)
    """At each deletion in `deleted`: the pod that hosted the mnode leader when last seen before it."""
    elections: list[str] = field(default_factory=list)
    """Every change of the mnode leader's pod seen, with when."""
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> PodWatch:
        api = config.new_client_from_config(str(self.e2e.plane.kubeconfig), persist_config=False)
        self._core = client.CoreV1Api(api)
        self._password = self.e2e.tdengine.password
        self._last = {n: p.metadata.uid for n, p in self._pods().items()}
        self._members = set(self._last)
        self._gone: set[str] = set()
        self._since: dict[str, tuple[float, str]] = {}
        """Dnode (its pod) -> since when `show dnodes` has shown it not ready, and the note it gave."""
        self._t0 = time.monotonic()
        self._leader = next(m for m in self.e2e.tdengine.mnodes() if m["role"] == "leader")["endpoint"].split(".")[0]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        text = "\n".join([*self.seen, "blips:", *self.blips, "elections:", *self.elections])
        (self.e2e.workdir / f"podwatch-{int(self._t0)}.txt").write_text(text + "\n")

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
                    self.leaders.append(self._leader)
            self._last = {n: p.metadata.uid for n, p in pods.items()}
            pods_down = {n for n in self._members if n not in pods or not _ready(pods[n])}
            ips = [
                p.status.pod_ip
                for _n, p in sorted(pods.items())
                if p.status and p.status.pod_ip and p.status.phase == "Running" and not p.metadata.deletion_timestamp
            ]
            dnodes = self.e2e.tdengine.dnodes_via(ips, self._password, timeout=3)
            mnodes = self.e2e.tdengine.sql_via(ips, self._password, "show mnodes", timeout=3) or []
            at = time.monotonic() - self._t0
            for m in mnodes:
                if m["role"] == "leader" and (leader := m["endpoint"].split(".", 1)[0]) != self._leader:
                    self.elections.append(f"{at:7.2f}s mnode leader {self._leader} -> {leader}")
                    self._leader = leader
            self.rounds += 1
            if dnodes is None:
                self.unknown += 1  # neither down nor up: what was seen before stands
            else:
                offline = {
                    d["endpoint"].split(".", 1)[0]: f"{d['status']}: {d.get('note') or ''}"
                    for d in dnodes
                    if d["status"] != "ready" and d.get("note") != NOT_HEARD_FROM
                }
                unheard = {d["endpoint"].split(".", 1)[0] for d in dnodes if d.get("note") == NOT_HEARD_FROM}
                self.not_heard |= unheard
                for name in list(self._since):
                    if name not in offline and name not in unheard:  # unknown: what was seen before stands
                        since, note = self._since.pop(name)
                        if at - since < OFFLINE_SECONDS:
                            self.blips.append(f"{since:7.2f}s {name} not ready for {at - since:.2f}s ({note})")
                for name, note in offline.items():
                    self._since.setdefault(name, (at, note))
            dnodes_down = {n for n, (since, _note) in self._since.items() if at - since >= OFFLINE_SECONDS}
            down = pods_down | dnodes_down
            unknown = "every dnode" if dnodes is None else str(sorted(unheard))
            shown = (tuple(sorted(down)), tuple(sorted(self._since)), unknown)
            if not self.seen or self.seen_last != shown:
                self.seen_last = shown
                said = {n: note for n, (_s, note) in sorted(self._since.items())}
                self.seen.append(
                    f"{at:7.2f}s down {sorted(down)}: pods not Ready {sorted(pods_down)}, not ready {said}, "
                    f"unknown {unknown}"
                )
            if not self.downs or self.downs[-1] != tuple(sorted(down)):
                self.downs.append(tuple(sorted(down)))
            if len(down) > 1 and self.most_down <= 1:  # evidence: the pods' logs of that moment (a restart loses them)
                threading.Thread(target=self._keep_logs, args=(len(self.seen),), daemon=True).start()
            self.most_down = max(self.most_down, len(down))

    def _keep_logs(self, n: int) -> None:
        for pod in sorted(self._members):
            log = self.e2e.plane.kubectl("logs", pod, "-n", NAMESPACE, "--tail", "2000", check=False)
            (self.e2e.workdir / f"podwatch-{n}-{pod}.log").write_text(log)


def _ready(pod: Any) -> bool:
    conditions = (pod.status and pod.status.conditions) or []
    return pod.metadata.deletion_timestamp is None and any(c.type == "Ready" and c.status == "True" for c in conditions)


@pytest.fixture(scope="module")
def cluster(e2e: RealCluster) -> Iterator[RealCluster]:
    e2e.project.init(STACK)
    e2e.project.up().check()
    e2e.tdengine.create_database("app", replica=3, vgroups=4)
    ROWS.update(rows_per_table(e2e))
    assert sum(ROWS.values()) == 800 and len(ROWS) == 8, ROWS
    yield e2e


def pods(e2e: RealCluster) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in e2e.plane.get("pods", "-n", NAMESPACE)["items"]}


def rows_per_table(e2e: RealCluster) -> dict[str, int]:
    """Child table -> its rows, as TDengine counts them now."""
    rows = e2e.tdengine.sql("select tbname, count(*) as n from app.meters partition by tbname", timeout=60)
    return {str(r["tbname"]): int(r["n"]) for r in rows}


def test_preview_says_an_image_change_is_a_rolling_restart_and_sends_no_sql(cluster: RealCluster) -> None:
    e2e = cluster
    forwards, before = e2e.port_forwards(), {n: p["metadata"]["uid"] for n, p in pods(e2e).items()}
    e2e.project.set("image", NEW)
    try:
        run = e2e.project.preview().check()
        assert (
            "[tdengine] plan: rolling restart of 3 pods, one at a time (image 3.3.7.5 -> 3.3.7.6, maintenance"
            in run.output
        ), run.output
        assert "tdengine-change update [diff: ~image,plan,templateHash]" in run.stdout, run.stdout
        diff = e2e.project.preview("--diff").check().stdout
        assert '~ image              : "tdengine/tdengine:3.3.7.5" => "tdengine/tdengine:3.3.7.6"' in diff, diff
        assert '+ plan               : "rolling restart of 3 pods' in diff
    finally:
        e2e.project.pulumi("config", "rm", "image").check()  # only 3.3.7.5 exists here: preview only
    assert e2e.port_forwards() == forwards  # Check and Diff only: no SQL, no port-forward
    assert {n: p["metadata"]["uid"] for n, p in pods(e2e).items()} == before


def test_preview_says_a_settings_change_is_a_rolling_restart_and_sends_no_sql(cluster: RealCluster) -> None:
    e2e = cluster
    forwards, before = e2e.port_forwards(), {n: p["metadata"]["uid"] for n, p in pods(e2e).items()}
    e2e.project.pulumi("config", "set", "--path", *SETTING).check()
    run = e2e.project.preview().check()
    assert "[tdengine] plan: rolling restart of 3 pods, one at a time (taosSettings TAOS_NUM_OF_RPC_SESSIONS)" in (
        run.output
    ), run.output
    assert "tdengine-change update [diff: ~plan,templateHash,templateSettings]" in run.stdout, run.stdout
    diff = e2e.project.preview("--diff").check().stdout
    assert '+ plan               : "rolling restart of 3 pods' in diff, diff
    assert "TAOS_NUM_OF_RPC_SESSIONS" in diff  # the taoscfg ConfigMap's new entry
    assert e2e.port_forwards() == forwards  # Check and Diff only: no SQL, no port-forward
    assert {n: p["metadata"]["uid"] for n, p in pods(e2e).items()} == before


def test_a_settings_change_rolls_the_pods_one_at_a_time_in_order(cluster: RealCluster, watcher: ApiWatcher) -> None:
    e2e = cluster
    leader = next(m for m in e2e.tdengine.mnodes() if m["role"] == "leader")["endpoint"].split(".", 1)[0]
    with PodWatch(e2e) as watch:
        run = e2e.project.up().check()
    order = [p for p in watch.deleted if p.startswith(f"{STATEFULSET}-")]
    evidence = (watch.deleted, leader, watch.leaders, watch.elections)
    # Highest ordinal first, the mnode leader's pod last: each restarted pod is the highest left but the one hosting
    # the leader then, unless it is the only one left. Judged at each restart: a restarted mnode follower calls an
    # election when it rejoins, and has been seen to win it.
    assert sorted(order) == ["tdengine-0", "tdengine-1", "tdengine-2"], evidence
    for i, pod in enumerate(order):
        left = sorted(order[i:], reverse=True)
        assert pod == ([p for p in left if p != watch.leaders[i]] or left)[0], evidence
    if set(watch.leaders) == {leader}:  # the leadership had stayed where it was at each restart
        assert order == ["tdengine-2", "tdengine-1", "tdengine-0"] and order[-1] == leader, evidence
    assert watch.most_down == 1, "\n".join(watch.seen)
    assert [d for d in watch.downs if d] and all(len(d) <= 1 for d in watch.downs)
    assert watch.unknown < watch.rounds, (watch.unknown, watch.rounds)  # the dnodes were seen, not only the pods
    sts = e2e.plane.get("statefulset", STATEFULSET, "-n", NAMESPACE)
    assert sts["spec"]["updateStrategy"] == {"type": "OnDelete"}
    revision = sts["status"]["updateRevision"]
    checksum = sts["spec"]["template"]["metadata"]["annotations"]["tdengine.io/taoscfg-checksum"]
    for p in pods(e2e).values():
        assert p["spec"]["containers"][0]["image"] == OLD
        assert p["metadata"]["labels"]["controller-revision-hash"] == revision
        assert p["metadata"]["annotations"]["tdengine.io/taoscfg-checksum"] == checksum
    for line in ("restart tdengine-2 (dnode ", "1 of 3: taosSettings TAOS_NUM_OF_RPC_SESSIONS", "rolling restart done"):
        assert line in run.output, run.output
    assert rows_per_table(e2e) == ROWS  # every acknowledged row, in every table
    assert watcher.violations() == []
    assert all(d["status"] == "ready" for d in e2e.tdengine.dnodes()), e2e.tdengine.dnodes()
    assert e2e.pod_restarts() == {f"tdengine-{i}": 0 for i in range(3)}, e2e.describe_pods()
    e2e.project.pulumi("preview", "--expect-no-changes").check()


def test_the_restarted_dnodes_run_the_new_setting(cluster: RealCluster) -> None:
    """TDengine 3.3.6+ keeps every setting of a dnode's first start in its data dir (dnode/config/*.json) and ignores
    taos.cfg and TAOS_* on later starts unless forceReadConfig is 1: without it (the program's pods before) a
    taosSettings change restarted every pod and changed nothing (numOfRpcSessions stayed 10000 on every dnode)."""
    values = cluster.tdengine.sql(
        "select * from information_schema.ins_dnode_variables where name = 'numOfRpcSessions'"
    )
    assert sorted(str(v["value"]) for v in values) == ["30001"] * 3, values


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("storageClass", "fast", "another class means new volumes, and moving every dnode's data"),
        ("image", "tdengine/tdengine:3.3.8.0", "changes the Feature version: TDengine does not support rolling"),
        ("storageSize", "1Gi", "Kubernetes cannot shrink a volume"),
        ("serviceName", "taosd2", "changes every dnode's endpoint"),
    ],
)
def test_unsafe_changes_are_refused_in_preview_naming_the_way(
    cluster: RealCluster, key: str, value: str, says: str
) -> None:
    e2e = cluster
    forwards = e2e.port_forwards()
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
    assert e2e.port_forwards() == forwards and e2e.project.outputs() == old


def test_a_storage_size_increase_keeps_every_pod_and_grows_every_pvc(cluster: RealCluster, watcher: ApiWatcher) -> None:
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
    assert watch.most_down == 0, "\n".join(watch.seen)
    assert watch.unknown < watch.rounds, (watch.unknown, watch.rounds)
    sts = e2e.plane.get("statefulset", STATEFULSET, "-n", NAMESPACE)
    assert sts["metadata"]["uid"] != sts_uid  # recreated, and it adopted the pods
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "25Gi"
    for p in pods(e2e).values():
        assert p["metadata"]["ownerReferences"][0]["uid"] == sts["metadata"]["uid"] and _phase(p) == "Running"
    for pvc in e2e.plane.get("pvc", "-n", NAMESPACE)["items"]:
        assert pvc["spec"]["resources"]["requests"]["storage"] == "25Gi"
        assert pvc["status"]["capacity"]["storage"] == "25Gi"
    assert len(e2e.plane.resized) == 3, e2e.plane.resized
    assert rows_per_table(e2e) == ROWS
    assert e2e.pod_restarts() == {f"tdengine-{i}": 0 for i in range(3)}, e2e.describe_pods()
    assert watcher.violations() == []
    e2e.project.pulumi("preview", "--expect-no-changes").check()


def _phase(pod: dict[str, Any]) -> str:
    return str(pod["status"]["phase"])


def test_destroy_still_takes_the_pods_away(cluster: RealCluster, watcher: ApiWatcher) -> None:
    e2e = cluster
    volumes = {p["metadata"]["name"] for p in e2e.plane.get("pvc", "-n", NAMESPACE)["items"]}
    run = e2e.project.pulumi("destroy", "--yes", "--skip-preview").check()
    assert "delete pod tdengine-0 (its StatefulSet is gone)" in run.output
    t0 = time.monotonic()
    e2e.plane.wait("the pods to be gone", lambda: not e2e.plane.get("pods", "-n", NAMESPACE)["items"], 60)
    assert time.monotonic() - t0 < 60
    assert {p["metadata"]["name"] for p in e2e.plane.get("pvc", "-n", NAMESPACE)["items"]} == volumes
    assert watcher.violations() == []
