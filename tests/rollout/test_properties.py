"""Property-based test of day-2 changes: random sequences of setting changes mixed with scale changes and faults,
against the simulator, every resource played in the engine's order (`tests/rollout/engine.py`).

Hypothesis generates sequences of: `up(n)` for n in 3..6 together with a change of settings (none, a maintenance
image, cpuRequest, a taosSettings entry, a larger storageSize, podManagementPolicy), databases of replica 1 or 3,
pod crashes, restarts and bounces, and runs with a fault (taosAdapter slow or answering 503, taosAdapter gone
while a restarted pod comes back, the run interrupted right after a restart), each followed when it failed by the
re-run its error asks for. No draw depends on the cluster's state, so Hypothesis replays a sequence exactly.

During every run a watcher samples the cluster every few milliseconds. After every step:
- always: no data-safety violation, every vgroup with all its replicas on dnodes of the cluster and its tables,
  and never more than one dnode (or member pod) down at once because of the run (crashed pods excused);
- a refusal (a Check failure, or a refused restart) changed nothing: no pod restarted, no SQL change, the same
  dnodes and PVC sizes;
- from a healthy cluster with no fault: the run converges (n ready dnodes, min(3, n) mnodes with one leader, every
  pod on the StatefulSet's current revision, every PVC of the configured size), or is refused exactly when the
  model says (a StatefulSet recreation in the same `up` as a scale change);
- a failed run (a crash, a fault) is followed, with the fault gone and pods restarted, by a re-run that converges.

`TDENGINE_DAY2_EXAMPLES` (default 10) and `TDENGINE_DAY2_STEPS` (default 6) set the budget; the counts are printed
in pytest's terminal summary.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from components.tdengine.errors import ClusterError, Refused
from tests.rollout.engine import CheckRefused, DayTwoEngine
from tests.rollout.monitor import DownWatch
from tests.sim import SimCluster, SqlError, ops

EXAMPLES = int(os.environ.get("TDENGINE_DAY2_EXAMPLES", "10"))
STEPS = int(os.environ.get("TDENGINE_DAY2_STEPS", "6"))
PASSWORD = "Prop-Test.Pw9"
CHANGES = ["none", "image", "cpu", "taos", "storage", "policy"]
FAULTS = ["delay", "http", "unreachable", "interrupt"]
SHORT = {"readyTimeoutSeconds": 1.5, "stallTimeoutSeconds": 0.6}


@dataclass
class Stats:
    sequences: int = 0
    steps: int = 0
    ups: int = 0
    converged: int = 0
    refusals: int = 0
    failures: int = 0
    resumed: int = 0
    restarts: int = 0
    most_down: int = 0
    violations: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"day-2 property test: {self.sequences} sequences, {self.steps} steps, {self.ups} pulumi ups "
            f"({self.converged} converged, {self.refusals} refusals, {self.failures} failed under faults, "
            f"{self.resumed} re-runs converged after one), {self.restarts} pod restarts, at most {self.most_down} "
            f"dnode down at once, {len(self.violations)} violations"
        )


class DayTwoMachine(RuleBasedStateMachine):
    stats: ClassVar[Stats] = Stats()

    def __init__(self) -> None:
        super().__init__()
        self.sim = SimCluster(migration_seconds=0.01, root_password=PASSWORD).start()
        self.engine = DayTwoEngine(self.sim)
        self.crashed: set[int] = set()
        self.versions = 5  # the default image, tdengine/tdengine:3.3.7.5
        self.cpu = 500
        self.size = 5
        self.policy = "Parallel"
        self.taos: dict[str, str] = {}
        self.databases: dict[str, int] = {}
        self.tables: dict[int, int] = {}
        self.intent: tuple[int, dict[str, Any]] | None = None
        self.stats.sequences += 1

    def teardown(self) -> None:
        try:
            self._heal()
            if self.intent is not None:
                n, changes = self.intent
                assert self._up(n, changes) == "converged", self._last_error
        finally:
            self.sim.stop()

    # -- rules ----------------------------------------------------------------------------------------
    @initialize(n=st.integers(3, 5))
    def create(self, n: int) -> None:
        self.sim.bootstrap(n)
        assert self._up(n, {}) == "converged", self._last_error

    @rule(n=st.integers(3, 6), change=st.sampled_from(CHANGES))
    def up(self, n: int, change: str) -> None:
        self._step()
        changes = self._change(change)
        healthy = not self.crashed
        outcome = self._up(n, changes, **({} if healthy else SHORT))
        if healthy:
            self._expect(outcome, n, changes)
        else:
            self._retry_after(outcome, n, changes)

    @rule(replica=st.sampled_from([1, 3]), vgroups=st.integers(1, 2), tables=st.integers(0, 3))
    def create_database(self, replica: int, vgroups: int, tables: int) -> None:
        self._step()
        if len(self.databases) >= 2 or (replica == 3 and self.sim.kube.replicas < 3):
            return
        name = f"db{len(self.databases)}"
        try:
            self.sim.create_database(name, replica=replica, vgroups=vgroups)
        except SqlError:
            return
        self.databases[name] = replica
        for _ in range(tables):
            ops.create_table(self.sim.cluster, name)
        self.tables = {vg["id"]: vg["tables"] for vg in self.sim.vgroups()}

    @rule(event=st.sampled_from(["crash", "restart", "bounce"]), ordinal=st.integers(0, 5))
    def pod_event(self, event: str, ordinal: int) -> None:
        self._step()
        if event == "restart" or self.crashed:
            for o in sorted(self.crashed):
                self._restart(o)
        elif self.sim.kube.replicas:
            o = ordinal % self.sim.kube.replicas
            if event == "crash":
                self.sim.kube.crash_pod(o)
                self.crashed.add(o)
                endpoint = self.sim.endpoint(o)
                self.sim.wait_until(lambda s: s.dnode(endpoint) is None or s.dnode(endpoint)["status"] != "ready")
            else:
                self._restart(o)
        self._check_safety()

    @rule(n=st.integers(3, 6), change=st.sampled_from(CHANGES[1:4]), fault=st.sampled_from(FAULTS))
    def up_with_fault(self, n: int, change: str, fault: str) -> None:
        self._step()
        changes = self._change(change)
        if fault == "delay":
            self.sim.faults.delay(r"^select", seconds=0.3, times=2)
        elif fault == "http":
            self.sim.faults.http_error(503, times=2, pattern=r"^(show|select)")
        delete = self.sim.kube.delete_pod

        def faulty_delete(namespace: str, name: str) -> None:
            delete(namespace, name)
            if fault == "unreachable":
                self.sim.faults.unreachable(True)
                threading.Timer(0.2, self.sim.faults.unreachable, args=(False,)).start()
            elif fault == "interrupt":
                raise KeyboardInterrupt

        self.sim.kube.delete_pod = faulty_delete  # type: ignore[method-assign]
        try:
            outcome = self._up(n, changes, statementTimeoutSeconds=0.15, **SHORT)
        finally:
            self.sim.kube.delete_pod = delete  # type: ignore[method-assign]
            self.sim.faults.clear()
        self._retry_after(outcome, n, changes)

    # -- one `pulumi up` and its checks --------------------------------------------------------------------
    def _up(self, n: int, changes: dict[str, Any], **overrides: Any) -> str:
        """Run `up(n)` with `changes`; returns converged / refused / failed after checking what each promises."""
        self.stats.ups += 1
        healthy = not self.crashed
        before = self._before()
        restarts = len(self.sim.kube.restarts)
        watch = DownWatch(self.sim, excused=set(self.crashed))
        try:
            with watch:
                self.engine.up(n, overrides, **changes)
        except (CheckRefused, Refused) as err:
            self._last_error = err
            self._check_refusal(err, before, restarts)
            return "refused"
        except (ClusterError, TimeoutError, KeyboardInterrupt) as err:
            self._last_error = err
            self.stats.failures += 1
            self.intent = (n, changes)
            return "failed"
        finally:
            self.crashed = {o for o in self.crashed if o < self.sim.kube.replicas}
            self.stats.restarts += len(self.sim.kube.restarts) - restarts
            self._check_safety()
            self._check_down(watch)
        self.intent = (n, changes)
        if healthy:
            self._check_converged(n)
        return "converged"

    def _check_down(self, watch: DownWatch) -> None:
        self.stats.most_down = max(self.stats.most_down, watch.most)
        assert watch.most <= 1, f"{watch.most} down at once because of the run: {watch.seen}"

    def _expect(self, outcome: str, n: int, changes: dict[str, Any]) -> None:
        recreates = "storage_size" in changes or "pod_management_policy" in changes
        if recreates and n != self.sim.kube.replicas and outcome == "refused":
            assert "in an `up` of its own" in str(self._last_error)
            self._forget(changes)
            return
        assert outcome == "converged", f"up({n}, {changes}) from a healthy cluster: {outcome}: {self._last_error}"
        self._keep(changes)

    def _retry_after(self, outcome: str, n: int, changes: dict[str, Any]) -> None:
        if outcome == "converged":
            self._keep(changes)
            return
        if outcome == "refused":
            self._forget(changes)
            return
        self._heal()
        again = self._up(n, changes)
        if again == "refused":  # a recreation with a scale change, only now checked on a healthy cluster
            self._expect(again, n, changes)
            return
        assert again == "converged", f"re-run of up({n}, {changes}): {again}: {self._last_error}"
        self.stats.resumed += 1
        self._keep(changes)

    # -- the settings the sequence changes --------------------------------------------------------------
    def _change(self, change: str) -> dict[str, Any]:
        current: dict[str, Any] = {
            "image": f"tdengine/tdengine:3.3.7.{self.versions}",
            "cpu_request": f"{self.cpu}m",
            "storage_size": f"{self.size}Gi",
            "pod_management_policy": self.policy,
            "taos_settings": dict(self.taos),
        }
        if change == "image":
            current["image"] = f"tdengine/tdengine:3.3.7.{self.versions + 1}"
        elif change == "cpu":
            current["cpu_request"] = f"{self.cpu + 50}m"
        elif change == "taos":
            current["taos_settings"] = {**self.taos, "TAOS_NUM_OF_RPC_THREADS": str(2 + len(self.taos))}
        elif change == "storage":
            current["storage_size"] = f"{self.size + 1}Gi"
        elif change == "policy":
            current["pod_management_policy"] = "OrderedReady" if self.policy == "Parallel" else "Parallel"
        return current

    def _keep(self, changes: dict[str, Any]) -> None:
        self.versions = int(changes["image"].rsplit(".", 1)[1])
        self.cpu = int(changes["cpu_request"].rstrip("m"))
        self.size = int(changes["storage_size"].rstrip("Gi"))
        self.policy = changes["pod_management_policy"]
        self.taos = dict(changes["taos_settings"])

    def _forget(self, changes: dict[str, Any]) -> None:
        """A refused change is not kept: the next step changes from the last accepted settings."""

    # -- checks ---------------------------------------------------------------------------------------
    def _before(self) -> tuple[int, list[int], list[tuple[str, str]]]:
        pvcs = self.sim.kube.list_pvc_states("tdengine-test", "tdengine", ["taosdata"])
        return (
            len(self.sim.mutations()),
            sorted(d["id"] for d in self.sim.dnodes()),
            [(p.name, p.requested) for p in pvcs],
        )

    def _check_refusal(self, err: Exception, before: tuple[int, list[int], list[tuple[str, str]]], restarts: int):
        self.stats.refusals += 1
        assert "Fix: " in str(err) and self.sim.password not in str(err), str(err)
        assert self.sim.kube.restarts[restarts:] == [], f"restarted, then refused: {err}"
        assert self._before() == before, f"changed, then refused: {err}"

    def _check_converged(self, n: int) -> None:
        self.stats.converged += 1
        sim = self.sim
        dnodes = sim.dnodes()
        assert len(dnodes) == n and all(d["status"] == "ready" for d in dnodes), dnodes
        roles = sorted(m["role"] for m in sim.mnodes())
        assert roles == sorted(["leader"] + ["follower"] * (min(3, n) - 1)), roles
        assert {p.revision for p in sim.kube.pods()} == {sim.kube.update_revision}, sim.kube.pods()
        sizes = {p.requested for p in sim.kube.list_pvc_states("tdengine-test", "tdengine", ["taosdata"])}
        assert sizes == {self.engine.settings.get("storage_size", "5Gi")}, sizes

    def _check_safety(self) -> None:
        violations = self.sim.violations
        self.stats.violations += violations[self._seen :]
        self._seen = len(violations)
        assert violations == [], violations
        ids = {d["id"] for d in self.sim.dnodes()}
        for vg in self.sim.vgroups():
            assert len(vg["members"]) == self.databases[vg["db"]] and set(vg["members"]) <= ids, vg
            assert vg["tables"] >= self.tables.get(vg["id"], 0), vg

    _seen: int = 0
    _last_error: Exception | None = None

    def _step(self) -> None:
        self.stats.steps += 1

    def _restart(self, o: int) -> None:
        endpoint = self.sim.endpoint(o)
        old = self.sim.snapshot().dnode(endpoint)
        self.sim.kube.restart_pod(o)
        self.crashed.discard(o)
        if old is not None:
            # a new start time, after the 0 TDengine shows for a status interval once the new taosd reports (§15)
            back = ("1970-01-01T00:00:00.000Z", old["reboot_time"])
            self.sim.wait_until(lambda s: (s.dnode(endpoint) or {}).get("reboot_time") not in back)
        self._settle()

    def _settle(self) -> None:
        def settled(s: Any) -> bool:
            pods = all(p.ready for p in s.pods if p.ordinal not in self.crashed)
            busy = s.transactions or any(d["status"].startswith("dropping") for d in s.dnodes)
            return pods and not busy and any(m["role"] == "leader" for m in s.mnodes)

        self.sim.wait_until(settled, timeout=10.0)

    def _heal(self) -> None:
        self.sim.faults.clear()
        for o in sorted(self.crashed):
            self._restart(o)
        self._settle()


def test_setting_changes_mixed_with_scaling_and_faults_keep_the_cluster_safe(property_summary):
    stats = Stats()
    DayTwoMachine.stats = stats
    try:
        run_state_machine_as_test(
            DayTwoMachine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                print_blob=False,
            ),
        )
    finally:
        property_summary.append(stats.line())
    assert stats.sequences >= EXAMPLES and stats.violations == [] and stats.most_down <= 1
