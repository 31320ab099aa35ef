"""The life of a stack through the real Pulumi CLI and a real control plane: preview and up of a new stack,
the seed's 3 -> 4 -> 3 -> 4 with a watcher on the API server, a refused scale-in, refresh, and a destroy that
keeps the data for the next up.

One cluster and one stack for the module: each test continues from where the one before left the stack
(a story, in file order), as an operator's sequence of commands would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.harness import NAMESPACE, STATEFULSET, E2ECluster
from tests.e2e.watch import ApiWatcher

STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "3"}
"""`Pulumi.dev.yaml`'s cluster (the seed's), without adminUrl: every SQL statement goes through a port-forward."""
CLUSTER_OPTIONS = {"migration_seconds": 0.3}


@pytest.fixture(scope="module")
def watcher(e2e: E2ECluster) -> Iterator[ApiWatcher]:
    w = ApiWatcher(e2e.sim, str(e2e.plane.kubeconfig), NAMESPACE, STATEFULSET).start()
    yield w
    w.stop()


def members(e2e: E2ECluster) -> dict[str, int]:
    """pod -> dnode id of the simulated cluster."""
    return {d["endpoint"].split(".", 1)[0]: d["id"] for d in e2e.sim.dnodes()}


def sts_replicas(e2e: E2ECluster) -> int:
    return int(e2e.plane.get("statefulset", STATEFULSET, "-n", NAMESPACE)["spec"]["replicas"])


def pvcs(e2e: E2ECluster) -> dict[str, str]:
    """PVC name -> uid (a new uid: a fresh volume)."""
    items = e2e.plane.get("pvc", "-n", NAMESPACE)["items"]
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in items if "deletionTimestamp" not in p["metadata"]}


def topology(e2e: E2ECluster) -> dict[str, Any]:
    return dict(e2e.project.outputs()["topology"])


def test_preview_of_a_new_stack_creates_nothing_and_sends_no_sql(e2e: E2ECluster) -> None:
    e2e.project.init(STACK)
    requests = len(e2e.sim.requests)
    run = e2e.project.preview().check()
    assert re.search(r"\+ 12 to create", run.stdout), run.stdout
    for resource in ("tdengine-decommission", "tdengine-membership", "tdengine-sts", "tdengine-ns"):
        assert resource in run.stdout
    assert len(e2e.sim.requests) == requests
    assert NAMESPACE not in {n["metadata"]["name"] for n in e2e.plane.get("namespaces")["items"]}


def test_up_creates_everything_and_converges(e2e: E2ECluster, watcher: ApiWatcher) -> None:
    run = e2e.project.up().check()
    assert "+ 12 created" in run.stdout
    sts = e2e.plane.get("statefulset", STATEFULSET, "-n", NAMESPACE)
    assert sts["status"]["readyReplicas"] == 3
    kinds = e2e.plane.kubectl("get", "secret,configmap,service,pdb,statefulset", "-n", NAMESPACE, "-o", "name")
    for name in (
        f"secret/{STATEFULSET}-root",
        f"configmap/{STATEFULSET}-taoscfg",
        "service/taosd",
        "poddisruptionbudget",
    ):
        assert name in kinds
    ns = e2e.plane.get("namespace", NAMESPACE)["metadata"]["labels"]
    assert ns["pod-security.kubernetes.io/enforce"] == "baseline"  # and the real admission let the pods in
    top = topology(e2e)
    assert sorted((d["pod"], d["status"]) for d in top["dnodes"]) == [(f"tdengine-{i}", "ready") for i in range(3)]
    assert sorted(m["role"] for m in top["mnodes"]) == ["follower", "follower", "leader"]
    assert "[tdengine] create mnode on dnode" in run.output
    assert e2e.sim.violations == []


def test_the_root_password_is_only_ciphertext_in_state_and_output(e2e: E2ECluster) -> None:
    printed = e2e.project.everything_printed()
    export = e2e.project.export()
    password = e2e.project.outputs(show_secrets=True)["rootPassword"]
    assert len(password) == 16 and e2e.sim.password == password  # the generated one, applied by the image
    assert password not in export and password not in printed
    assert '"ciphertext"' in export
    state = json.loads(export)["deployment"]["resources"]
    secret_outputs = next(r for r in state if r["type"].endswith("ClusterMembership"))["outputs"]["rootPassword"]
    assert set(secret_outputs) == {"4dabf18193072939515e22adb298388d", "ciphertext"}
