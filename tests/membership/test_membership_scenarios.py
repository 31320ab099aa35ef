"""The membership provider against the TDengine simulator: the seed's runbook done by `pulumi up`.

Each scenario checks the exact statements sent (mutations), the final topology, and that the simulator
recorded no data-safety violation.

Over 300 lines: the runbook's scenarios side by side, sharing one engine and one set of checks.
"""

from __future__ import annotations

import threading
import time

import pytest

from components.tdengine.errors import ClusterError, Refused, TDengineError, WaitTimedOut
from tests.engine import Engine
from tests.harness import drain_timed_out
from tests.sim import SimCluster


@pytest.fixture
def sim():
    with SimCluster(migration_seconds=0.05) as s:
        yield s
        assert s.violations == []


def ids(sim: SimCluster) -> dict[str, int]:
    return {d["endpoint"].split(".")[0]: d["id"] for d in sim.dnodes()}


def test_create_3_makes_3_mnodes(sim):
    sim.bootstrap(3)
    engine = Engine(sim)
    topology = engine.up(3)["topology"]
    dnode = ids(sim)
    assert sim.mutations() == [
        f"create mnode on dnode {dnode['tdengine-1']}",
        f"create mnode on dnode {dnode['tdengine-2']}",
    ]
    assert sorted(m["role"] for m in topology["mnodes"]) == ["follower", "follower", "leader"]
    assert {d["pod"]: d["status"] for d in topology["dnodes"]} == {f"tdengine-{i}": "ready" for i in range(3)}
    engine.up(3)
    assert len(sim.mutations()) == 2  # converged: a second run sends nothing


def test_seed_sequence_3_4_3_4(sim):
    sim.bootstrap(3)
    engine = Engine(sim)
    engine.up(3)
    sim.create_database("app", replica=3, vgroups=2)
    engine.up(4)
    first_id = ids(sim)["tdengine-3"]
    before = len(sim.mutations())

    engine.up(3)
    assert sim.mutations()[before:] == [f"drop dnode {first_id}"]
    assert "tdengine-3" not in ids(sim)
    assert [p.name for p in sim.kube.pvcs()] == [f"taosdata-tdengine-{i}" for i in range(3)]

    engine.up(4)
    second_id = ids(sim)["tdengine-3"]
    assert second_id > first_id  # ids are never reused: the re-added pod is a new dnode
    assert {d["pod"]: d["status"] for d in engine.topology()["dnodes"]}["tdengine-3"] == "ready"
    assert len(engine.topology()["mnodes"]) == 3


def test_stale_pvc_is_pruned_before_the_ordinal_is_reused(sim):
    sim.bootstrap(4)
    engine = Engine(sim)
    engine.up(4)
    drained_id = ids(sim)["tdengine-3"]
    # an interrupted run: drained and shrunk, but ClusterMembership never reclaimed the volume
    engine.decommission_outs = engine.decommission.update("id", engine.decommission_outs, _props(sim, 3)).outs
    engine.scale_statefulset(3)
    assert "taosdata-tdengine-3" in [p.name for p in sim.kube.pvcs()]

    engine.up(4)  # DnodeDecommission prunes it before the StatefulSet grows
    assert ids(sim)["tdengine-3"] > drained_id
    assert {d["pod"]: d["status"] for d in engine.topology()["dnodes"]}["tdengine-3"] == "ready"


def test_without_pruning_the_stale_volume_is_replaced_and_the_pod_rejoins(sim, capsys):
    """The StatefulSet grown by hand, keeping the released PVC: the pod runs on a dropped dnode's volume, and the
    `create dnode` ClusterMembership sends for it gets 'dnodeId not match'. It drops that empty row, replaces the
    volume (PVC, then pod) and the pod joins as a new dnode."""
    sim.bootstrap(4)
    engine = Engine(sim)
    engine.up(4)
    engine.decommission_outs = engine.decommission.update("id", engine.decommission_outs, _props(sim, 3)).outs
    engine.scale_statefulset(3)
    row = sim.cluster.max_dnode_id + 1  # the id `create dnode` gives it: ids are never reused
    sim.kube.scale(4)  # someone grows the StatefulSet by hand, keeping the released PVC
    time.sleep(0.2)
    before = len(sim.mutations())
    engine.membership_outs = engine.membership.update("id", engine.membership_outs, _props(sim, 4)).outs
    err = capsys.readouterr().err
    assert "tdengine-3 runs on the data volume of a dropped dnode" in err and "'dnodeId not match'" in err
    changes = sim.mutations()[before:]
    assert changes[:2] == [f"create dnode '{sim.endpoint(3)}'", f"drop dnode {row}"]
    assert sim.dnode_id(3) is not None and sim.dnode_id(3) > row
    assert {d["pod"]: d["status"] for d in engine.topology()["dnodes"]}["tdengine-3"] == "ready"
    assert sim.violations == []


def test_5_to_3_in_one_step_drains_highest_ordinal_first(sim):
    sim.bootstrap(5)
    engine = Engine(sim)
    engine.up(5)
    sim.create_database("app", replica=3, vgroups=4)
    dnode = ids(sim)
    before = len(sim.mutations())
    engine.up(3)
    drops = [m for m in sim.mutations()[before:] if m.startswith("drop dnode")]
    assert drops == [f"drop dnode {dnode['tdengine-4']}", f"drop dnode {dnode['tdengine-3']}"]
    assert engine.decommission_outs["drained"] == ["tdengine-4", "tdengine-3"]
    assert sorted(ids(sim)) == ["tdengine-0", "tdengine-1", "tdengine-2"]
    assert sum(d["vnodes"] for d in sim.dnodes()) == 12  # 4 vgroups x 3 replicas, none lost
    assert len(engine.topology()["mnodes"]) == 3


def test_refuses_to_go_below_a_replica_3_database(sim):
    sim.bootstrap(3)
    engine = Engine(sim)
    engine.up(3)
    sim.create_database("metrics", replica=3)
    before = len(sim.mutations())
    with pytest.raises(Refused, match="database 'metrics' has replica 3") as err:
        engine.up(2, allowFewerThanThreeDnodes=True)
    assert "Fix: keep replicas >= 3" in str(err.value)
    assert sim.mutations()[before:] == [] and len(sim.kube.pods()) == 3


def test_refuses_fewer_than_3_dnodes_without_acknowledgement(sim):
    sim.bootstrap(3)
    engine = Engine(sim)
    engine.up(3)
    with pytest.raises(Refused, match="allowFewerThanThreeDnodes"):
        engine.up(2)
    assert len(sim.kube.pods()) == 3


def test_refuses_an_offline_departing_dnode_unless_forced(sim):
    sim.bootstrap(4)
    engine = Engine(sim)
    engine.up(4)
    sim.create_database("app", replica=3, vgroups=2)
    sim.kube.crash_pod(3)
    sim.wait_until(lambda s: s.dnode(sim.endpoint(3))["status"] == "offline")
    before = len(sim.mutations())
    with pytest.raises(Refused, match="tdengine-3 is offline") as err:
        engine.up(3)
    assert "forceDropOffline" in str(err.value)
    assert sim.mutations()[before:] == []

    dropped = ids(sim)["tdengine-3"]
    engine.up(3, forceDropOffline=True)
    assert sim.mutations()[before:] == [f"drop dnode {dropped} force"]
    assert "tdengine-3" not in ids(sim)


def test_resumes_after_an_interrupted_drain(sim):
    sim.bootstrap(4)
    engine = Engine(sim)
    engine.up(4)
    sim.create_database("app", replica=1, vgroups=6)
    departing = ids(sim)["tdengine-3"]
    sim.faults.stall_drop(True)
    with pytest.raises(WaitTimedOut, match=r"^drain of \S+ stalled") as err:
        engine.up(3, stallTimeoutSeconds=0.3)
    assert "re-run `pulumi up` to keep waiting" in str(err.value)
    assert len(sim.kube.pods()) == 4  # the StatefulSet was not touched
    assert sim.snapshot().dnode(sim.endpoint(3))["status"] == "dropping"

    sim.faults.stall_drop(False)
    before = len(sim.mutations())
    engine.up(3)  # the next `pulumi up`: our dnode in `dropping` is waited for, not dropped again
    assert sim.mutations()[before:] == []
    assert "tdengine-3" not in ids(sim) and departing not in ids(sim).values()


def test_resumes_while_the_interrupted_drop_still_moves_vnodes(sim, capsys):
    """Issue 18: the next `up` starts while TDengine still moves the vnodes of the earlier run's `drop dnode`; the
    real server answers the preflight's `ins_disk_usage` 0x0503 meanwhile. The drop in flight is waited for (not
    sent again), then the rest of the scale-in is planned and done."""
    sim.bootstrap(5)
    engine = Engine(sim)
    engine.up(5)
    sim.create_database("app", replica=1, vgroups=10)
    first, second = ids(sim)["tdengine-4"], ids(sim)["tdengine-3"]
    sim.faults.stall_drop(True)
    with pytest.raises(WaitTimedOut, match=r"^drain of \S+ stalled"):
        engine.up(3, stallTimeoutSeconds=0.3)
    assert sim.snapshot().dnode(sim.endpoint(4))["status"] == "dropping"
    sim.faults.hold_moves(True)  # still moving, slowly, when the next `up` starts
    sim.faults.stall_drop(False)

    def release() -> None:
        time.sleep(0.3)
        sim.faults.hold_moves(False)

    threading.Thread(target=release, daemon=True).start()
    engine.up(3)
    assert [m for m in sim.mutations() if m.startswith("drop dnode")] == [f"drop dnode {first}", f"drop dnode {second}"]
    assert "tdengine-4" not in ids(sim) and "tdengine-3" not in ids(sim)
    assert "tdengine-4: its drop from an earlier run is still moving vnodes" in capsys.readouterr().err


def test_a_scale_in_taken_back_while_its_drop_still_runs_waits_for_the_drop(sim, capsys):
    """Seen on the real cluster: 5 -> 3 stopped while tdengine-3's drop moved its vnodes (tdengine-4, empty, already
    dropped), `replicas` set back to 5, refresh, `up` at once: `create dnode` for tdengine-4 met 979 (the drop's
    transaction still running) and the run failed. The joins now wait for the transaction; both pods come back as
    new dnodes on new volumes."""
    sim.bootstrap(4)
    engine = Engine(sim)
    engine.up(4)
    sim.create_database("app", replica=1, vgroups=8)  # on tdengine-0..3 only
    engine.up(5)
    first = ids(sim)
    sim.faults.stall_drop(True)
    with pytest.raises(WaitTimedOut, match=r"^drain of \S+ stalled"):
        engine.up(3, stallTimeoutSeconds=0.3)
    assert "tdengine-4" not in ids(sim) and sim.snapshot().dnode(sim.endpoint(3))["status"] == "dropping"
    sim.faults.hold_moves(True)  # still moving when the next `up` starts
    sim.faults.stall_drop(False)

    def release() -> None:
        time.sleep(0.5)
        sim.faults.hold_moves(False)

    threading.Thread(target=release, daemon=True).start()
    engine.refresh()
    engine.up(5)
    now = ids(sim)
    assert sorted(now) == [f"tdengine-{i}" for i in range(5)]
    assert now["tdengine-3"] > first["tdengine-4"] and now["tdengine-4"] > first["tdengine-4"]  # new dnodes
    err = capsys.readouterr().err
    assert "create dnode waits for transaction" in err and "(drop-dnode, stage redoAction) to end" in err, err


def test_background_continue_error_during_a_drop_means_keep_waiting(sim):
    sim.bootstrap(4)
    engine = Engine(sim)
    engine.up(4)
    sim.create_database("app", replica=1, vgroups=8)
    departing = ids(sim)["tdengine-3"]
    sim.faults.drop_background_error(code=981, after_seconds=0.02, times=1)
    engine.up(3)
    answers = [(r.sql, r.code) for r in sim.requests if r.sql.startswith("drop dnode")]
    assert answers == [(f"drop dnode {departing}", 981)]  # answered with the error, and not sent again
    assert "tdengine-3" not in ids(sim)
    assert engine.decommission_outs["drained"] == ["tdengine-3"]


def test_rest_timeout_during_a_drop_means_keep_waiting(sim):
    sim.bootstrap(4)
    engine = Engine(sim)
    engine.up(4)
    sim.create_database("app", replica=1, vgroups=8)
    departing = ids(sim)["tdengine-3"]
    sim.faults.delay(r"^drop dnode", seconds=1.0, times=1)
    engine.up(3, statementTimeoutSeconds=0.2)
    assert [m for m in sim.mutations() if m.startswith("drop")] == [f"drop dnode {departing}"]
    assert "tdengine-3" not in ids(sim)


def test_stall_detection_names_what_it_observed(sim):
    sim.bootstrap(4)
    engine = Engine(sim)
    engine.up(4)
    sim.create_database("app", replica=1, vgroups=4)
    sim.faults.stall_drop(True)
    with pytest.raises(WaitTimedOut, match=r"^drain of ") as err:
        engine.up(3, stallTimeoutSeconds=0.3)
    text = str(err.value)
    assert "tdengine-3" in text and "vnodes" in text and "drop-dnode" in text
    sim.faults.stall_drop(False)
    sim.wait_until(lambda s: s.dnode(sim.endpoint(3)) is None)


def test_wrong_password_is_a_clear_error_without_the_password(sim):
    sim.bootstrap(3)
    sim.set_root_password(
        "Other-Passw0rd"
    )  # not the default, which would be replaced (tests/membership/test_secrets.py)
    engine = Engine(sim)
    with pytest.raises(TDengineError) as err:
        engine.up(3, rootPassword="Wrong-Passw0rd")
    assert err.value.code == 855 and "rootPassword" in str(err.value)
    assert "Wrong-Passw0rd" not in str(err.value)
    assert sim.mutations() == []


def test_adapter_unreachable_fails_before_any_change(sim):
    sim.bootstrap(4)
    engine = Engine(sim)
    engine.up(4)
    sim.faults.unreachable(True)
    with pytest.raises(WaitTimedOut, match="unreachable") as err:
        engine.up(3, drainTimeoutSeconds=0.5)
    assert not drain_timed_out(err.value)  # the wait was for the connection, before any drain
    assert len(sim.kube.pods()) == 4
    sim.faults.unreachable(False)


def test_scale_down_moves_the_mnode_off_a_departing_dnode_first(sim):
    sim.bootstrap(3)
    engine = Engine(sim)
    engine.up(3)
    sim.create_database("app", replica=1, vgroups=3)
    leaving = ids(sim)["tdengine-2"]
    before = len(sim.mutations())
    engine.up(2, allowFewerThanThreeDnodes=True)
    assert sim.mutations()[before:] == [f"drop mnode on dnode {leaving}", f"drop dnode {leaving}"]
    roles = sorted(m["role"] for m in engine.topology()["mnodes"])
    assert roles == ["follower", "leader"]


def test_refuses_to_drain_the_mnode_leader_with_the_way_out(sim):
    sim.bootstrap(3)
    engine = Engine(sim)
    engine.up(3)
    from components.membership import plan
    from components.tdengine.naming import Naming
    from components.tdengine.rest import AdminClient
    from components.tdengine.session import read_state

    state = read_state(AdminClient(sim.url, sim.password))
    naming = Naming("tdengine", "taosd", "tdengine-test", "cluster.local", 6030)
    with pytest.raises(Refused, match="hosts the mnode leader") as err:
        plan.next_step(
            state,
            naming,
            "tdengine-0",
            ["tdengine-1", "tdengine-2"],
            plan.DrainOptions(force=False, allow_fewer_than_three=False),
        )
    assert "kubectl -n tdengine-test delete pod tdengine-0" in str(err.value)


def _props(sim: SimCluster, n: int, **overrides: object) -> dict:
    from tests.engine import props

    return props(sim, n, **overrides)


def test_engine_runs_drains_one_at_a_time(sim):
    """While a drop runs, no second drop is sent (the seed: one dnode at a time, in reverse order)."""
    sim.bootstrap(5)
    engine = Engine(sim)
    engine.up(5)
    sim.create_database("app", replica=1, vgroups=5)
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append(sum(1 for d in sim.dnodes() if d["status"].startswith("dropping")))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        engine.up(3)
    finally:
        stop.set()
        watcher.join()
    assert max(seen) == 1


def test_root_password_never_appears_in_outputs_logs_or_errors(capfd):
    secret = "Sup3r-Secret.pw"
    with SimCluster(root_password=secret) as sim:
        sim.bootstrap(4)
        engine = Engine(sim)
        engine.up(4)
        sim.create_database("app", replica=3, vgroups=2)
        engine.up(3)
        errors = []
        for attempt in ({"rootPassword": secret + "x"}, {"allowFewerThanThreeDnodes": False}):
            try:
                engine.up(2, **attempt)
            except ClusterError as err:
                errors.append(str(err))
        assert len(errors) == 2
        assert sim.violations == []
    out = capfd.readouterr()
    outs = [engine.decommission_outs, engine.membership_outs]
    public = [{k: v for k, v in o.items() if k != "rootPassword"} for o in outs]  # the key the engine encrypts
    dumped = repr(public) + "".join(errors) + out.out + out.err
    assert "tdengine-3: dnode gone" in out.err  # the progress lines were captured
    assert secret not in dumped
    assert [o["rootPassword"] for o in outs] == [secret, secret]  # kept for rotation (tests/membership/test_secrets.py)


def test_without_admin_url_the_provider_port_forwards_to_a_remaining_member(sim):
    sim.bootstrap(4)
    engine = Engine(sim)
    forwarded: list[str] = []
    real = sim.kube.port_forward

    def recording(namespace: str, pod: str, port: int):
        forwarded.append(f"{namespace}/{pod}:{port}")
        return real(namespace, pod, port)

    sim.kube.port_forward = recording
    engine.up(4, adminUrl="")
    engine.up(3, adminUrl="")
    assert forwarded and set(forwarded) == {"tdengine-test/tdengine-0:6041"}
    assert "tdengine-3" not in ids(sim)


def test_destroy_keeps_the_data_and_its_password_and_the_next_up_opens_it_again(sim, capfd):
    """The default destroy: PVCs kept with the root password; a new stack (another generated password) on the
    same namespace takes the data back, rotates it to its own password and removes the kept Secret."""
    sim.bootstrap(3)
    first = Engine(sim)
    first.up(3, rootPassword="First-Stack-2025!")
    sim.create_database("app", replica=3, vgroups=2)
    dnodes_before = ids(sim)
    old_password = sim.password
    assert old_password == "First-Stack-2025!"

    sim.kube.delete_statefulset()  # pulumi destroy, in reverse dependency order: the StatefulSet, then
    first.decommission.delete("id", first.decommission_outs)  # DnodeDecommission; the Namespace is retained
    sim.wait_until(lambda s: not sim.kube.pods(), timeout=5)
    kept = sim.kube.secrets[("tdengine-test", "tdengine-root-kept")]
    assert kept["data"] == {"TAOS_ROOT_PASSWORD": old_password}
    assert kept["labels"]["tdengine.io/kept-by-destroy"] == "true"
    assert [p.name for p in sim.kube.pvcs()] == [f"taosdata-tdengine-{i}" for i in range(3)]
    err = capfd.readouterr().err
    assert "destroy kept the data (deleteDataOnDestroy is false): namespace tdengine-test (retained)" in err
    assert "taosdata-tdengine-0, taosdata-tdengine-1, taosdata-tdengine-2" in err
    assert "To delete the data for good: kubectl delete namespace tdengine-test" in err
    assert old_password not in err

    mutations_before = len(sim.mutations())
    second = Engine(sim)  # a new stack: no state, another password
    topology = second.up(3, rootPassword="Second-Stack-2026!")["topology"]
    assert sim.password == "Second-Stack-2026!"
    assert ids(sim) == dnodes_before  # the same dnodes, back on their volumes
    assert {d["pod"]: d["status"] for d in topology["dnodes"]} == {f"tdengine-{i}": "ready" for i in range(3)}
    assert "app" in {v["db"] for v in sim.vgroups()}
    assert ("tdengine-test", "tdengine-root-kept") not in sim.kube.secrets
    assert [m.split(" '")[0] for m in sim.mutations()[mutations_before:]] == ["alter user root pass"]


def test_a_delete_under_a_running_statefulset_deletes_no_volume_even_with_delete_data(sim, capfd):
    """DnodeDecommission deleted while its StatefulSet still runs is no destroy of the cluster (the resource left
    the program, as an upgrade of it may do): every PVC under the running pods stays, and no password is kept."""
    sim.bootstrap(3)
    engine = Engine(sim)
    engine.up(3, deleteDataOnDestroy=True)
    volumes = sim.kube.pvcs()
    engine.decommission.delete("id", engine.decommission_outs)
    assert sim.kube.pvcs() == volumes and len(volumes) == 3 and sim.kube.secrets == {}
    assert "StatefulSet tdengine still runs, so this is no destroy" in capfd.readouterr().err
    assert sorted(ids(sim)) == ["tdengine-0", "tdengine-1", "tdengine-2"]


def test_destroy_with_delete_data_removes_the_volumes_and_keeps_no_password(sim):
    sim.bootstrap(3)
    engine = Engine(sim)
    engine.up(3, deleteDataOnDestroy=True)
    sim.kube.delete_statefulset()
    sim.wait_until(lambda s: not sim.kube.pods(), timeout=5)
    engine.decommission.delete("id", engine.decommission_outs)
    assert sim.kube.pvcs() == [] and sim.kube.secrets == {}
