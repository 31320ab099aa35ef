"""`verify` against the simulator: the report, the failures it catches, the refusals, and the failover test
whose times come from the simulated cluster (its election time and pod restart).

Over 300 lines: every check, failure and refusal of `verify` against one simulated cluster setup.
"""

from __future__ import annotations

import io
import re
import time

import pytest
import requests

from components.args import ClusterArgs
from components.tdengine.kube import KubernetesApi
from components.tdengine.kube_types import ExecResult
from components.verify import command
from components.verify.failover import FailoverOptions
from components.verify.report import format_report, summary
from tests.harness import ROOT
from tests.sim import SimCluster, ops
from tests.sim.kube_api import FakeKubeApi

PW = "Tdengine-2025!"
NS = "tdengine-test"
ARGS = ClusterArgs(namespace=NS)
ELECTION = 0.3
TERMINATE = 1.2


def options(**overrides) -> command.VerifyOptions:
    base = command.VerifyOptions(failover=FailoverOptions(timeout=20, poll=0.05), settle_timeout=1.0)
    return command.VerifyOptions(**{**base.__dict__, **overrides})


def healthy(replicas: int = 3, election: float = ELECTION, **sim_options) -> SimCluster:
    """A started simulator with `replicas` ready dnodes and min(3, replicas) settled mnodes."""
    sim = SimCluster(root_password=PW, election_seconds=election, **sim_options).start()
    sim.bootstrap(replicas)
    sim.kube.terminate_seconds = TERMINATE
    for ordinal in range(1, min(3, replicas)):
        ops.create_mnode(sim.cluster, sim.dnode_id(ordinal))
    roles = ["leader"] + ["follower"] * (min(3, replicas) - 1)
    sim.wait_until(lambda s: sorted(m["role"] for m in s.mnodes) == sorted(roles))
    return sim


@pytest.fixture
def sim():
    s = healthy()
    yield s
    s.stop()


def verify(sim, failover=False, args=ARGS, password=PW, kube=None, **overrides):
    """(exit code, report, printed report, progress lines)."""
    progress: list[str] = []
    code, report = command.verify(
        args,
        password,
        failover=failover,
        options=options(**overrides),
        kube_factory=lambda _args, _kubeconfig: kube or sim.kube,
        progress=progress.append,
    )
    return code, report, format_report(report), progress


class AfterBenchmark:
    """The simulator's Kubernetes, with something happening right after taosBenchmark's exec returns."""

    def __init__(self, sim, then) -> None:
        self.sim, self.then = sim, then

    def __getattr__(self, name):
        return getattr(self.sim.kube, name)

    def exec_in_pod(self, namespace, pod, command, stdin="", timeout=600.0) -> ExecResult:
        result = self.sim.kube.exec_in_pod(namespace, pod, command, stdin, timeout)
        self.then(self.sim)
        return result


def test_report_shows_what_the_cluster_has(sim):
    code, report, text, progress = verify(sim, keep=True)
    assert code == command.OK, text
    ids = {d["endpoint"].split(".")[0]: d["id"] for d in sim.dnodes()}
    assert "REST      ok    port-forward to tdengine-0:6041: show databases in " in text
    assert "dnodes    ok    3 of 3 ready\n" in text
    for pod, dnode_id in ids.items():
        vnodes = next(d["vnodes"] for d in sim.dnodes() if d["id"] == dnode_id)
        assert f"          {pod}  dnode {dnode_id}  ready  {vnodes} vnodes\n" in text
    assert "mnodes    ok    3, leader on tdengine-0\n" in text
    assert f"          tdengine-0  mnode {ids['tdengine-0']}  leader\n" in text
    assert "dataset   ok    pulumi_verify, replica 3: 10 tables x 100 rows by taosBenchmark in tdengine-0 (" in text
    assert "rows      ok    1000 of 1000 in pulumi_verify.meters\n" in text
    vgroups = [v for v in sim.vgroups() if v["db"] == "pulumi_verify"]
    assert f"vgroups   ok    {len(vgroups)}, each to have a leader and 3 replicas on distinct dnodes\n" in text
    for v in vgroups:
        assert f"          vgroup {v['id']}: dnode {v['leader']} leader" in text
    per_pod = ", ".join(f"{pod} {len(vgroups)}" for pod in sorted(ids, key=lambda p: ids[p]))
    assert f"          vnodes per dnode: {per_pod}\n" in text
    assert text.endswith("result    OK\n")
    assert report.counted == 1000 and report.problems == []
    # the seed's statements, through REST; the dataset kept (keep=True)
    assert "select count(*) from pulumi_verify.meters" in sim.statements()
    assert "show pulumi_verify.vgroups" in sim.statements()
    assert "drop database if exists pulumi_verify" not in sim.statements()
    assert [pod for pod, _ in sim.kube.execs] == ["tdengine-0"]
    assert any("taosBenchmark in tdengine-0" in line for line in progress)


def test_sizes_come_from_the_settings_and_the_dataset_is_dropped_afterwards(sim):
    args = ClusterArgs(namespace=NS, verify_tables=4, verify_rows=7, verify_replica=1)
    out = io.StringIO()
    code = command.run(
        args, PW, out=out, options=options(tables=4, rows=7, replica=1), kube_factory=lambda *_: sim.kube
    )
    assert code == command.OK, out.getvalue()
    assert "rows      ok    28 of 28 in pulumi_verify.meters" in out.getvalue()
    _, argv = sim.kube.execs[0]
    assert "-t 4 -n 7 -a 1" in argv[2]
    assert sim.statements()[-1] == "drop database if exists pulumi_verify"
    assert "pulumi_verify" not in {v["db"] for v in sim.vgroups()}
    defaults = command.VerifyOptions.from_args(args, keep=True, tables=None)
    assert (defaults.tables, defaults.rows, defaults.replica, defaults.keep) == (4, 7, 1, True)


def test_a_wrong_row_count_fails_with_both_numbers(sim):
    def lose_rows(s):
        with s.cluster.lock:
            s.cluster.dbs["pulumi_verify"].tables["d3"].rows -= 5

    code, report, text, _ = verify(sim, kube=AfterBenchmark(sim, lose_rows))
    assert code == command.FAILED
    assert "rows      FAIL  995 of 1000 in pulumi_verify.meters" in text
    assert report.problems == [
        "select count(*) from pulumi_verify.meters = 995, expected 1000 (tables x rows written by taosBenchmark)"
    ]
    assert "result    FAILED (1 problem)" in text


def test_a_replica_down_after_the_write_fails_the_vgroup_check(sim):
    dnode = sim.dnode_id(2)

    def crash(s):
        s.kube.crash_pod(2)
        s.wait_until(lambda snap: snap.dnode(s.endpoint(2))["status"] == "offline")

    code, report, text, _ = verify(sim, kube=AfterBenchmark(sim, crash), keep=True, settle_timeout=0.2)
    assert code == command.FAILED
    assert f"dnode {dnode} (tdengine-2) is offline (status msg timeout)" in report.problems
    spread = [p for p in report.problems if p.startswith("vgroup")]
    vgroups = [v["id"] for v in sim.vgroups() if v["db"] == "pulumi_verify"]
    assert spread == [f"vgroup {v} of pulumi_verify: the replica on dnode {dnode} is offline" for v in vgroups]
    assert "vgroups   FAIL" in text and "dnodes    FAIL  2 of 3 ready" in text


def test_a_failed_taosbenchmark_is_shown_without_the_password():
    sim = healthy(support_vnodes=1)  # one vnode per dnode: a second replica-3 database is "Vnodes exhausted"
    try:
        sim.create_database("metrics", replica=3, vgroups=1)
        code, report, text, _ = verify(sim)
        printed = io.StringIO()
        command.run(ARGS, PW, out=printed, options=options(), kube_factory=lambda *_: sim.kube)
    finally:
        sim.stop()
    assert code == command.FAILED
    assert "taosBenchmark in tdengine-0 exited with 255:" in report.dataset_problem
    assert "reason: Vnodes exhausted" in report.dataset_problem
    assert "password:                   <redacted>" in report.dataset_problem  # taosBenchmark printed it
    assert PW not in text and PW not in printed.getvalue()
    assert "dataset   FAIL" in text and "\nrows " not in text


def test_vnodes_exhausted_under_kwoks_exec_is_a_failed_check_with_taosbenchmarks_error():
    """kwok's exec server reports a non-zero exit without an exit code (an InternalError Status naming os/exec's
    "exit status 255"): taosBenchmark's own error must still reach the report, as a failed check, not as an
    unreachable cluster."""
    sim = healthy(support_vnodes=1)
    try:
        sim.create_database("metrics", replica=3, vgroups=1)
        host, port = sim.url.removeprefix("http://").rsplit(":", 1)
        with FakeKubeApi(sim.kube, NS, "tdengine", ["taosdata"], forward_to=(host, int(port))) as api:
            api.exit_as_internal_error = True
            kube = KubernetesApi(api.kubeconfig())
            code, report, text, _ = verify(sim, kube=kube)
    finally:
        sim.stop()
    assert code == command.FAILED, text
    assert "cannot reach the cluster" not in text
    assert "taosBenchmark in tdengine-0 exited with 255:" in report.dataset_problem
    assert "reason: Vnodes exhausted" in report.dataset_problem
    assert "dataset   FAIL" in text and PW not in text


def test_unreachable_rest_exits_3(sim):
    sim.faults.unreachable(True)
    args = ClusterArgs(namespace=NS, admin_url=sim.url)
    code, report, _, _ = verify(sim, args=args)
    assert code == command.UNREACHABLE
    assert report.error.startswith("cannot reach the cluster: cannot reach taosAdapter at " + sim.url)
    assert sim.kube.execs == []


def test_a_wrong_password_is_refused_before_anything_is_written(sim):
    code, report, text, progress = verify(sim, password="Wrong-pass-1")
    assert code == command.REFUSED
    assert report.refusal.startswith("refused: Authentication failure")
    assert "Wrong-pass-1" not in text + "".join(progress)
    assert sim.kube.execs == [] and not sim.mutations()


def test_failover_is_refused_on_two_dnodes():
    sim = healthy(replicas=2)
    try:
        code, report, text, _ = verify(
            sim, failover=True, args=ClusterArgs(namespace=NS, replicas=2, allow_fewer_than_three=True)
        )
        pods = sim.kube.pods()
    finally:
        sim.stop()
    assert code == command.REFUSED
    assert report.refusal.startswith("failover refused: the cluster has 2 dnode(s)")
    assert "Fix: scale to 3 or more dnodes" in text
    assert sim.kube.execs == [] and all(p.ready and not p.deleting for p in pods)


def test_failover_is_refused_when_a_replica1_database_lives_on_the_leaders_dnode(sim):
    sim.create_database("metrics", replica=1, vgroups=3)  # one vgroup per dnode: one on the leader's
    code, report, _, _ = verify(sim, failover=True)
    assert code == command.REFUSED
    assert f"replica-1 database(s) metrics have vnodes on dnode {sim.dnode_id(0)} (tdengine-0)" in report.refusal
    assert sim.kube.execs == [] and all(not p.deleting for p in sim.kube.pods())


def test_failover_is_refused_on_a_degraded_cluster(sim):
    sim.kube.crash_pod(1)
    sim.wait_until(lambda s: s.dnode(sim.endpoint(1))["status"] == "offline")
    code, report, _, _ = verify(sim, failover=True)
    assert code == command.REFUSED
    assert f"already degraded: dnode {sim.dnode_id(1)} (tdengine-1) is offline" in report.refusal


@pytest.mark.parametrize("election", [0.2, 0.6])
def test_failover_times_come_from_the_simulated_cluster(election):
    sim = healthy(election=election)
    try:
        leader_dnode = sim.dnode_id(0)
        code, report, text, progress = verify(sim, failover=True, keep=True)
        mnodes, violations = sim.mnodes(), sim.violations
        rows = sim.cluster.dbs["pulumi_verify"].tables
    finally:
        sim.stop()
    assert code == command.OK, text
    f = report.failover
    assert (f.pod, f.dnode_id) == ("tdengine-0", leader_dnode)
    # the simulated cluster cannot elect before its dnode is seen offline plus the election time,
    # nor bring the pod back before its termination grace
    assert f.leader_moved >= sim.config.offline_after_seconds + election
    assert f.pod_ready >= TERMINATE
    assert f.leader_moved <= f.write_ok <= f.rejoined and f.leader_moved <= f.read_ok <= f.rejoined
    assert f.pod_ready <= f.rejoined
    # writes were refused with the real code while the vgroups had no leader
    assert set(f.refused) == {"write: 0x090C Sync leader is unreachable", "read: 0x090C Sync leader is unreachable"}
    assert f.refused_span[0] < f.leader_moved
    # every acknowledged write is there; the written table was led by the deleted dnode
    assert f.rows_after == f.rows_before + f.acknowledged == sum(t.rows for t in rows.values())
    assert f.write_vgroup in f.led_vgroups
    # the cluster: another mnode leads, the old one is back as follower, nothing unsafe happened
    leader = next(m for m in mnodes if m["role"] == "leader")
    assert leader["id"] != leader_dnode and f.new_leader.startswith(f"dnode {leader['id']} (")
    assert next(m for m in mnodes if m["id"] == leader_dnode)["role"] == "follower"
    assert violations == []
    assert f"failover  ok    deleted pod tdengine-0 (dnode {leader_dnode}, mnode leader, leading vgroups " in text
    assert f"          +{f.leader_moved:.2f} s  mnode leader moved to {f.new_leader}\n" in text
    assert any("failover: mnode leader moved" in line for line in progress)
    times = summary(code, report)["failover"]
    assert times == {
        "outcome": "leader moved",
        "ended": f.ended,
        "leaderMoved": f.leader_moved,
        "writeOk": f.write_ok,
        "readOk": f.read_ok,
        "podReady": f.pod_ready,
        "rejoined": f.rejoined,
    }


def test_an_rpc_network_error_before_the_delete_is_read_again():
    """A real drill's first read (`ins_tables`, before any pod is deleted) met 0x0023 "rpc network error" right after
    the previous drill's pod had rejoined, and `verify --failover` failed with it; the next read answered."""
    sim = healthy()
    try:
        sim.faults.sql_error(35, pattern=r"information_schema\.ins_tables", times=2)
        code, report, text, _progress = verify(sim, failover=True)
    finally:
        sim.stop()
    assert code == command.OK, text
    assert report.failover is not None and report.failover.outcome == "leader moved"


def test_an_rpc_network_error_on_the_count_after_the_failover_is_read_again():
    """On the real node (beside a cold Go build) the count after a drill's rejoin answered 0x0023 "rpc network error"
    and the drill failed with it; a read changes nothing, so it is asked again."""
    sim = healthy()
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if "rejoined after" in line:  # only the final count follows the rejoin
            sim.faults.sql_error(35, pattern=r"count\(\*\)", times=2)

    try:
        code, report = command.verify(
            ARGS, PW, failover=True, options=options(), kube_factory=lambda _a, _k: sim.kube, progress=progress
        )
    finally:
        sim.stop()
    text = format_report(report)
    assert code == command.OK, text
    f = report.failover
    assert f is not None and f.rows_after is not None and f.rows_after >= f.rows_before + f.acknowledged
    assert any("counting the rows after the failover: TDengine answered 0x0023" in line for line in lines), lines


def test_a_restart_faster_than_the_election_is_not_a_proven_failover():
    sim = healthy(election=3.0)
    sim.kube.terminate_seconds = 0.0  # the pod is back before the mnodes would elect
    try:
        code, report, text, _ = verify(sim, failover=True)
    finally:
        sim.stop()
    assert code == command.NOT_PROVEN and report.problems == []
    f = report.failover
    assert f.leader_moved is None and f.rejoined is not None and f.outcome == "back before any election"
    assert f"result    NOT PROVEN: tdengine-0 was back at +{f.rejoined:.2f} s before another mnode took over" in text
    # "not seen" counts the test's real length, not its deadline (20 s)
    assert f"not seen in {f.ended:.1f} s  mnode leader moved to -" in text and f.ended < 20
    assert summary(code, report)["result"] == "not proven"


def test_a_pod_that_never_comes_back_is_a_cluster_that_did_not_recover():
    sim = healthy()
    sim.kube.terminate_seconds = 600.0  # the deleted pod stays away past the test's deadline
    try:
        code, report = command.verify(
            ARGS,
            PW,
            failover=True,
            options=options(failover=FailoverOptions(timeout=3.0, poll=0.05)),
            kube_factory=lambda _args, _kubeconfig: sim.kube,
            progress=lambda _line: None,
        )
        text = format_report(report)
    finally:
        sim.stop()
    assert code == command.FAILED
    f = report.failover
    assert f.outcome == "not recovered" and f.rejoined is None and 3.0 <= f.ended < 20
    problem = next(p for p in report.problems if p.startswith("the cluster did not recover"))
    assert f"did not rejoin in {f.ended:.1f} s" in problem
    assert "last seen: mnodes: dnode " in problem and "pod tdengine-0" in problem  # what it saw, not a guess
    assert f"not seen in {f.ended:.1f} s  dnode {f.dnode_id} ready and its mnode a follower: rejoined" in text


class PollsNeverCatchTheRestart:
    """The simulator's Kubernetes as a slow poller sees it: a pod that is absent, Terminating or not Ready
    shows as it last was while Ready, so only its uid tells that it was deleted and recreated."""

    def __init__(self, sim) -> None:
        self.sim = sim
        self.last_ready: dict[str, object] = {}
        self.uids: list[str] = []

    def __getattr__(self, name):
        return getattr(self.sim.kube, name)

    def list_pods(self, namespace, statefulset):
        shown = []
        for pod in self.sim.kube.list_pods(namespace, statefulset):
            if pod.ready and not pod.deleting:
                self.last_ready[pod.name] = pod
            shown.append(self.last_ready.get(pod.name, pod))
        self.uids.append(next(p.uid for p in shown if p.name == "tdengine-0"))
        return shown


def test_a_pod_recreated_between_two_polls_counts_as_back():
    """On a real cluster a pod can be deleted and Ready again between two polls: its new uid says so."""
    sim = healthy()
    try:
        kube = PollsNeverCatchTheRestart(sim)
        code, report, text, progress = verify(sim, failover=True, kube=kube)
    finally:
        sim.stop()
    assert code == command.OK, text
    f = report.failover
    assert f.pod_ready is not None and f.rejoined is not None and f.rejoined >= f.pod_ready
    assert len(set(kube.uids)) == 2  # the poller saw only two pods: the deleted one, then its replacement
    assert any(line.startswith("failover: pod tdengine-0 Ready again after ") for line in progress)


def test_writes_refused_through_the_window_are_shown_not_judged(sim):
    """A real 3.3.7.5 cluster blocked writes up to 15 s and reads up to 40 s while its vgroups elected (reference
    §15), longer than the window a pod back in 15 s leaves: the report shows them, the verdict is the recovery's."""
    sim.faults.sql_error(2316, pattern=r"^insert", times=10_000)
    code, report, text, _ = verify(sim, failover=True)
    f = report.failover
    assert f.write_ok is None and f.read_ok is not None and f.acknowledged == 0
    assert f.refused and any(e.startswith("write: 0x090C") for e in f.refused)
    assert f"not seen in {f.ended:.1f} s  write ok into {f.write_table}" in text and "refused from +" in text
    assert code == command.OK and report.problems == [] and f.outcome == "leader moved"


def test_sim_writes_and_reads_wait_for_a_vgroup_leader(sim):
    """The simulator's side of the failover: no vnode leader for `election_seconds` after its taosd stops,
    and meanwhile writes and reads fail with 0x090C; ins_tables places every child table in a vgroup."""

    def sql(text):
        return requests.post(f"{sim.url}/rest/sql", data=text, auth=("root", PW), timeout=5).json()

    result = sim.kube.exec_in_pod(
        NS, "tdengine-1", ["taosBenchmark", "-d", "m", "-t", "4", "-n", "5", "-a", "3", f"-p{PW}"]
    )
    assert result.exit_code == 0, result.stderr
    placed = sql("select table_name, vgroup_id from information_schema.ins_tables where db_name = 'm'")
    assert placed["column_meta"] == [["table_name", "VARCHAR", 192], ["vgroup_id", "INT", 4]]
    vgroups = {v["id"]: v for v in sim.vgroups() if v["db"] == "m"}
    assert sorted(r[0] for r in placed["data"]) == ["d0", "d1", "d2", "d3"] and {r[1] for r in placed["data"]} == set(
        vgroups
    )
    assert sql("select count(*) from m.meters")["data"] == [[20]]
    assert sql("insert into m.nosuch values (now, 1)")["code"] == 9731
    leader = vgroups[placed["data"][0][1]]["leader"]
    ordinal = next(o for o in range(3) if sim.dnode_id(o) == leader)
    stopped = time.monotonic()
    sim.kube.crash_pod(ordinal)
    refused = sql("insert into m.d0 (ts) values (now)")
    assert (refused["code"], refused["desc"]) == (2316, "Sync leader is unreachable")
    assert sql("select count(*) from m.meters")["code"] == 2316
    sim.wait_until(lambda s: sql("insert into m.d0 (ts) values (now)")["code"] == 0)
    assert time.monotonic() - stopped >= ELECTION
    assert vgroups[placed["data"][0][1]]["id"] in {v["id"] for v in sim.vgroups() if v["leader"] != leader}
    assert sql("select count(*) from m.meters")["data"] == [[21]]


def example_report() -> str:
    """The README's example: a failover run against the simulator, as `verify --failover` prints it."""
    sim = healthy()
    try:
        out = io.StringIO()
        command.run(ARGS, PW, failover=True, out=out, options=options(), kube_factory=lambda *_: sim.kube)
        return out.getvalue()
    finally:
        sim.stop()


def _shape(text: str) -> str:
    return re.sub(r"\d+", "N", text)


def test_the_documented_example_is_what_verify_prints():
    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = page.split("\n## Verifying a deployed cluster\n", 1)[1].split("\n## ", 1)[0]
    blocks = [part.split("```", 1)[0] for part in section.split("```text\n")[1:]]
    example = next(b for b in blocks if b.startswith("verify "))  # the full report (another block shows a failure)
    assert _shape(example) == _shape(example_report())


if __name__ == "__main__":
    print(example_report(), end="")
