"""Every rendered object validates against the real Kubernetes JSON schemas (strict)."""

from __future__ import annotations

import kubernetes_validate
import pytest
from kubernetes_validate import utils

from components import manifests
from components.args import ClusterArgs
from components.render import render

VERSIONS = ["1.27.0", utils.latest_version()]

VARIANTS = {
    "defaults": ClusterArgs(),
    "seed": ClusterArgs(namespace="tdengine-test"),
    "everything": ClusterArgs(
        namespace="prod",
        client_service=True,
        log_storage_size="1Gi",
        rest_port=16041,
        cpu_limit="2",
        anti_affinity="required",
        pod_management_policy="OrderedReady",
        zone_spread="required",
        termination_grace_period=900,
        taos_settings={"TAOS_SUPPORT_VNODES": "32", "TAOS_DEBUG_FLAG": "131"},
        labels={"team": "iot", "example.com/tier": "gold"},
        annotations={"example.com/owner": "platform team"},
        storage_class="",
    ),
    "minimal": ClusterArgs(
        create_namespace=False,
        anti_affinity="none",
        zone_spread="none",
        pod_disruption_budget=False,
        cpu_request="",
        memory_limit="",
    ),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_objects_validate_strictly(variant, version):
    objects = render(VARIANTS[variant])
    assert objects
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def test_validation_is_strict_enough_to_catch_a_typo():
    sts = manifests.statefulset(ClusterArgs())
    sts["spec"]["servicename"] = "taosd"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(sts, VERSIONS[-1], strict=True)


def test_optional_objects_follow_the_settings():
    kinds = [o["kind"] for o in render(VARIANTS["everything"])]
    assert kinds == [
        "Namespace", "Secret", "ConfigMap", "ConfigMap", "Service", "Service", "StatefulSet", "PodDisruptionBudget"
    ]  # fmt: skip
    minimal = [o["kind"] for o in render(VARIANTS["minimal"])]
    assert minimal == ["Secret", "ConfigMap", "ConfigMap", "Service", "StatefulSet"]


def test_everything_variant_wires_its_settings():
    args = VARIANTS["everything"]
    sts = manifests.statefulset(args)
    pod = sts["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TAOS_ADAPTER_PORT"] == "16041"
    assert container["ports"][1] == {"name": "tcp16041", "protocol": "TCP", "containerPort": 16041}
    service_ports = manifests.headless_service(args)["spec"]["ports"]
    assert [(p["name"], p["port"]) for p in service_ports] == [("tcp6030", 6030), ("tcp16041", 16041)]
    assert pod["terminationGracePeriodSeconds"] == 900
    modes = {c["topologyKey"]: c["whenUnsatisfiable"] for c in pod["topologySpreadConstraints"]}
    assert modes == {"topology.kubernetes.io/zone": "DoNotSchedule", "kubernetes.io/hostname": "ScheduleAnyway"}
    assert [v["metadata"]["name"] for v in sts["spec"]["volumeClaimTemplates"]] == ["taosdata", "taoslog"]
    assert "storageClassName" not in sts["spec"]["volumeClaimTemplates"][0]["spec"]
    assert {"name": "taoslog", "mountPath": "/var/log/taos"} in container["volumeMounts"]
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    }
    assert "requiredDuringSchedulingIgnoredDuringExecution" in pod["affinity"]["podAntiAffinity"]
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert container["envFrom"] == [{"configMapRef": {"name": "tdengine-taoscfg"}}]
    assert manifests.config_map(args)["data"] == {"TAOS_DEBUG_FLAG": "131", "TAOS_SUPPORT_VNODES": "32"}
    assert sts["metadata"]["labels"]["team"] == "iot"
    assert sts["metadata"]["annotations"] == {"example.com/owner": "platform team", **manifests.STATEFULSET_ANNOTATIONS}


def test_changed_taos_settings_roll_the_pods():
    def checksum(args: ClusterArgs) -> str:
        return manifests.statefulset(args)["spec"]["template"]["metadata"]["annotations"][
            "tdengine.io/taoscfg-checksum"
        ]

    assert checksum(ClusterArgs()) == checksum(ClusterArgs())
    assert checksum(ClusterArgs()) != checksum(ClusterArgs(taos_settings={"TAOS_DEBUG_FLAG": "143"}))


def test_pdb_allows_one_disruption_and_selects_the_pods():
    pdb = manifests.pod_disruption_budget(ClusterArgs())
    sts = manifests.statefulset(ClusterArgs())
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"] == sts["spec"]["selector"]
    assert sts["spec"]["selector"]["matchLabels"].items() <= sts["spec"]["template"]["metadata"]["labels"].items()


def test_minimal_variant_has_no_spread_and_default_ports_keep_the_seed_names():
    pod = manifests.statefulset(VARIANTS["minimal"])["spec"]["template"]["spec"]
    assert "topologySpreadConstraints" not in pod and "affinity" not in pod
    assert [p["name"] for p in pod["containers"][0]["ports"]] == ["tcp6030", "tcp6041"]


def test_created_namespace_enforces_baseline_pod_security():
    labels = manifests.namespace(ClusterArgs())["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"


def test_the_pod_meets_pod_security_baseline():
    """What `baseline` forbids (privileged, host namespaces, host paths, added capabilities outside its list)."""
    allowed_caps = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE"}
    allowed_caps |= {"SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
    pod = manifests.statefulset(ClusterArgs())["spec"]["template"]["spec"]
    assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)
    assert all(set(v) == {"name", "configMap"} for v in pod["volumes"])  # no hostPath (the start-up script only)
    for container in pod["containers"]:
        ctx = container["securityContext"]
        assert ctx["privileged"] is False and ctx["allowPrivilegeEscalation"] is False
        assert set(ctx["capabilities"]["add"]) <= allowed_caps and ctx["capabilities"]["drop"] == ["ALL"]
        assert ctx["seccompProfile"]["type"] == "RuntimeDefault"


def test_liveness_is_process_level_and_readiness_cluster_level():
    container = manifests.statefulset(ClusterArgs(server_port=6130, rest_port=6141))["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["livenessProbe"]["tcpSocket"] == {"port": 6130}
    assert container["readinessProbe"]["exec"]["command"] == ["taos-check"]


def test_an_image_change_changes_only_the_statefulset():
    """A PR's preview of an image change must show the one object it changes: a version label on every object
    made the Namespace, Secret, ConfigMap, Services and PDB `~ update` too."""
    from components.args import ClusterArgs
    from components.manifests import all_manifests

    old = all_manifests(ClusterArgs(client_service=True, image="tdengine/tdengine:3.3.6.13"), "pw")
    new = all_manifests(ClusterArgs(client_service=True, image="tdengine/tdengine:3.3.6.14"), "pw")
    changed = [o["kind"] for o, n in zip(old, new, strict=True) if o != n]
    assert changed == ["StatefulSet"]
    sts = new[[o["kind"] for o in new].index("StatefulSet")]
    assert sts["metadata"]["labels"]["app.kubernetes.io/version"] == "3.3.6.14"
    assert sts["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "3.3.6.14"
