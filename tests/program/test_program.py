"""The real __main__.py under mocks, with Pulumi.dev.yaml's config (the seed's cluster)."""

from __future__ import annotations

import base64
import itertools
import re

import pulumi
import pytest
from pulumi.runtime import rpc

from tests.harness import GENERATED_PASSWORD, ROOT, run_program, stack_config

COMPONENT = "tdengine:index:Cluster"
CHILD_TYPES = {
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:Secret",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:Service",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:policy/v1:PodDisruptionBudget",
    "random:index/randomPassword:RandomPassword",
    "pulumi-python:dynamic/tdengine:DnodeDecommission",
    "pulumi-python:dynamic/tdengine:ClusterMembership",
    "pulumi-python:dynamic/tdengine:ClusterChange",
    "pulumi-python:dynamic/tdengine:RollingRestart",
}
DECOMMISSION = "pulumi-python:dynamic/tdengine:DnodeDecommission"
MEMBERSHIP = "pulumi-python:dynamic/tdengine:ClusterMembership"
CHANGE = "pulumi-python:dynamic/tdengine:ClusterChange"
ROLLOUT = "pulumi-python:dynamic/tdengine:RollingRestart"


@pytest.fixture(scope="module")
def dev_run():
    return run_program(stack_config("dev"))


@pytest.fixture(scope="module")
def dev(dev_run):
    return dev_run.monitor


def test_component_and_children(dev):
    component = dev.one(COMPONENT)
    assert component.name == "tdengine"
    children = [r for r in dev.registered if r.parent == component.urn]
    assert {r.type for r in children} == CHILD_TYPES
    assert sorted(r.name for r in children) == sorted(
        [
            "tdengine-ns",
            "tdengine-root",
            "tdengine-taoscfg",
            "tdengine-start",
            "tdengine-svc",
            "tdengine-sts",
            "tdengine-pdb",
            "tdengine-root-password",
            "tdengine-decommission",
            "tdengine-membership",
            "tdengine-change",
            "tdengine-rollout",
        ]
    )
    # every resource the program declares, except the component itself, is its child
    others = [r for r in dev.registered if r.type not in (COMPONENT, "pulumi:pulumi:Stack")]
    assert others and all(r.parent == component.urn for r in others)


def test_statefulset_carries_the_seed_fields(dev):
    sts = dev.one("kubernetes:apps/v1:StatefulSet").inputs
    assert sts["metadata"]["name"] == "tdengine" and sts["metadata"]["namespace"] == "tdengine-test"
    spec = sts["spec"]
    assert spec["serviceName"] == "taosd" and spec["replicas"] == 3
    assert spec["updateStrategy"] == {"type": "OnDelete"}  # the program restarts the pods (components/rollout)
    assert sts["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    assert sts["metadata"]["annotations"]["pulumi.com/deletionPropagationPolicy"] == "orphan"
    assert spec["selector"]["matchLabels"]["app"] == "tdengine"
    container = spec["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["TZ"]["value"] == "Asia/Shanghai"
    assert env["TAOS_FQDN"]["value"] == "$(POD_NAME).$(SERVICE_NAME).$(STS_NAMESPACE).svc.cluster.local"
    assert env["TAOS_FIRST_EP"]["value"].startswith("$(STS_NAME)-0.$(SERVICE_NAME)")
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["TAOS_ROOT_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "tdengine-root"
    assert container["volumeMounts"] == [
        {"name": "taosdata", "mountPath": "/var/lib/taos"},
        {"name": "start", "mountPath": "/usr/local/lib/tdengine-pulumi", "readOnly": True},
    ]
    claim = spec["volumeClaimTemplates"][0]
    assert claim["spec"]["storageClassName"] == "standard"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    for probe in ("startupProbe", "readinessProbe"):
        assert container[probe]["exec"]["command"] == ["taos-check"]
    assert container["livenessProbe"]["tcpSocket"] == {"port": 6030}


def test_statefulset_waits_for_its_config(dev):
    sts = dev.one("kubernetes:apps/v1:StatefulSet")
    urns = {r.name: r.urn for r in dev.registered}
    for name in ("tdengine-root", "tdengine-taoscfg", "tdengine-svc", "tdengine-ns"):
        assert urns[name] in sts.dependencies, name


def test_generated_password_is_strong_secret_and_exported(dev, dev_run):
    generated = dev.one("random:index/randomPassword:RandomPassword").inputs
    assert generated["length"] >= 8 and generated["minUpper"] >= 1 and generated["minLower"] >= 1
    assert generated["minNumeric"] >= 1 and generated["minSpecial"] >= 1
    assert set(generated["overrideSpecial"]) <= set("!@#$%^&*()-_+=[]{}:;><?|~,.")
    string_data = dev.one("kubernetes:core/v1:Secret").inputs["stringData"]
    assert rpc.is_rpc_secret(string_data) and rpc.unwrap_rpc_secret(string_data) == {
        "TAOS_ROOT_PASSWORD": GENERATED_PASSWORD
    }
    outputs = dev.outputs[dev.one(COMPONENT).urn]
    assert (
        rpc.is_rpc_secret(outputs["rootPassword"])
        and rpc.unwrap_rpc_secret(outputs["rootPassword"]) == GENERATED_PASSWORD
    )
    assert outputs["firstEndpoint"] == "tdengine-0.taosd.tdengine-test.svc.cluster.local:6030"
    assert outputs["podFqdns"] == [f"tdengine-{i}.taosd.tdengine-test.svc.cluster.local" for i in range(3)]
    assert outputs["restUrl"] == "http://taosd.tdengine-test.svc.cluster.local:6041"
    assert set(dev_run.exports) == {
        "namespace",
        "serviceName",
        "firstEndpoint",
        "restUrl",
        "podFqdns",
        "rootPassword",
        "topology",
    }
    assert dev_run.resolved["rootPassword"] == GENERATED_PASSWORD and dev_run.resolved["namespace"] == "tdengine-test"


def test_configured_password_is_used_as_a_secret_and_nothing_is_generated():
    config = {**stack_config("dev"), "tdengine:rootPassword": "Tdengine-2025!"}
    monitor = run_program(config, secret_keys=("tdengine:rootPassword",)).monitor
    assert not monitor.of_type("random:index/randomPassword:RandomPassword")
    string_data = monitor.one("kubernetes:core/v1:Secret").inputs["stringData"]
    assert (
        rpc.is_rpc_secret(string_data) and rpc.unwrap_rpc_secret(string_data)["TAOS_ROOT_PASSWORD"] == "Tdengine-2025!"
    )


def test_kube_context_creates_an_explicit_provider_used_by_the_children():
    config = {**stack_config("dev"), "tdengine:kubeContext": "prod-east"}
    monitor = run_program(config).monitor
    provider = monitor.one("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "prod-east"
    for kind in ("kubernetes:apps/v1:StatefulSet", "kubernetes:core/v1:Namespace"):
        assert monitor.one(kind).provider.startswith(provider.urn), kind


def test_destroy_keeps_the_namespace_with_the_data_unless_delete_data_on_destroy(dev):
    namespace = dev.one("kubernetes:core/v1:Namespace")
    assert namespace.retain_on_delete is True  # else the namespace controller deletes the PVCs with it
    assert dev.one(DECOMMISSION).inputs["createNamespace"] is True
    for other in dev.registered:
        if other.type.startswith("kubernetes:") and other is not namespace:
            assert other.retain_on_delete is False, other.name
    everything = run_program({**stack_config("dev"), "tdengine:deleteDataOnDestroy": "true"}).monitor
    assert everything.one("kubernetes:core/v1:Namespace").retain_on_delete is False


def test_bad_config_fails_with_one_clear_error(caplog):
    config = {
        **stack_config("dev"),
        "tdengine:replicas": "0",
        "tdengine:storageSize": "5GB",
        "tdengine:image": "x:latest",
    }
    with pytest.raises(SystemExit) as exit_:  # 32: the runner tells the CLI the error is reported, no traceback
        run_program(config)
    assert exit_.value.code == 32
    [logged] = [r for r in caplog.records if r.levelname == "ERROR"]  # the engine's log: the run's one error
    text = logged.getMessage()
    assert text.startswith("invalid TDengine cluster configuration:") and "Traceback" not in text
    assert "replicas: 0 is invalid" in text
    assert "storageSize: '5GB' is invalid" in text
    assert "image: 'x:latest' is invalid" in text


@pytest.mark.parametrize(
    ("key", "closest"), [("storgeSize", "storageSize"), ("replica", "replicas"), ("rootpassword", "rootPassword")]
)
def test_a_key_the_program_does_not_read_is_refused_naming_the_closest(caplog, key, closest):
    """A typo under plain `pulumi preview`/`up` would leave its setting at the default and change nothing
    visible ("13 unchanged"): the program refuses it, with the key it most likely meant, before any resource."""
    run = None
    with pytest.raises(SystemExit):
        run = run_program({**stack_config("dev"), f"tdengine:{key}": "10Gi"})
    assert f"{key}: unknown setting; did you mean {closest}? Fix: `pulumi config rm {key}`" in caplog.text
    assert run is None


def test_an_inline_program_refuses_bad_settings_with_a_run_error():
    """The Automation API's inline host runs in the embedder's process: a RunError, never an exit."""
    from components.automation import inline_program

    with pytest.raises(pulumi.RunError, match="storgeSize: unknown setting; did you mean storageSize"):
        run_program({**stack_config("dev"), "tdengine:storgeSize": "1Gi"}, program=inline_program)


def test_keys_of_other_namespaces_are_not_the_programs_to_refuse():
    run = run_program({**stack_config("dev"), "kubernetes:context": "prod", "other:storgeSize": "1"})
    assert run.monitor.of_type("kubernetes:apps/v1:StatefulSet")


def test_membership_resources_bracket_the_statefulset(dev):
    urn = {r.type: r.urn for r in dev.registered}
    sts = dev.one("kubernetes:apps/v1:StatefulSet")
    assert urn[DECOMMISSION] in sts.dependencies
    assert sts.urn in dev.one(MEMBERSHIP).dependencies
    assert urn[MEMBERSHIP] not in sts.dependencies


def test_the_day_two_resources_come_first_and_after_the_statefulset(dev):
    """ClusterChange before the drain and the StatefulSet (a refusal stops everything); RollingRestart after the
    StatefulSet and before ClusterMembership, which converges on the restarted pods."""
    urn = {r.type: r.urn for r in dev.registered}
    sts = dev.one("kubernetes:apps/v1:StatefulSet")
    assert urn[CHANGE] in dev.one(DECOMMISSION).dependencies and urn[CHANGE] in sts.dependencies
    assert sts.urn in dev.one(ROLLOUT).dependencies
    assert urn[ROLLOUT] in dev.one(MEMBERSHIP).dependencies
    for r in dev.registered:  # a refusal (ClusterChange's Check) leaves every object of the cluster as it was
        if r.type.startswith(("kubernetes:", "pulumi-python:dynamic")) and r.type != CHANGE:
            assert urn[CHANGE] in r.dependencies, r.name
    change = dev.one(CHANGE).inputs
    assert change["image"] == "tdengine/tdengine:3.3.7.5" and change["replicas"] == 3.0
    assert change["volumes"] == [{"name": "taosdata", "size": "5Gi", "storageClass": "standard"}]
    assert "rootPassword" not in change  # it sends no SQL
    rollout = dev.one(ROLLOUT).inputs
    assert len(rollout["templateHash"]) == 16 and rollout["members"] == ["tdengine-0", "tdengine-1", "tdengine-2"]


def test_the_runbook_table_in_cluster_py_is_the_order_the_engine_runs(dev):
    """The numbered steps above `TDengineCluster.__init__`'s body are the order: each step's resource depends,
    directly or through others, on the step before it."""
    source = (ROOT / "components" / "cluster.py").read_text(encoding="utf-8")
    steps = re.findall(r"^\s+#\s+\d\. (?:the )?(\w+)", source, flags=re.MULTILINE)
    assert steps[:6] == ["ClusterChange", "Namespace", "DnodeDecommission", "StatefulSet", "RollingRestart",
                         "ClusterMembership"], steps  # fmt: skip
    by_type = {r.type.rsplit(":", 1)[1]: r for r in dev.registered}
    by_urn = {r.urn: r for r in dev.registered}

    def upstream(urn: str) -> set[str]:
        seen, todo = set(), [urn]
        while todo:
            for dep in by_urn[todo.pop()].dependencies:
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    for before, after in itertools.pairwise(steps[:6]):
        assert by_type[before].urn in upstream(by_type[after].urn), f"{after} does not wait for {before}"


def test_decommission_input_is_the_member_list_and_secrets_stay_secret(dev):
    inputs = dev.one(DECOMMISSION).inputs
    assert inputs["members"] == ["tdengine-0", "tdengine-1", "tdengine-2"]
    assert (inputs["namespace"], inputs["statefulset"], inputs["service"]) == ("tdengine-test", "tdengine", "taosd")
    assert inputs["templates"] == ["taosdata"]
    assert rpc.is_rpc_secret(inputs["rootPassword"])
    assert set(dev.one(DECOMMISSION).additional_secret_outputs) >= {"rootPassword", "kubeconfig"}
    blob = (
        rpc.unwrap_rpc_secret(inputs["__provider"]) if rpc.is_rpc_secret(inputs["__provider"]) else inputs["__provider"]
    )
    assert GENERATED_PASSWORD.encode() not in base64.b64decode(blob)
    assert not rpc.is_rpc_secret(inputs["__provider"])  # stateless provider: nothing secret captured


def test_scale_down_shows_the_departing_pods_in_the_inputs():
    monitor = run_program({**stack_config("dev"), "tdengine:replicas": "5"}).monitor
    assert monitor.one(DECOMMISSION).inputs["members"] == [f"tdengine-{i}" for i in range(5)]
