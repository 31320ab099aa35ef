"""The membership providers inside the REAL dynamic-provider host, driven over gRPC as the Pulumi engine does.

The host is `python -m pulumi.dynamic` in a subprocess (cwd = project root, PULUMI_PROJECT, PYTHONPATH); it
loads the providers from `__provider` exactly as `dynamic.Resource` serializes them, and talks to a simulated
TDengine (`SimCluster`, REST) and to a fake Kubernetes API server (`FakeKubeApi`, HTTP) through the
production `AdminClient` and `KubernetesApi`. Requests follow the engine's rules: plain values (secrets
stripped), unknowns only in Check/Diff, old OUTPUTS (with `__provider`) as `olds`, numbers as floats.

Over 300 lines: the engine's whole conversation with one real host process (module-scoped).
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache
from typing import Any

import dill
import grpc
import pytest
import requests
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2 as pb

from components.membership.provider import ClusterMembershipProvider, DnodeDecommissionProvider
from components.tdengine.kube_types import PodInfo, PvcInfo
from tests.host import UNKNOWN, ProviderHost, from_struct, provider_blob, struct_json, to_struct
from tests.sim import SimCluster
from tests.sim.kube_api import FakeKubeApi, kubeconfig_for

NS, STS, SVC, TEMPLATES = "tdengine-test", "tdengine", "taosd", ["taosdata"]
PASSWORD = "Sim-R00t.pw-4b7e"
"""The sim's root password: unlike TDengine's default `taosdata`, it is no substring of any other prop."""
WRONG_PASSWORD = "Wr0ng-pw.91c3"
TOKEN = "kube-token-5d20"
DECOMMISSION, MEMBERSHIP = "DnodeDecommission", "ClusterMembership"
UNROUTABLE_URL = "http://192.0.2.1:6041"
"""TEST-NET-1 (RFC 5737): a connection attempt would hang until some timeout."""


@cache
def blob(type_name: str) -> str:
    provider = DnodeDecommissionProvider() if type_name == DECOMMISSION else ClusterMembershipProvider()
    return provider_blob(provider)


@dataclass
class Cluster:
    sim: SimCluster
    api: FakeKubeApi

    def props(self, type_name: str, replicas: int = 3, **overrides: Any) -> dict[str, Any]:
        """The inputs as `TDengineCluster` passes them (plus fast timings), with `__provider`."""
        return {
            "members": [f"{STS}-{i}" for i in range(replicas)],
            "namespace": NS,
            "statefulset": STS,
            "service": SVC,
            "clusterDomain": "cluster.local",
            "serverPort": 6030,
            "restPort": 6041,
            "templates": list(TEMPLATES),
            "adminUrl": self.sim.url,
            "kubeContext": "",
            "kubeconfig": self.api.kubeconfig(),
            "rootPassword": self.sim.password,
            "forceDropOffline": False,
            "allowFewerThanThreeDnodes": False,
            "pollIntervalSeconds": 0.02,
            "statementTimeoutSeconds": 1,
            "readyTimeoutSeconds": 10,
            "drainTimeoutSeconds": 10,
            "stallTimeoutSeconds": 5,
            "deleteDataOnDestroy": False,
            "__provider": blob(type_name),
            **overrides,
        }

    def io_marks(self) -> tuple[int, int]:
        """How many requests the sim's REST front and the fake API server have seen so far."""
        return len(self.sim.requests), len(self.api.requests)

    def deletes(self, kind: str = "persistentvolumeclaims") -> list[str]:
        """Paths of the DELETE requests for objects of one kind (PVCs: the data)."""
        return [path for method, path in self.api.requests if method == "DELETE" and f"/{kind}/" in path]


@pytest.fixture(scope="module")
def host() -> Iterator[ProviderHost]:
    with ProviderHost({"tdengine:replicas": "3", "tdengine:rootPassword": PASSWORD}) as h:
        yield h
        assert h.proc.poll() is None, f"the provider host died: {h.stderr_text()}"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A bootstrapped 3-pod cluster (1 mnode, as the image leaves it) behind a fake Kubernetes API server."""
    sim = SimCluster(namespace=NS, statefulset=STS, service=SVC, root_password=PASSWORD, migration_seconds=0.05)
    sim.start()
    api = FakeKubeApi(sim.kube, NS, STS, TEMPLATES, token=TOKEN)
    try:
        sim.bootstrap(3)
        yield Cluster(sim, api)
    finally:
        api.close()
        sim.stop()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def outputs(response: pb.CreateResponse | pb.UpdateResponse) -> dict[str, Any]:
    return from_struct(response.properties)


def assert_no_secrets(response: pb.CreateResponse | pb.UpdateResponse, host: ProviderHost) -> None:
    """No kubeconfig in the outputs; the password only under `rootPassword`, the key the engine stores
    encrypted (the same-named input is secret: tests/membership/test_secrets.py); neither on the host's stderr."""
    outs = outputs(response)
    assert "kubeconfig" not in outs and outs["rootPassword"] == PASSWORD, sorted(outs)
    text = struct_json(to_struct({k: v for k, v in outs.items() if k != "rootPassword"}))
    for secret in (PASSWORD, TOKEN):
        assert secret not in text
        assert secret not in host.stderr_text()


def topology_summary(outs: dict[str, Any]) -> tuple[list[str], int, list[str]]:
    topo = outs["topology"]
    pods = sorted(d["pod"] for d in topo["dnodes"])
    return pods, len(topo["mnodes"]), [m["role"] for m in topo["mnodes"] if m["role"] == "leader"]


# -- 1. plugin info and configure ---------------------------------------------------------------------------
def test_plugin_info_and_configure(host):
    assert host.plugin_info().version == "0.1.0"
    assert host.configure_response.acceptSecrets is False  # so the engine sends us plaintext
    assert host.configure_response.supportsPreview is False  # so preview never calls Create/Update


@pytest.mark.parametrize("provider_class", [DnodeDecommissionProvider, ClusterMembershipProvider])
def test_provider_blob_is_a_reference_and_captures_no_secret(provider_class):
    """What `dynamic.Resource.__init__` computes: `_serialize(True, serialize_provider, provider)`."""
    serialized, contains_secrets = _serialize(True, serialize_provider, provider_class())
    assert contains_secrets is False and provider_class.serialize_as_secret_always is False  # stored in plain
    assert serialized == provider_blob(provider_class()) == provider_blob(provider_class())  # deterministic
    assert len(serialized) < 400  # pickled by reference: the class path, no code and no values
    assert type(dill.loads(base64.b64decode(serialized))) is provider_class


STORED_BLOBS = {
    DnodeDecommissionProvider: "gASVQwAAAAAAAACMHmNvbXBvbmVudHMubWVtYmVyc2hpcC5wcm92aWRlcpSMGURub2RlRGVjb21taXNz"
    "aW9uUHJvdmlkZXKUk5QpgZQu",
    ClusterMembershipProvider: "gASVQwAAAAAAAACMHmNvbXBvbmVudHMubWVtYmVyc2hpcC5wcm92aWRlcpSMGUNsdXN0ZXJNZW1iZXJz"
    "aGlwUHJvdmlkZXKUk5QpgZQu",
}
"""`__provider` as stacks deployed before the cluster-access layer moved to `components/tdengine/` hold it in
their state (serialized then, kept verbatim): `pulumi destroy` and `refresh` of those stacks unpickle it."""


@pytest.mark.parametrize("provider_class", list(STORED_BLOBS))
def test_a_provider_serialized_in_existing_state_still_loads(provider_class):
    assert type(dill.loads(base64.b64decode(STORED_BLOBS[provider_class]))) is provider_class
    assert provider_blob(provider_class()) == STORED_BLOBS[provider_class]  # and new state names the same path


# -- 2. Check and Diff: pure, tolerant of unknowns ----------------------------------------------------------
@pytest.mark.parametrize("type_name", [DECOMMISSION, MEMBERSHIP])
def test_check_in_preview_accepts_unknowns_and_reports_failures(host, cluster, type_name):
    before = cluster.io_marks()
    unknown = cluster.props(type_name, members=UNKNOWN, rootPassword=UNKNOWN)
    checked = host.check(type_name, "m", {}, unknown)
    assert list(checked.failures) == []
    inputs = from_struct(checked.inputs)
    assert inputs["namespace"] == NS and inputs["__provider"] == blob(type_name)

    bad = host.check(type_name, "m", {}, {**cluster.props(type_name, members="tdengine-0"), "namespace": 3})
    assert sorted((f.property, f.reason) for f in bad.failures) == [
        ("members", "must be a list of pod names"),
        ("namespace", "is required"),
    ]
    assert cluster.io_marks() == before


def _state(cluster: Cluster, host: ProviderHost, type_name: str) -> tuple[str, dict[str, Any]]:
    """(id, old outputs) of a created resource, as the engine keeps them in the state."""
    created = host.create(type_name, "m", cluster.props(type_name))
    return created.id, outputs(created)


def _diff(
    host: ProviderHost, cluster: Cluster, type_name: str, id_: str, olds: dict[str, Any], news: dict[str, Any]
) -> pb.DiffResponse:
    """Diff as the engine sends it: the old outputs as `olds`, the last inputs as `old_inputs` (ignored by
    the host)."""
    return host.diff(type_name, "m", id_, olds, news, old_inputs=cluster.props(type_name))


@pytest.mark.parametrize("type_name", [DECOMMISSION, MEMBERSHIP])
def test_diff_against_state(host, cluster, type_name):
    id_, olds = _state(cluster, host, type_name)
    assert isinstance(olds["serverPort"], float) and isinstance(olds["readyTimeoutSeconds"], float)
    before = cluster.io_marks()
    news = cluster.props(type_name)  # the same inputs again (ints here, floats in the state)

    same = _diff(host, cluster, type_name, id_, olds, news)
    assert (same.changes, list(same.replaces)) == (pb.DiffResponse.DIFF_NONE, [])

    unknown = _diff(host, cluster, type_name, id_, olds, {**news, "members": UNKNOWN})
    assert (unknown.changes, list(unknown.replaces)) == (pb.DiffResponse.DIFF_SOME, [])
    assert unknown.deleteBeforeReplace is False

    other_provider = DnodeDecommissionProvider() if type_name == DECOMMISSION else ClusterMembershipProvider()
    other_provider.note = "another __provider string"  # type: ignore[attr-defined]
    moved_api = {
        **news,
        "kubeconfig": kubeconfig_for("http://127.0.0.1:1"),
        "__provider": provider_blob(other_provider),
    }
    assert moved_api["__provider"] != olds["__provider"]
    ignored = _diff(host, cluster, type_name, id_, olds, moved_api)
    assert ignored.changes == pb.DiffResponse.DIFF_NONE

    rotated = _diff(host, cluster, type_name, id_, olds, {**news, "rootPassword": "Another-pw.77"})
    assert (rotated.changes, list(rotated.replaces)) == (pb.DiffResponse.DIFF_SOME, [])  # an update rotates it

    grown = _diff(host, cluster, type_name, id_, olds, cluster.props(type_name, replicas=4))
    assert (grown.changes, list(grown.replaces)) == (pb.DiffResponse.DIFF_SOME, [])

    moved = _diff(host, cluster, type_name, id_, olds, {**news, "namespace": "elsewhere"})
    assert moved.changes == pb.DiffResponse.DIFF_SOME
    assert list(moved.replaces) == ["namespace"] and moved.deleteBeforeReplace is True

    assert cluster.io_marks() == before  # nothing reached TDengine or Kubernetes


@pytest.mark.parametrize("type_name", [DECOMMISSION, MEMBERSHIP])
def test_check_and_diff_answer_with_no_cluster_reachable(host, cluster, type_name):
    """Preview in CI: adminUrl unroutable, the kubeconfig's API server a closed port."""
    id_, olds = _state(cluster, host, type_name)
    offline = {"adminUrl": UNROUTABLE_URL, "kubeconfig": kubeconfig_for(f"http://127.0.0.1:{closed_port()}", TOKEN)}
    olds = {**olds, "adminUrl": UNROUTABLE_URL}
    news = cluster.props(type_name, **offline)
    before = cluster.io_marks()
    started = time.monotonic()

    assert list(host.check(type_name, "m", olds, {**news, "members": UNKNOWN}).failures) == []
    assert list(host.check(type_name, "m", olds, news).failures) == []
    assert _diff(host, cluster, type_name, id_, olds, news).changes == pb.DiffResponse.DIFF_NONE
    assert _diff(host, cluster, type_name, id_, olds, {**news, "members": UNKNOWN}).changes == pb.DiffResponse.DIFF_SOME
    moved = _diff(host, cluster, type_name, id_, olds, {**news, "namespace": "elsewhere"})
    assert list(moved.replaces) == ["namespace"]

    assert time.monotonic() - started < 2.0  # a connect to 192.0.2.1 would have waited for a timeout
    assert cluster.io_marks() == before


# -- 3. ClusterMembership Create ----------------------------------------------------------------------------
def test_membership_create_outputs_the_topology_and_no_secret(host, cluster):
    assert len(cluster.sim.mnodes()) == 1
    created = host.create(MEMBERSHIP, "m", cluster.props(MEMBERSHIP))
    assert created.id == f"{NS}/{STS}"
    outs = outputs(created)
    assert topology_summary(outs) == ([f"{STS}-0", f"{STS}-1", f"{STS}-2"], 3, ["leader"])
    assert all(d["status"] == "ready" for d in outs["topology"]["dnodes"])
    assert outs["members"] == [f"{STS}-0", f"{STS}-1", f"{STS}-2"]
    assert outs["__provider"] == blob(MEMBERSHIP)
    assert_no_secrets(created, host)
    assert len(cluster.sim.mnodes()) == 3
    assert cluster.sim.violations == []


# -- 4. the seed's 3 -> 4 -> 3 (-> 4) -----------------------------------------------------------------------
def test_scale_up_drain_down_and_up_again(host, cluster):
    sim = cluster.sim

    before = cluster.io_marks()
    dec = host.create(DECOMMISSION, "d", cluster.props(DECOMMISSION))
    assert cluster.io_marks() == before  # DnodeDecommission Create touches neither TDengine nor Kubernetes
    assert outputs(dec)["drained"] == []
    mem = host.create(MEMBERSHIP, "m", cluster.props(MEMBERSHIP))
    dec_id, mem_id = dec.id, mem.id  # an UpdateResponse carries no id: the engine keeps it
    # a new stack removes what a kept-data destroy may have left (here: nothing, so a 404)
    assert cluster.deletes("secrets") == [f"/api/v1/namespaces/{NS}/secrets/{STS}-root-kept"]
    ids = {o: sim.dnode_id(o) for o in range(3)}

    # 3 -> 4: decommission first (nothing to drain, no stale PVC), then the StatefulSet, then membership.
    dec = host.update(DECOMMISSION, "d", dec_id, outputs(dec), cluster.props(DECOMMISSION, 4))
    assert outputs(dec)["drained"] == [] and cluster.deletes() == []
    sim.kube.scale(4)
    mem = host.update(MEMBERSHIP, "m", mem_id, outputs(mem), cluster.props(MEMBERSHIP, 4))
    assert topology_summary(outputs(mem)) == ([f"{STS}-{i}" for i in range(4)], 3, ["leader"])
    old_id = sim.dnode_id(3)
    assert old_id is not None and old_id not in ids.values()
    assert_no_secrets(mem, host)

    # Data on every dnode, so the drain really moves vnodes.
    sim.create_database("metrics", replica=3, vgroups=4)
    assert next(d["vnodes"] for d in sim.dnodes() if d["id"] == old_id) > 0

    # 4 -> 3: decommission drains tdengine-3 BEFORE the StatefulSet shrinks.
    statements = len(sim.statements())
    dec = host.update(DECOMMISSION, "d", dec_id, outputs(dec), cluster.props(DECOMMISSION, 3))
    assert outputs(dec)["drained"] == [f"{STS}-3"]
    assert f"drop dnode {old_id}" in sim.statements()[statements:]
    assert sim.dnode_id(3) is None  # the dnode is gone while its pod still runs
    assert len(sim.dnodes()) == 3 and sum(d["vnodes"] for d in sim.dnodes()) == 12
    assert [p.name for p in sim.kube.pods()] == [f"{STS}-{i}" for i in range(4)]
    assert cluster.deletes() == []
    assert_no_secrets(dec, host)

    sim.kube.scale(3)
    mem = host.update(MEMBERSHIP, "m", mem_id, outputs(mem), cluster.props(MEMBERSHIP, 3))
    assert topology_summary(outputs(mem)) == ([f"{STS}-{i}" for i in range(3)], 3, ["leader"])
    assert cluster.deletes() == [f"/api/v1/namespaces/{NS}/persistentvolumeclaims/taosdata-{STS}-3"]
    assert [p.name for p in sim.kube.pvcs()] == [f"taosdata-{STS}-{i}" for i in range(3)]

    # 3 -> 4 again: the re-added pod starts on a fresh volume and joins with a NEW dnode id.
    dec = host.update(DECOMMISSION, "d", dec_id, outputs(dec), cluster.props(DECOMMISSION, 4))
    sim.kube.scale(4)
    mem = host.update(MEMBERSHIP, "m", mem_id, outputs(mem), cluster.props(MEMBERSHIP, 4))
    outs = outputs(mem)
    assert topology_summary(outs) == ([f"{STS}-{i}" for i in range(4)], 3, ["leader"])
    new_id = sim.dnode_id(3)
    assert new_id is not None and new_id > max(old_id, *ids.values())
    assert {d["pod"]: d["id"] for d in outs["topology"]["dnodes"]}[f"{STS}-3"] == new_id
    assert all(d["status"] == "ready" for d in outs["topology"]["dnodes"])
    assert {o: sim.dnode_id(o) for o in range(3)} == ids

    assert len(cluster.deletes()) == 1
    assert sim.violations == []
    assert_no_secrets(mem, host)


# -- 4b. pulumi refresh: Read with the old outputs -----------------------------------------------------------
def test_refresh_reads_the_live_members_and_topology_and_returns_inputs_to_diff_against(cluster):
    """Read reaches the cluster (unlike Check and Diff) with the kubeconfig from the stack's config, as delete
    does; on a converged cluster it changes nothing; after a scale-in that dropped tdengine-3's dnode and
    stopped (the pod still runs), it returns the members the cluster has, so the next Diff sees `replicas`."""
    sim = cluster.sim
    kubeconfig = cluster.api.kubeconfig()
    config = {"tdengine:kubeconfig": kubeconfig, "tdengine:rootPassword": PASSWORD}
    with ProviderHost(config) as host:
        sim.kube.scale(4)
        sim.wait_until(lambda s: len([d for d in s.dnodes if d["status"] == "ready"]) == 4)
        dec = outputs(host.create(DECOMMISSION, "d", cluster.props(DECOMMISSION, 4)))
        mem = outputs(host.create(MEMBERSHIP, "m", cluster.props(MEMBERSHIP, 4)))
        for type_name, outs in ((DECOMMISSION, dec), (MEMBERSHIP, mem)):
            read = host.read(type_name, type_name[0], f"{NS}/{STS}", outs)
            assert read.id == f"{NS}/{STS}" and from_struct(read.properties) == outs  # converged: no change
            inputs = from_struct(read.inputs)
            assert inputs["kubeconfig"] == kubeconfig and inputs["members"] == outs["members"]
            assert not {"drained", "topology", "kubeconfigSet"} & set(inputs)
            assert inputs["__provider"] == blob(type_name)

        gone = sim.dnode_id(3)
        answer = requests.post(f"{sim.url}/rest/sql", data=f"drop dnode {gone}", auth=("root", PASSWORD), timeout=5)
        assert answer.json()["code"] == 0 and sim.dnode_id(3) is None and len(sim.kube.pods()) == 4
        for type_name, outs in ((DECOMMISSION, dec), (MEMBERSHIP, mem)):
            refreshed = from_struct(host.read(type_name, type_name[0], f"{NS}/{STS}", outs).properties)
            assert refreshed["members"] == [f"{STS}-{i}" for i in range(3)]
            diff = host.diff(type_name, type_name[0], f"{NS}/{STS}", refreshed, cluster.props(type_name, 4))
            assert diff.changes == pb.DiffResponse.DIFF_SOME  # replicas back at 4 is a change now
        assert [d["pod"] for d in from_struct(host.read(MEMBERSHIP, "m", f"{NS}/{STS}", mem).properties)["topology"][
            "dnodes"]] == [f"{STS}-0", f"{STS}-2", f"{STS}-1"]  # fmt: skip
        assert PASSWORD not in host.stderr_text() and sim.violations == []


# -- 5. DnodeDecommission Delete ----------------------------------------------------------------------------
# The engine sends Delete the old OUTPUTS as `properties` (and the old inputs as `old_inputs`, which this host
# drops), on `pulumi destroy` without running the program, and when a replace deletes the old resource.
PVC_PATHS = [f"/api/v1/namespaces/{NS}/persistentvolumeclaims/taosdata-{STS}-{i}" for i in range(3)]


def test_delete_keeps_data_by_default(cluster):
    """Without deleteDataOnDestroy: no SQL, no PVC deleted, and the data's root password kept next to it
    (in the namespace a destroy keeps), on the cluster of the stack's kubeconfig."""
    inputs = cluster.props(DECOMMISSION)
    stack = {"tdengine:replicas": "3", "tdengine:kubeconfig": inputs["kubeconfig"]}
    with ProviderHost(stack) as destroy_host:
        created = destroy_host.create(DECOMMISSION, "d", inputs)
        _destroy_statefulset(cluster.sim)
        statements = len(cluster.sim.requests)
        destroy_host.delete(DECOMMISSION, "d", created.id, outputs(created), old_inputs=inputs)
        stderr = destroy_host.stderr_text()
    assert len(cluster.sim.requests) == statements  # never any SQL
    assert cluster.deletes() == [] and len(cluster.sim.kube.pvcs()) == 3
    kept = cluster.api.secrets[(NS, f"{STS}-root-kept")]
    assert base64.b64decode(kept["data"]["TAOS_ROOT_PASSWORD"]).decode() == PASSWORD
    assert f"destroy kept the data (deleteDataOnDestroy is false): in namespace {NS}: the PVCs (" in stderr
    assert PASSWORD not in stderr


def _destroy_statefulset(sim: SimCluster) -> None:
    """`pulumi destroy` deletes the StatefulSet (which depends on DnodeDecommission) first."""
    sim.kube.delete_statefulset()
    sim.wait_until(lambda s: not s.pods)


def test_delete_with_data_deletes_the_pvcs_of_the_configured_cluster(cluster):
    """Delete gets only the old outputs (no kubeconfig): it must use the stack's, which the engine passes
    to every dynamic provider through Configure."""
    inputs = cluster.props(DECOMMISSION, deleteDataOnDestroy=True)
    stack = {"tdengine:replicas": "3", "tdengine:kubeconfig": inputs["kubeconfig"]}
    with ProviderHost(stack) as destroy_host:
        created = destroy_host.create(DECOMMISSION, "d", inputs)
        assert "kubeconfig" not in outputs(created) and outputs(created)["kubeconfigSet"] is True
        _destroy_statefulset(cluster.sim)
        statements = len(cluster.sim.requests)
        try:
            destroy_host.delete(DECOMMISSION, "d", created.id, outputs(created), old_inputs=inputs)
        finally:
            assert len(cluster.sim.requests) == statements  # never any SQL
    assert sorted(cluster.deletes()) == PVC_PATHS
    assert cluster.sim.kube.pvcs() == []


class Decoy:
    """Another cluster's PVCs, with the same names, behind the ambient kubeconfig."""

    def __init__(self) -> None:
        self.pvcs = [PvcInfo(f"taosdata-{STS}-{i}", "taosdata", i) for i in range(3)]

    def list_pods(self, namespace: str, statefulset: str) -> list[PodInfo]:
        return []

    def list_pvcs(self, namespace: str, statefulset: str, templates: list[str]) -> list[PvcInfo]:
        return list(self.pvcs)

    def delete_pvc(self, namespace: str, name: str) -> None:
        self.pvcs = [p for p in self.pvcs if p.name != name]

    def port_forward(self, namespace: str, pod: str, port: int) -> AbstractContextManager[str]:
        raise NotImplementedError


def test_delete_with_data_never_touches_the_ambient_cluster(cluster, tmp_path):
    """A developer's current kubeconfig context names another cluster (same namespace and names)."""
    with FakeKubeApi(Decoy(), NS, STS, TEMPLATES, token="decoy-token") as decoy:
        ambient = tmp_path / "config"
        ambient.write_text(decoy.kubeconfig())
        inputs = cluster.props(DECOMMISSION, deleteDataOnDestroy=True)
        stack = {"tdengine:replicas": "3", "tdengine:kubeconfig": inputs["kubeconfig"]}
        with ProviderHost(stack, env={"KUBECONFIG": str(ambient)}) as other_host:
            created = other_host.create(DECOMMISSION, "d", inputs)
            _destroy_statefulset(cluster.sim)
            other_host.delete(DECOMMISSION, "d", created.id, outputs(created), old_inputs=inputs)
        assert decoy.requests == [], f"the ambient cluster got {decoy.requests}"
        assert sorted(cluster.deletes()) == PVC_PATHS


def test_delete_with_data_fails_closed_when_the_stack_kubeconfig_is_gone(cluster, tmp_path):
    """Created with a kubeconfig that the destroying run does not have: refuse, touch nothing."""
    with FakeKubeApi(Decoy(), NS, STS, TEMPLATES, token="decoy-token") as decoy:
        ambient = tmp_path / "config"
        ambient.write_text(decoy.kubeconfig())
        inputs = cluster.props(DECOMMISSION, deleteDataOnDestroy=True)
        with ProviderHost({"tdengine:replicas": "3"}, env={"KUBECONFIG": str(ambient)}) as other_host:
            created = other_host.create(DECOMMISSION, "d", inputs)
            with pytest.raises(grpc.RpcError) as caught:
                other_host.delete(DECOMMISSION, "d", created.id, outputs(created), old_inputs=inputs)
        assert "its PVCs were not deleted" in caught.value.details()
        assert TOKEN not in caught.value.details()
        assert decoy.requests == [] and cluster.deletes() == []


def test_delete_with_data_deletes_pvcs_over_http_when_the_kubeconfig_reaches_it(host, cluster):
    """Not what the engine sends (see above): the PVC deletion itself, given the kubeconfig in `properties`."""
    inputs = cluster.props(DECOMMISSION, deleteDataOnDestroy=True)
    created = host.create(DECOMMISSION, "d", inputs)
    _destroy_statefulset(cluster.sim)
    statements = len(cluster.sim.requests)
    host.delete(DECOMMISSION, "d", created.id, {**outputs(created), "kubeconfig": inputs["kubeconfig"]})
    assert len(cluster.sim.requests) == statements  # no SQL
    assert sorted(cluster.deletes()) == PVC_PATHS
    assert cluster.sim.kube.pvcs() == []


# -- 6. errors ----------------------------------------------------------------------------------------------
def test_wrong_password_is_an_unknown_status_naming_the_auth_failure(host, cluster):
    with pytest.raises(grpc.RpcError) as caught:
        host.create(MEMBERSHIP, "m", cluster.props(MEMBERSHIP, rootPassword=WRONG_PASSWORD))
    err = caught.value
    assert err.code() == grpc.StatusCode.UNKNOWN
    details = err.details()
    assert "Authentication failure" in details
    assert details.startswith("TDengine error") and "Traceback" not in details  # raised on purpose: one message
    for secret in (WRONG_PASSWORD, PASSWORD, TOKEN):
        assert secret not in details
        assert secret not in host.stderr_text()
    assert cluster.sim.mutations() == []  # refused at the first read: nothing was changed
    assert len(cluster.sim.mnodes()) == 1


def test_a_refusal_is_its_message_alone_and_a_bug_keeps_its_traceback(cluster):
    """The engine prints the gRPC details whole: a refusal (raised on purpose) must be its one line naming the
    reason and the fix, not the host's traceback with that line at the bottom; anything else is a bug, whose
    traceback is what its report needs."""
    with ProviderHost({}) as fresh:  # a new host: the first call is the one that loads the provider module
        with pytest.raises(grpc.RpcError) as refused:
            fresh.create(DECOMMISSION, "d", cluster.props(DECOMMISSION, replicas=2))
        with pytest.raises(grpc.RpcError) as bug:
            fresh.create(DECOMMISSION, "d", cluster.props(DECOMMISSION, members=5))
    details = refused.value.details()
    assert details == (
        "create refused: the target of 2 dnodes leaves fewer than 3 mnodes, so losing one more dnode stops the "
        "cluster. Nothing was changed. Fix: keep replicas >= 3, or set allowFewerThanThreeDnodes: true to "
        "acknowledge it"
    )
    assert bug.value.details().startswith("Traceback (most recent call last):")
    assert cluster.sim.mutations() == []


def test_outputs_round_trip_as_json():
    """The Struct search in `assert_no_secrets` sees every value: nested lists/dicts included."""
    struct = to_struct({"a": [{"b": PASSWORD}]})
    assert PASSWORD in struct_json(struct)
    assert json.loads(struct_json(struct)) == {"a": [{"b": PASSWORD}]}
