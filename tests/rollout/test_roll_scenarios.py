"""Day-2 changes against the simulator, played in the engine's order (`tests/rollout/engine.py`): what preview
says, the rolling restart's order and gates, volume expansion, the recreation of the StatefulSet object, TDengine's
version rules, a full restart when acknowledged, and each refusal changing nothing. Every scenario checks that no
data-safety violation happened and that never more than one dnode was down because of the roll."""

from __future__ import annotations

import pytest

from components.tdengine.errors import Refused, WaitTimedOut
from tests.rollout.engine import CheckRefused, DayTwoEngine
from tests.rollout.monitor import DownWatch
from tests.sim import SimCluster

NEXT = "tdengine/tdengine:3.3.7.6"
FEATURE = "tdengine/tdengine:3.3.8.0"
NS = "tdengine-test"


@pytest.fixture
def sim():
    with SimCluster() as s:
        yield s
        assert s.violations == []


def running(sim: SimCluster, n: int = 3) -> DayTwoEngine:
    """An n-pod cluster brought up by `pulumi up`, with a replica-3 database (a replica-1 one on 1-2 pods)."""
    sim.bootstrap(n)
    engine = DayTwoEngine(sim)
    engine.up(n)
    sim.create_database("app", replica=3 if n >= 3 else 1, vgroups=4)
    return engine


def revisions(sim: SimCluster) -> set[str]:
    return {p.revision for p in sim.kube.pods()}


def uids(sim: SimCluster) -> dict[str, str]:
    return {p.name: p.uid for p in sim.kube.pods()}


def healthy(engine: DayTwoEngine, n: int) -> None:
    top = engine.topology()
    assert sorted(d["pod"] for d in top["dnodes"]) == [f"tdengine-{i}" for i in range(n)]
    assert all(d["status"] == "ready" for d in engine.sim.dnodes())
    assert sorted(m["role"] for m in engine.sim.mnodes()) == sorted(["leader"] + ["follower"] * (min(3, n) - 1))
    assert all(vg["leader"] in vg["members"] for vg in engine.sim.vgroups())


def test_an_image_upgrade_rolls_one_pod_at_a_time_highest_first_leader_last(sim, capsys):
    engine = running(sim)
    assert "rolling restart of 3 pods, one at a time" in engine.preview(3, image=NEXT)
    before = sim.mutations()
    with DownWatch(sim) as watch:
        engine.up(3, image=NEXT)
    assert sim.kube.restarts == ["tdengine-2", "tdengine-1", "tdengine-0"]  # dnode 1 (pod 0) leads the mnodes
    assert watch.most == 1 and [down for _, down in watch.seen if down] == [(2,), (1,), (0,)]
    assert revisions(sim) == {sim.kube.update_revision}
    assert sim.mutations() == before  # a restart sends no SQL change
    err = capsys.readouterr().err
    assert (
        "restart tdengine-2 (dnode 2), 1 of 3: image 3.3.7.5 -> 3.3.7.6" in err
        and "back, its dnode ready and every vgroup caught up" in err
    )
    assert "rolling restart done: tdengine-2, tdengine-1, tdengine-0 restarted" in err
    healthy(engine, 3)
    assert engine.log[-2:] == ["update change", "update rollout"]


def test_the_mnode_leaders_pod_goes_last(sim):
    engine = running(sim, 4)
    sim.kube.crash_pod(0)  # the leader moves to another mnode
    sim.wait_until(lambda s: any(m["role"] == "leader" and "tdengine-0" not in m["endpoint"] for m in s.mnodes))
    sim.kube.restart_pod(0)
    sim.wait_until(lambda s: all(d["status"] == "ready" for d in s.dnodes) and all(p.ready for p in s.pods))
    leader = next(m for m in sim.mnodes() if m["role"] == "leader")["endpoint"].split(".")[0]
    sim.kube.restarts.clear()
    with DownWatch(sim) as watch:
        engine.up(4, cpu_request="750m")
    assert sim.kube.restarts[-1] == leader and len(sim.kube.restarts) == 4
    others = [p for p in sim.kube.restarts[:-1]]
    assert others == sorted(others, key=lambda p: int(p.rsplit("-", 1)[1]), reverse=True)
    assert watch.most == 1
    healthy(engine, 4)


def test_a_settings_change_and_a_scale_out_in_one_up(sim, capsys):
    engine = running(sim)
    said = engine.preview(4, taos_settings={"TAOS_X": "1"}, cpu_request="600m")
    assert "scale-out 3 -> 4 dnodes; then rolling restart of 4 pods" in said
    assert "one at a time (cpuRequest 500m -> 600m, taosSettings TAOS_X)" in said
    engine.up(4, taos_settings={"TAOS_X": "1"}, cpu_request="600m")
    assert sorted(sim.kube.restarts) == ["tdengine-0", "tdengine-1", "tdengine-2"]  # tdengine-3 was born new
    err = capsys.readouterr().err
    assert "1 of 4: cpuRequest 500m -> 600m, taosSettings TAOS_X" in err and "pod template changed" not in err
    assert revisions(sim) == {sim.kube.update_revision}
    healthy(engine, 4)


def test_a_change_that_restarts_nothing_runs_nothing(sim):
    engine = running(sim)
    engine.log.clear()
    assert engine.preview(3, drain_timeout=60, pod_disruption_budget=False) == ""
    engine.up(3, drain_timeout=60)
    assert sim.kube.restarts == [] and "update rollout" not in engine.log


def test_volume_expansion_expands_every_pvc_and_restarts_nothing(sim, capsys):
    engine = running(sim)
    pods = uids(sim)
    assert "volume expansion, no restart (taosdata 5Gi -> 10Gi)" in engine.preview(3, storage_size="10Gi")
    engine.up(3, storage_size="10Gi")
    sizes = {p.name: (p.requested, p.capacity) for p in sim.kube.list_pvc_states(NS, "tdengine", ["taosdata"])}
    assert sizes == {f"taosdata-tdengine-{i}": ("10Gi", "10Gi") for i in range(3)}
    assert "replace statefulset" in engine.log and sim.kube.sts_exists
    assert uids(sim) == pods and sim.kube.restarts == []
    err = capsys.readouterr().err
    assert "resize PVC taosdata-tdengine-0: 5Gi -> 10Gi" in err and "with orphan propagation" in err
    healthy(engine, 3)


def test_a_smaller_volume_another_class_or_a_log_volume_are_refused_in_preview(sim):
    engine = running(sim)
    mutations, pvcs = len(sim.mutations()), sim.kube.list_pvc_states("tdengine-test", "tdengine", ["taosdata"])
    for settings, says in (
        ({"storage_size": "1Gi"}, "Kubernetes cannot shrink a volume"),
        ({"storage_class": "fast"}, "moving every dnode's data"),
        ({"log_storage_size": "1Gi"}, "taoslog added"),
        ({"service_name": "taos2"}, "changes every dnode's endpoint"),
    ):
        with pytest.raises(CheckRefused) as err:
            engine.preview(3, **settings)
        assert says in str(err.value) and "Fix: " in str(err.value)
        with pytest.raises(CheckRefused):
            engine.up(3, **settings)
    assert sim.kube.restarts == [] and len(sim.mutations()) == mutations
    assert sim.kube.list_pvc_states("tdengine-test", "tdengine", ["taosdata"]) == pvcs


def test_a_class_that_cannot_expand_is_refused_in_preview_from_what_the_last_up_read(sim):
    sim.kube.expandable = False
    engine = running(sim)
    assert engine.outputs("change")["storageClassExpands"] is False
    with pytest.raises(Refused, match="did not allow volume expansion") as err:
        engine.preview(3, storage_size="10Gi")
    assert "Nothing was changed" in str(err.value)


def test_a_class_that_stopped_expanding_is_refused_before_anything_changes(sim):
    engine = running(sim)
    sim.kube.expandable = False  # changed since the last up: preview cannot know, the update reads it again
    with pytest.raises(Refused, match="does not allow volume expansion"):
        engine.up(3, storage_size="10Gi")
    assert sim.kube.sts_exists and sim.kube.restarts == []
    assert {p.requested for p in sim.kube.list_pvc_states("tdengine-test", "tdengine", ["taosdata"])} == {"5Gi"}


def test_a_pod_management_policy_change_recreates_the_object_only(sim):
    engine = running(sim)
    pods = uids(sim)
    assert "StatefulSet object recreated, no restart" in engine.preview(3, pod_management_policy="OrderedReady")
    engine.up(3, pod_management_policy="OrderedReady")
    assert "replace statefulset" in engine.log and uids(sim) == pods and sim.kube.restarts == []


def test_a_feature_release_is_refused_with_the_rule_and_rolls_only_with_the_acknowledgement(sim):
    engine = running(sim)
    with pytest.raises(CheckRefused) as err:
        engine.preview(3, image="tdengine/tdengine:3.3.8.0")
    assert "does not support rolling upgrades" in str(err.value) and "allowFullRestart" in str(err.value)
    assert "docs/en/28-releases/01-tdengine.md" in str(err.value)
    assert "full restart of 3 pods at once" in engine.preview(3, image=FEATURE, allow_full_restart=True)
    engine.up(3, image="tdengine/tdengine:3.3.8.0", allow_full_restart=True)
    assert sorted(sim.kube.restarts) == ["tdengine-0", "tdengine-1", "tdengine-2"]
    assert revisions(sim) == {sim.kube.update_revision}
    healthy(engine, 3)


def test_an_unhealthy_cluster_is_refused_before_anything_restarts(sim):
    engine = running(sim)
    sim.kube.crash_pod(1)
    sim.wait_until(lambda s: s.dnode(sim.endpoint(1))["status"] == "offline")
    with pytest.raises(Refused) as err:
        engine.up(3, image=NEXT, overrides={"readyTimeoutSeconds": 2.0})
    assert "dnode 3 of tdengine-1 is offline" in str(err.value) and "No pod was restarted" in str(err.value)
    assert sim.kube.restarts == []
    sim.kube.restart_pod(1)
    sim.wait_until(lambda s: all(d["status"] == "ready" for d in s.dnodes))
    engine.up(3, image=NEXT)  # the fix: the pod back, the same up again
    assert revisions(sim) == {sim.kube.update_revision}
    healthy(engine, 3)


def test_a_pod_that_never_comes_back_stops_the_roll_and_a_revert_brings_it_back(sim):
    engine = running(sim)
    engine.up(3, image=NEXT, overrides={"readyTimeoutSeconds": 5.0})  # to learn its revision
    sim.kube.restarts.clear()
    bad = "tdengine/tdengine:3.3.7.7"
    sim.kube.broken_revisions.add(f"tdengine-{engine.inputs(3, {}, image=bad)['_template']['hash']}")
    with DownWatch(sim) as watch, pytest.raises(WaitTimedOut) as err:
        engine.up(3, image=bad, overrides={"stallTimeoutSeconds": 0.5, "readyTimeoutSeconds": 5.0})
    assert sim.kube.restarts == ["tdengine-2"] and watch.most == 1
    assert "pod tdengine-2 is not Ready (Running, CrashLoopBackOff)" in str(err.value)
    assert "The roll stopped with tdengine-2 restarted and nothing else" in str(err.value)
    engine.up(3, image=NEXT)  # the operator sets the image back: the pod it left down restarts first
    assert sim.kube.restarts == ["tdengine-2", "tdengine-2"]
    assert revisions(sim) == {sim.kube.update_revision}
    healthy(engine, 3)


def test_an_interrupted_roll_resumes_from_the_pods_revisions(sim):
    engine = running(sim)
    delete = sim.kube.delete_pod

    def interrupted(namespace: str, name: str) -> None:
        delete(namespace, name)
        raise KeyboardInterrupt  # the run stops right after its first restart

    sim.kube.delete_pod = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        engine.up(3, image=NEXT)
    sim.kube.delete_pod = delete  # type: ignore[method-assign]
    with DownWatch(sim) as watch:
        engine.up(3, image=NEXT)  # the re-run waits for tdengine-2 to catch up, then goes on
    assert sim.kube.restarts == ["tdengine-2", "tdengine-1", "tdengine-0"] and watch.most == 1
    healthy(engine, 3)


def test_setting_back_a_roll_that_stopped_half_way_restarts_what_it_left_down_first(sim):
    """tdengine-2 took the new image, tdengine-1 never came back: setting the image back restarts tdengine-1 first
    (down already), then tdengine-2, which runs the abandoned revision; tdengine-0 never restarts."""
    engine = running(sim)
    old_revision = sim.kube.update_revision
    sim.kube.crash_once.add(1)
    with pytest.raises(WaitTimedOut):
        engine.up(3, image=NEXT, overrides={"stallTimeoutSeconds": 0.5, "readyTimeoutSeconds": 5.0})
    assert sim.kube.restarts == ["tdengine-2", "tdengine-1"]
    with DownWatch(sim, excused={1}) as watch:
        engine.up(3, image="tdengine/tdengine:3.3.7.5")
    assert sim.kube.restarts == ["tdengine-2", "tdengine-1", "tdengine-1", "tdengine-2"] and watch.most <= 1
    assert revisions(sim) == {old_revision} == {sim.kube.update_revision}
    healthy(engine, 3)
