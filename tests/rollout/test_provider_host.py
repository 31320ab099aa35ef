"""ClusterChange and RollingRestart through the real dynamic-provider host (`python -m pulumi.dynamic`, driven over
gRPC as the engine drives it, `tests/host.py`): what preview gets from Check and Diff, with every number a float,
unknowns, and no network I/O; `__provider` a reference that captures nothing."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator

import grpc
import pytest
from pulumi.runtime.proto import provider_pb2 as pb

from components.args import ClusterArgs
from components.resource_inputs import change_inputs
from components.rollout.provider import ClusterChangeProvider
from components.rollout.restart_provider import RollingRestartProvider
from tests.host import UNKNOWN, ProviderHost, from_struct, provider_blob

CHANGE, ROLLOUT = "ClusterChange", "RollingRestart"
ARGS = ClusterArgs(namespace="tdengine-test", storage_class="standard")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def host() -> Iterator[ProviderHost]:
    with ProviderHost() as h:
        yield h


def floats(values: dict) -> dict:
    return {k: float(v) if type(v) is int else v for k, v in values.items()}


def change(**settings) -> dict:
    """ClusterChange's inputs as the program sends them, with a kubeconfig whose API server is a closed port:
    anything that tried to reach Kubernetes would fail or hang."""
    kubeconfig = (
        f"apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{closed_port()}\n"
        "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n"
        "  user:\n    token: t\n"
    )
    inputs = change_inputs(ARGS if not settings else ClusterArgs(**{**ARGS.__dict__, **settings}))
    return floats({**inputs, "kubeconfig": kubeconfig, "__provider": provider_blob(ClusterChangeProvider())})


def test_check_writes_the_plan_and_refuses_with_the_fix_offline(host):
    olds = {**change(), "plan": ""}
    started = time.monotonic()
    grown = host.check(CHANGE, "c", olds, change(image="tdengine/tdengine:3.3.7.6"))
    assert list(grown.failures) == []
    plan = from_struct(grown.inputs)["plan"]
    assert plan.startswith("rolling restart of 3 pods, one at a time (image 3.3.7.5 -> 3.3.7.6, maintenance")
    shrunk = host.check(CHANGE, "c", olds, change(storage_size="1Gi"))
    assert [(f.property, f.reason) for f in shrunk.failures] == [
        ("", "storageSize: storageSize 5Gi -> 1Gi: Kubernetes cannot shrink a volume. Fix: set storageSize back to 5Gi")
    ]
    same = host.check(CHANGE, "c", olds, change())
    assert list(same.failures) == [] and from_struct(same.inputs)["plan"] == ""
    assert "[tdengine] plan: rolling restart of 3 pods" in host.stderr_text()
    assert time.monotonic() - started < 2.0


def test_check_and_diff_accept_unknowns_in_preview(host):
    olds = {**change(), "plan": ""}
    unknown = {**change(), "image": UNKNOWN}
    checked = host.check(CHANGE, "c", olds, unknown)
    assert list(checked.failures) == [] and from_struct(checked.inputs)["plan"] == ""
    assert host.diff(CHANGE, "c", "id", olds, unknown).changes == pb.DiffResponse.DIFF_SOME


def test_diff_compares_the_shape_only_and_refuses_what_the_last_up_read(host):
    outs = {**change(), "plan": "", "storageClassExpands": True, "applied": 2.0, "kubeconfigSet": True}
    assert host.diff(CHANGE, "c", "id", outs, {**change(), "readyTimeoutSeconds": 60.0}).changes == (
        pb.DiffResponse.DIFF_NONE
    )
    grown = {**change(storage_size="10Gi")}
    assert host.diff(CHANGE, "c", "id", outs, grown).changes == pb.DiffResponse.DIFF_SOME
    with pytest.raises(grpc.RpcError) as err:
        host.diff(CHANGE, "c", "id", {**outs, "storageClassExpands": False}, grown)
    assert err.value.code() == grpc.StatusCode.UNKNOWN
    assert "volume expansion refused: storageSize/logStorageSize grow, but StorageClass standard" in str(err.value)


def test_rolling_restart_runs_when_the_statefulset_or_its_template_changes(host):
    base = floats({"members": ["tdengine-0"], "namespace": "tdengine-test", "statefulset": "tdengine"})
    base |= {"service": "taosd", "templateHash": "a", "image": ARGS.image, "generation": 3.0}
    base["__provider"] = provider_blob(RollingRestartProvider())
    assert host.diff(ROLLOUT, "r", "id", base, {**base, "drainTimeoutSeconds": 5.0}).changes == (
        pb.DiffResponse.DIFF_NONE
    )
    for news in ({**base, "generation": 4.0}, {**base, "generation": UNKNOWN}, {**base, "templateHash": "b"}):
        assert host.diff(ROLLOUT, "r", "id", base, news).changes == pb.DiffResponse.DIFF_SOME
    assert list(host.check(ROLLOUT, "r", {}, {**base, "members": UNKNOWN}).failures) == []


@pytest.mark.parametrize("provider", [ClusterChangeProvider, RollingRestartProvider])
def test_provider_blob_is_a_reference_that_captures_nothing(provider):
    blob = provider_blob(provider())
    assert len(blob) < 400  # a by-reference pickle of the class: the state names its module and class
    pickled = base64.b64decode(blob)
    assert provider.__module__.encode() in pickled and provider.__name__.encode() in pickled
