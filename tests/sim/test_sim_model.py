"""Simulator semantics beyond the transcript: ids, blocking drops, refusals, faults, violations.

Over 300 lines: the simulator's semantics in one place, the contract the provider tests rely on.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import taosrest

from components.tdengine.kube_types import KubeOps
from tests.sim import PodNotReady, SimCluster, SqlError

NS = "tdengine-test"


def q(sim: SimCluster, sql: str, password: str = "taosdata", timeout: float = 10) -> dict[str, Any]:
    r = requests.post(f"{sim.url}/rest/sql", data=sql.encode(), auth=("root", password), timeout=timeout)
    assert r.status_code == 200, r.text
    return r.json()


def ok(sim: SimCluster, sql: str) -> dict[str, Any]:
    body = q(sim, sql)
    assert body["code"] == 0, f"{sql}: {body}"
    return body


def code(sim: SimCluster, sql: str) -> int:
    return q(sim, sql)["code"]


def status_of(sim: SimCluster, ordinal: int) -> str | None:
    ep = sim.endpoint(ordinal)
    return next((d["status"] for d in sim.dnodes() if d["endpoint"] == ep), None)


@pytest.fixture
def sim() -> Iterator[SimCluster]:
    with SimCluster() as s:
        s.bootstrap(3)
        yield s


def grow(sim: SimCluster, replicas: int) -> None:
    sim.kube.scale(replicas)
    sim.wait_until(lambda s: all((s.dnode(sim.endpoint(o)) or {}).get("status") == "ready" for o in range(replicas)))


def test_bootstrap_ids_follow_registration_order_not_ordinals(sim: SimCluster) -> None:
    assert {d["endpoint"].split(".")[0]: d["id"] for d in sim.dnodes()} == {
        "tdengine-0": 1,
        "tdengine-2": 2,
        "tdengine-1": 3,
    }
    assert sim.mnodes() == [{"id": 1, "endpoint": sim.endpoint(0), "role": "leader", "status": "ready"}]
    kube: KubeOps = sim.kube  # statically checked conformance; the signatures must match too
    for name in ("list_pods", "list_pvcs", "delete_pvc", "port_forward"):
        assert inspect.signature(getattr(type(kube), name)) == inspect.signature(getattr(KubeOps, name)), name


def test_ids_are_never_reused(sim: SimCluster) -> None:
    grow(sim, 4)
    first = sim.dnode_id(3)
    assert first == 4
    ok(sim, f"drop dnode {first}")
    sim.kube.scale(3)
    sim.wait_until(lambda s: len(s.pods) == 3)
    sim.kube.delete_pvc(NS, "taosdata-tdengine-3")
    grow(sim, 4)
    assert sim.dnode_id(3) == 5
    assert sim.violations == []


def test_drop_blocks_while_its_vnodes_move_in_parallel_and_the_count_falls() -> None:
    """§14: a drop moves its vgroups at once; their copies share the transaction's bandwidth (moves.py), so
    with two vnodes of 20 and 40 KB at 1000 KB/s the small one is done after the fixed part + 2 x 20 KB at half
    the rate, the large one 20 KB later: the count falls 2 -> 1 -> 0 in about 0.05 + 0.06 s, not 2 x 0.05 + 0.06."""
    with SimCluster(copy_kb_per_second=1000.0) as sim:
        sim.bootstrap(3)
        sim.create_database("app", replica=1, vgroups=6)
        grow(sim, 4)
        victim = sim.dnode_id(2)
        mine = [vg for vg in sim.cluster.vgroups.values() if victim in vg.members]
        assert len(mine) == 2
        mine[0].size_kb, mine[1].size_kb = 20, 40
        seen: list[int] = []
        states: set[str] = set()
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                row = next((d for d in sim.dnodes() if d["id"] == victim), None)
                if row is not None:
                    seen.append(row["vnodes"])
                    states.add(row["status"])
                time.sleep(0.002)

        poller = threading.Thread(target=poll)
        poller.start()
        t0 = time.monotonic()
        ok(sim, f"drop dnode {victim}")
        elapsed = time.monotonic() - t0
        done.set()
        poller.join()
        fixed = sim.config.migration_seconds
        assert elapsed >= (fixed + 0.06) * 0.9, elapsed
        assert elapsed < 2 * fixed + 0.06 + 1.0
        assert "dropping" in states and states <= {"ready", "dropping"}
        assert seen == sorted(seen, reverse=True) and seen[0] == 2 and 1 in seen
        assert sorted((m.size_kb, m.oper) for m in sim.moves()) == [(20, "drop-dnode"), (40, "drop-dnode")]
        assert sim.dnode_id(2) is None and sim.violations == []


def test_replica3_on_three_dnodes_is_out_of_dnodes_and_leader_cannot_go(sim: SimCluster) -> None:
    sim.create_database("app", replica=3, vgroups=2)
    assert code(sim, "drop dnode 1") == 936  # §5 order: the only mnode is checked before "leader"
    ok(sim, "create mnode on dnode 2")
    assert code(sim, "drop dnode 2") == 820
    assert code(sim, "drop dnode 1") == 819
    assert code(sim, "drop dnode 2 force") == 1046
    assert code(sim, "drop dnode 2 unsafe") == 1046
    assert code(sim, "drop dnode 'tdengine-2.taosd.tdengine-test.svc.cluster.local:6030'") == 817
    ok(sim, "create database x replica 3 vgroups 4")  # 3 dnodes x 9 vnodes: capacity is not the limit
    sim.kube.crash_pod(2)
    sim.wait_until(lambda s: (s.dnode(sim.endpoint(2)) or {}).get("status") == "offline")
    with pytest.raises(SqlError) as e:
        sim.create_database("y", replica=3)
    assert e.value.code == 820


def test_offline_dnode_with_vnodes_needs_force(sim: SimCluster) -> None:
    ok(sim, "create mnode on dnode 2")
    ok(sim, "create mnode on dnode 3")
    sim.create_database("app", replica=3, vgroups=2)
    grow(sim, 4)
    sim.kube.crash_pod(2)  # tdengine-2 = dnode 2, holds an mnode and 2 vnodes
    sim.wait_until(lambda s: (s.dnode(sim.endpoint(2)) or {}).get("note") == "status msg timeout")
    assert code(sim, "drop dnode 2") == 1345
    assert q(sim, "drop dnode 2")["desc"] == "Vnode is offline"
    assert {m["id"]: (m["role"], m["status"]) for m in sim.mnodes()}[2] == ("offline", "offline")
    statuses: list[str] = []
    worker = threading.Thread(target=lambda: statuses.append(str(ok(sim, "drop dnode 2 force")["code"])))
    worker.start()
    sim.wait_until(lambda s: (s.dnode(sim.endpoint(2)) or {}).get("status") == "dropping*")
    assert code(sim, "drop dnode 2") == 953
    assert code(sim, "create mnode on dnode 4") == 937  # checked before the conflict
    assert code(sim, "create database z replica 1") == 979
    worker.join(5)
    assert statuses == ["0"] and sim.dnode_id(2) is None
    assert [m["id"] for m in sim.mnodes()] == [1, 3]  # the mnode is removed, not replaced
    assert all(2 not in vg["members"] for vg in sim.vgroups())
    assert sim.violations == []


def test_force_drop_of_single_replica_needs_unsafe_and_loses_data(sim: SimCluster) -> None:
    sim.create_database("one", replica=1, vgroups=3)
    sim.kube.crash_pod(2)
    sim.wait_until(lambda s: (s.dnode(sim.endpoint(2)) or {}).get("status") == "offline")
    victim = sim.dnode_id(2)
    assert code(sim, f"drop dnode {victim} force") == 1333
    ok(sim, f"drop dnode {victim} unsafe")
    assert any("lost its last replica" in v for v in sim.violations)


def test_background_error_while_the_drop_finishes_later(sim: SimCluster) -> None:
    sim.create_database("app", replica=3, vgroups=2)
    grow(sim, 4)
    sim.faults.drop_background_error(code=981, after_seconds=0.03)
    body = q(sim, "drop dnode 2")
    assert body["code"] == 981 and "continue in the background" in body["desc"]
    assert status_of(sim, 2) == "dropping" and sim.transactions()[0]["oper"] == "drop-dnode"
    sim.wait_until(lambda s: s.dnode(sim.endpoint(2)) is None and not s.transactions, timeout=3)
    assert sim.requests[-1].fault == "drop_background_error:981"


def test_stall_freezes_vnodes_then_resumes(sim: SimCluster) -> None:
    sim.create_database("app", replica=3, vgroups=2)
    grow(sim, 4)
    sim.faults.stall_drop(True)
    worker = threading.Thread(target=lambda: q(sim, "drop dnode 2"))
    worker.start()
    sim.wait_until(lambda s: (s.dnode(sim.endpoint(2)) or {}).get("status") == "dropping")
    time.sleep(4 * sim.config.migration_seconds)
    assert next(d["vnodes"] for d in sim.dnodes() if d["id"] == 2) == 2
    assert worker.is_alive()
    sim.faults.stall_drop(False)
    worker.join(5)
    assert sim.dnode_id(2) is None


def test_removing_a_pod_whose_dnode_holds_vnodes_is_a_violation(sim: SimCluster) -> None:
    sim.create_database("app", replica=3, vgroups=2)
    grow(sim, 4)
    sim.create_database("more", replica=1, vgroups=4)
    assert any(d["vnodes"] for d in sim.dnodes() if d["endpoint"] == sim.endpoint(3))
    sim.kube.scale(3)
    assert len(sim.violations) == 1 and "tdengine-3 removed" in sim.violations[0]
    sim.wait_until(lambda s: (s.dnode(sim.endpoint(3)) or {}).get("note") == "status msg timeout")


def test_deleting_the_pvc_of_a_dnode_in_the_cluster_is_a_violation(sim: SimCluster) -> None:
    grow(sim, 4)
    sim.kube.scale(3)  # empty dnode: removing the pod is not itself a violation
    sim.wait_until(lambda s: len(s.pods) == 3)
    assert sim.violations == []
    sim.kube.delete_pvc(NS, "taosdata-tdengine-3")
    sim.kube.delete_pvc(NS, "taosdata-tdengine-3")  # idempotent
    assert len(sim.violations) == 1 and "taosdata-tdengine-3" in sim.violations[0]
    assert [p.name for p in sim.kube.pvcs()] == [f"taosdata-tdengine-{o}" for o in range(3)]


def test_stale_pvc_never_rejoins_and_create_dnode_says_dnodeid_not_match(sim: SimCluster) -> None:
    grow(sim, 4)
    ok(sim, "drop dnode 4")
    sim.kube.scale(3)
    sim.wait_until(lambda s: len(s.pods) == 3)
    sim.kube.scale(4)
    sim.wait_until(lambda s: len(s.pods) == 4 and s.pods[3].phase == "Running")
    time.sleep(0.1)
    pod = sim.kube.pods()[3]
    assert (pod.phase, pod.ready) == ("Running", False)
    with pytest.raises(PodNotReady), sim.kube.port_forward(NS, "tdengine-3", 6041):
        pass
    assert sim.dnode_id(3) is None
    ok(sim, f"create dnode '{sim.endpoint(3)}'")
    time.sleep(0.1)
    row = next(d for d in sim.dnodes() if d["endpoint"] == sim.endpoint(3))
    assert (row["id"], row["status"], row["note"], row["support_vnodes"]) == (5, "offline", "dnodeId not match", 0)


def test_fresh_dnode_without_auto_join_goes_from_not_received_to_ready() -> None:
    with SimCluster(auto_join=False, heartbeat_seconds=0.1) as sim:
        sim.kube.scale(2)
        sim.wait_until(lambda s: (s.dnode(sim.endpoint(0)) or {}).get("status") == "ready")
        sim.wait_until(lambda s: all(p.ready for p in s.pods) and len(s.pods) == 2)
        assert sim.dnode_id(1) is None
        ok(sim, f'create dnode "{sim.endpoint(1)}"')
        row = next(d for d in sim.dnodes() if d["endpoint"] == sim.endpoint(1))
        assert (row["status"], row["note"], row["reboot_time"]) == (
            "offline",
            "status not received",
            "1970-01-01T00:00:00.000Z",
        )
        assert code(sim, f"create dnode '{sim.endpoint(1).upper()}'") == 816
        sim.wait_until(lambda s: (s.dnode(sim.endpoint(1)) or {}).get("status") == "ready")
        with sim.kube.port_forward(NS, "tdengine-1", 6041) as url:
            assert url == sim.url


def test_mnode_checks_and_leader_failover(sim: SimCluster) -> None:
    assert code(sim, "create mnode on dnode 9") == 817
    assert code(sim, "create mnode on dnode 1") == 928
    ok(sim, "create mnode on dnode 2")
    ok(sim, "create mnode on dnode 3")
    grow(sim, 4)
    assert code(sim, "create mnode on dnode 4") == 937
    sim.kube.crash_pod(0)
    snap = sim.wait_until(lambda s: any(m["role"] == "leader" and m["id"] != 1 for m in s.mnodes), timeout=3)
    assert {m["id"]: (m["role"], m["status"]) for m in snap.mnodes}[1] == ("offline", "offline")
    sim.kube.restart_pod(0)
    sim.wait_until(lambda s: (s.dnode(sim.endpoint(0)) or {}).get("status") == "ready")
    sim.wait_until(lambda s: sorted(m["role"] for m in s.mnodes) == ["follower", "follower", "leader"])


def test_password_rules_and_wrong_password(sim: SimCluster) -> None:
    body = q(sim, "show dnodes", password="nope")
    assert (list(body), body["code"], body["desc"]) == (["code", "desc", "timing"], 855, "Authentication failure")
    assert code(sim, "alter user root pass 'abc'") == 9745
    for weak in ("abcdefgh1", "12345678", "Abcdefgh", "Abc def12"):
        assert code(sim, f"alter user root pass '{weak}'") == 9800, weak
    ok(sim, "alter user root pass 'taosdata'")
    ok(sim, "alter user root pass 'Tdengine-2025!'")
    assert q(sim, "show dnodes")["code"] == 855
    assert q(sim, "show dnodes", password="Tdengine-2025!")["code"] == 0


def test_rest_shapes_and_http_errors(sim: SimCluster) -> None:
    url = f"{sim.url}/rest/sql"
    r = requests.post(url, data=b"show dnodes")
    assert (r.status_code, r.json()) == (401, {"code": 4357, "desc": "no auth info input"})
    r = requests.post(url, data=b"show dnodes", headers={"Authorization": "Basic !!!"})
    assert (r.status_code, r.json()["code"]) == (401, 4388)
    r = requests.post(url, data=b"show dnodes", headers={"Authorization": "Bearer x"})
    assert (r.status_code, r.json()["code"]) == (401, 4386)
    auth = ("root", "taosdata")
    assert requests.post(url, data=b"", auth=auth).json()["code"] == 4358
    r = requests.post(url, data=b"  \n", auth=auth)
    assert (r.status_code, r.json()["code"], r.json()["desc"]) == (400, 4359, "no sql input")
    assert requests.post(f"{sim.url}/rest/nope", data=b"show dnodes", auth=auth).status_code == 404
    assert requests.post(f"{url}/app", data=b"show dnodes", auth=auth).json()["rows"] == 3
    assert ok(sim, "SHOW DNODES")["rows"] == 3
    body = q(sim, "show dnodez")
    assert (body["code"], body["desc"]) == (9728, 'syntax error near "dnodez"')
    assert code(sim, "drop dnode") == 9729
    assert code(sim, "select * from information_schema.ins_transactions") == 9731
    assert ok(sim, "select * from performance_schema.perf_trans")["rows"] == 0
    rows = ok(sim, f"select id, `vnodes` from information_schema.ins_dnodes where endpoint = '{sim.endpoint(0)}'")
    assert rows["data"] == [[1, 0]]
    sim.faults.http_error(503, times=1, pattern="show mnodes")
    assert requests.post(url, data=b"show mnodes", auth=auth).status_code == 503
    assert requests.post(url, data=b"show mnodes", auth=auth).status_code == 200
    assert sim.requests[-2].fault == "http_error:503"
    assert sim.mutations() == ["drop dnode"]  # failed statements are logged too


def test_taosrest_client_talks_to_the_simulator(sim: SimCluster) -> None:
    client = taosrest.RestClient(sim.url, user="root", password="taosdata", timeout=5)
    assert client.sql("show dnodes")["rows"] == 3
    with pytest.raises(taosrest.ConnectError) as e:
        client.sql("create mnode on dnode 1")
    assert (e.value.errno, e.value.msg) == (928, "Mnode already exists")
    sim.faults.http_error(502)
    with pytest.raises(taosrest.HTTPError):
        client.sql("show dnodes")
    conn = taosrest.connect(url=sim.url, user="root", password="taosdata", timeout=5)
    assert conn.query("show mnodes").rows == 1


def test_delay_lets_the_client_time_out_while_the_statement_runs(sim: SimCluster) -> None:
    grow(sim, 4)
    sim.faults.delay(r"^drop dnode", seconds=0.5)
    client = taosrest.RestClient(sim.url, user="root", password="taosdata", timeout=0.1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.sql("drop dnode 4")
    assert sim.dnode_id(3) is None  # it ran anyway
    assert sim.statements()[-1] == "drop dnode 4" and sim.mutations() == ["drop dnode 4"]


def test_unreachable_refuses_connections_until_healed(sim: SimCluster) -> None:
    sim.faults.unreachable(True)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"{sim.url}/rest/sql", data=b"show dnodes", auth=("root", "taosdata"), timeout=1)
    sim.faults.unreachable(False)
    assert ok(sim, "show dnodes")["rows"] == 3
