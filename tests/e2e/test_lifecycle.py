"""The life of a stack through the real Pulumi CLI, a real control plane and real TDengine 3.3.7.5 in real pods
on a real node: preview and up of a new stack, the seed's 3 -> 4 -> 3 -> 4 with a watcher on the API server, a
refused scale-in, refresh, and a destroy that keeps the data for the next up.

One cluster and one stack for the module: each test continues from where the one before left the stack
(a story, in file order), as an operator's sequence of commands would.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.e2e.harness import NAMESPACE, STATEFULSET
from tests.e2e.real import STACK_RESOURCES, RealCluster
from tests.e2e.watch import ApiWatcher

REAL = True
STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "3", **STACK_RESOURCES}
"""`Pulumi.dev.yaml`'s cluster (the seed's) with the program's default image, without adminUrl: every SQL
statement goes through a port-forward of the API server."""
ROWS: dict[str, int] = {}
"""Rows written per table by the tests, checked after every change."""


def topology(e2e: RealCluster) -> dict[str, Any]:
    return dict(e2e.project.outputs()["topology"])


def test_preview_of_a_new_stack_creates_nothing_and_sends_no_sql(e2e: RealCluster) -> None:
    e2e.project.init(STACK)
    run = e2e.project.preview().check()
    assert re.search(r"\+ 14 to create", run.stdout), run.stdout
    for resource in ("tdengine-decommission", "tdengine-membership", "tdengine-sts", "tdengine-ns"):
        assert resource in run.stdout
    assert e2e.port_forwards() == 0
    assert NAMESPACE not in {n["metadata"]["name"] for n in e2e.plane.get("namespaces")["items"]}


def test_up_creates_everything_and_converges(e2e: RealCluster, watcher: ApiWatcher) -> None:
    run = e2e.project.up().check()
    assert "+ 14 created" in run.stdout
    sts = e2e.plane.get("statefulset", STATEFULSET, "-n", NAMESPACE)
    assert sts["status"]["readyReplicas"] == 3
    kinds = e2e.plane.kubectl("get", "secret,configmap,service,pdb,statefulset", "-n", NAMESPACE, "-o", "name")
    for name in (
        f"secret/{STATEFULSET}-root",
        f"configmap/{STATEFULSET}-taoscfg",
        f"configmap/{STATEFULSET}-start",
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
    mnodes = e2e.tdengine.mnodes()  # what the real server says, not only what the program reported
    assert sorted(m["role"] for m in mnodes) == ["follower", "follower", "leader"]
    # The first creation started cleanly: no container took itself down (podManagementPolicy Parallel: pods 1
    # and 2 started before pod 0 changed the root password; the official start-up exited on that).
    assert e2e.pod_restarts() == {f"tdengine-{i}": 0 for i in range(3)}
    assert watcher.violations() == []


def test_the_root_password_is_only_ciphertext_in_state_and_output(e2e: RealCluster) -> None:
    printed = e2e.project.everything_printed()
    export = e2e.project.export()
    password = e2e.project.outputs(show_secrets=True)["rootPassword"]
    assert len(password) == 16 and e2e.tdengine.password == password  # the generated one, applied at start
    assert password not in export and password not in printed
    assert '"ciphertext"' in export
    state = json.loads(export)["deployment"]["resources"]
    secret_outputs = next(r for r in state if r["type"].endswith("ClusterMembership"))["outputs"]["rootPassword"]
    assert set(secret_outputs) == {"4dabf18193072939515e22adb298388d", "ciphertext"}


def test_preview_diff_shows_the_members_change_and_sends_no_sql(e2e: RealCluster) -> None:
    forwards = e2e.port_forwards()
    e2e.project.set("replicas", "4")
    grow = e2e.project.preview("--diff").check().stdout
    assert re.search(r"~ members\s*:\s*\[", grow) or "members" in grow, grow
    assert '+ [3]: "tdengine-3"' in grow
    assert "replicas: 3 => 4" in grow or re.search(r"replicas\s*:\s*3\s*=>\s*4", grow), grow
    e2e.project.set("replicas", "3")
    assert e2e.port_forwards() == forwards  # preview ran Check and Diff only: no SQL, no port-forward
    assert e2e.sts_replicas() == 3


def test_the_seed_sequence_3_4_3_4(e2e: RealCluster, watcher: ApiWatcher) -> None:
    ROWS["app.meters"] = e2e.tdengine.create_database("app", replica=3, vgroups=2)
    e2e.project.set("replicas", "4")
    e2e.project.up().check()
    first_id = e2e.dnode_ids()["tdengine-3"]
    first_volume = e2e.pvcs()["taosdata-tdengine-3"]
    assert len(topology(e2e)["mnodes"]) == 3

    e2e.project.set("replicas", "3")
    forwards = e2e.port_forwards()
    shrink = e2e.project.preview("--diff").check().stdout  # 4 -> 3: which pod leaves, before anything runs
    assert '- [3]: "tdengine-3"' in shrink and re.search(r"replicas\s*:\s*4\s*=>\s*3", shrink), shrink
    assert e2e.port_forwards() == forwards and e2e.sts_replicas() == 4
    run = e2e.project.up().check()
    assert f"drop dnode {first_id}" in run.output
    assert "tdengine-3" not in e2e.dnode_ids() and e2e.sts_replicas() == 3
    e2e.tdengine.assert_rows(ROWS)
    assert "taosdata-tdengine-3" not in e2e.pvcs()  # the released volume, deleted after the scale-in
    assert "delete PVC taosdata-tdengine-3" in run.output

    e2e.project.set("replicas", "4")
    e2e.project.up().check()
    second_id = e2e.dnode_ids()["tdengine-3"]
    assert second_id > first_id  # a new dnode: ids are never reused
    assert e2e.pvcs()["taosdata-tdengine-3"] != first_volume  # on a fresh volume
    assert {d["pod"]: d["status"] for d in topology(e2e)["dnodes"]}["tdengine-3"] == "ready"

    e2e.project.set("replicas", "3")  # back to the stack's size for the rest of the story
    e2e.project.up().check()
    shrinks = [e for e in watcher.events if e.what.startswith("replicas")]
    assert [e.what for e in shrinks] == ["replicas 4 -> 3", "replicas 4 -> 3"]
    assert [e.what for e in watcher.events if e.what.startswith("pod")] == ["pod tdengine-3 deleted"] * 2
    e2e.tdengine.assert_rows(ROWS)
    assert watcher.violations() == []


def test_a_scale_in_below_a_database_replica_is_refused_before_anything_changes(e2e: RealCluster) -> None:
    e2e.project.set("replicas", "2")
    e2e.project.set("allowFewerThanThreeDnodes", "true")
    before = (e2e.tdengine.dnodes(), e2e.tdengine.mnodes(), e2e.tdengine.vgroups())
    run = e2e.project.up()
    assert run.code != 0
    assert "database app has replica 3" in run.output or "app" in run.output, run.output
    assert "Nothing was changed" in run.output
    assert e2e.sts_replicas() == 3 and len(e2e.dnode_ids()) == 3
    after = (e2e.tdengine.dnodes(), e2e.tdengine.mnodes(), e2e.tdengine.vgroups())
    assert _members(after) == _members(before)
    e2e.project.set("replicas", "3")
    e2e.project.pulumi("config", "rm", "allowFewerThanThreeDnodes").check()
    e2e.project.up().check()


def _members(views: tuple[list[dict[str, Any]], ...]) -> list[list[tuple[Any, ...]]]:
    """Who is in the cluster and where each vgroup lives: what a refused change must leave as it was."""
    keys = ("id", "endpoint", "vgroup_id", "v1_dnode", "v2_dnode", "v3_dnode")
    return [[tuple(r.get(k) for k in keys) for r in rows] for rows in views]


def test_refresh_of_a_converged_stack_changes_nothing(e2e: RealCluster) -> None:
    run = e2e.project.pulumi("refresh", "--yes", "--skip-preview").check()
    assert "~ " not in run.stdout.split("Resources:")[-1], run.stdout
    preview = e2e.project.pulumi("preview", "--expect-no-changes")
    assert preview.code == 0, preview.output


def test_destroy_keeps_the_data_and_the_next_up_finds_it(e2e: RealCluster, watcher: ApiWatcher) -> None:
    before = e2e.dnode_ids()
    volumes = e2e.pvcs()
    run = e2e.project.pulumi("destroy", "--yes", "--skip-preview").check()
    assert "destroy kept the data (deleteDataOnDestroy is false): namespace tdengine-test (retained)" in run.output
    assert "kubectl delete namespace tdengine-test" in run.output
    e2e.plane.wait("the pods to be gone", lambda: not e2e.plane.get("pods", "-n", NAMESPACE)["items"], 60)
    assert e2e.pvcs() == volumes  # the namespace controller is real: the namespace was kept, so the PVCs too
    assert e2e.plane.get("namespace", NAMESPACE)["status"]["phase"] == "Active"
    kept = e2e.plane.get("secret", f"{STATEFULSET}-root-kept", "-n", NAMESPACE)
    assert set(kept["data"]) == {"TAOS_ROOT_PASSWORD"}

    e2e.project.pulumi("stack", "rm", "--yes", "--force").check()  # a new stack: its own generated password
    e2e.project.init(STACK)
    run = e2e.project.up().check()
    assert "changing it to the configured rootPassword" in run.output
    assert e2e.dnode_ids() == before and "app" in {v["db"] for v in e2e.tdengine.vgroups()}
    assert e2e.pvcs() == volumes
    assert f"{STATEFULSET}-root-kept" not in e2e.plane.kubectl("get", "secrets", "-n", NAMESPACE)
    assert e2e.tdengine.password == e2e.project.outputs(show_secrets=True)["rootPassword"]
    e2e.tdengine.assert_rows(ROWS)
    assert watcher.violations() == []


def test_destroy_with_delete_data_on_destroy_removes_everything(e2e: RealCluster, watcher: ApiWatcher) -> None:
    e2e.project.set("deleteDataOnDestroy", "true")
    e2e.project.up().check()  # records the setting (and the namespace's retainOnDelete) in the state
    run = e2e.project.pulumi("destroy", "--yes", "--skip-preview").check()
    assert "deleteDataOnDestroy: delete PVC taosdata-tdengine-0" in run.output
    e2e.plane.wait(
        "the namespace to be gone",
        lambda: NAMESPACE not in {n["metadata"]["name"] for n in e2e.plane.get("namespaces")["items"]},
        120,
    )
    assert watcher.violations() == []
