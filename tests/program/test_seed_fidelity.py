"""Our dev-stack Service and StatefulSet contain the seed's YAML, field by field, except the
departures docs/seed.md lists; each departure is asserted explicitly here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import manifests
from components.args import ClusterArgs
from tests.harness import ROOT, seed_settings

SEED = ROOT.parent / "shared" / "seed" / "tdengine-on-kubernetes.zh.md"

# Seed values we deliberately replace (path -> (seed value, ours)); every other seed field must match.
REPLACED = {
    "StatefulSet": {
        "spec.template.spec.containers[0].image": ("tdengine/tdengine:3.0.7.1", "tdengine/tdengine:3.3.7.5"),
        "spec.template.spec.containers[0].readinessProbe.timeoutSeconds": (5000, 10),
        "spec.template.spec.containers[0].livenessProbe.exec": ({"command": ["taos-check"]}, None),
        "spec.updateStrategy.type": ("RollingUpdate", "OnDelete"),
    },
    "Service": {},
}


def seed_documents() -> dict[str, dict[str, Any]]:
    if not SEED.exists():
        pytest.skip(f"seed not found at {SEED}")
    text = SEED.read_text(encoding="utf-8")
    docs = [yaml.safe_load(block) for block in re.findall(r"```YAML\n(.*?)```", text, flags=re.S)]
    return {d["kind"]: d for d in docs if isinstance(d, dict) and d.get("kind") in ("Service", "StatefulSet")}


def differences(seed: Any, ours: Any, path: str = "") -> dict[str, tuple[Any, Any]]:
    """Paths where `ours` does not contain `seed` (extra fields in ours are fine)."""
    if isinstance(seed, dict):
        if not isinstance(ours, dict):
            return {path: (seed, ours)}
        out: dict[str, tuple[Any, Any]] = {}
        for key, value in seed.items():
            out |= differences(value, ours.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(seed, list):
        if not isinstance(ours, list) or len(ours) < len(seed):
            return {path: (seed, ours)}
        out = {}
        for i, item in enumerate(seed):
            named = isinstance(item, dict) and "name" in item
            match = (
                next((o for o in ours if isinstance(o, dict) and o.get("name") == item["name"]), None)
                if named
                else ours[i]
            )
            out |= differences(item, match, f"{path}[{i}]")
        return out
    return {} if seed == ours else {path: (seed, ours)}


@pytest.fixture(scope="module")
def dev_args() -> ClusterArgs:
    return ClusterArgs.from_mapping(seed_settings())


def test_seed_has_both_documents():
    docs = seed_documents()
    assert set(docs) == {"Service", "StatefulSet"}


@pytest.mark.parametrize("kind", ["Service", "StatefulSet"])
def test_ours_contains_the_seed_except_the_listed_departures(kind, dev_args):
    ours = manifests.headless_service(dev_args) if kind == "Service" else manifests.statefulset(dev_args)
    assert differences(seed_documents()[kind], ours) == REPLACED[kind]


def test_departure_headless_service_publishing_not_ready_pods(dev_args):
    spec = manifests.headless_service(dev_args)["spec"]
    assert "clusterIP" not in seed_documents()["Service"]["spec"]
    assert spec["clusterIP"] == "None" and spec["publishNotReadyAddresses"] is True


def test_departure_parallel_pods_spread_over_nodes(dev_args):
    spec = manifests.statefulset(dev_args)["spec"]
    seed_spec = seed_documents()["StatefulSet"]["spec"]
    assert "podManagementPolicy" not in seed_spec and spec["podManagementPolicy"] == "Parallel"
    term = spec["template"]["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"


def test_departure_pdb_and_root_password_secret(dev_args):
    kinds = [o["kind"] for o in manifests.all_manifests(dev_args, "x")]
    assert "PodDisruptionBudget" in kinds and "Secret" in kinds
    env = {e["name"]: e for e in manifests.statefulset(dev_args)["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "TAOS_ROOT_PASSWORD" not in {
        e["name"] for e in seed_documents()["StatefulSet"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["TAOS_ROOT_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "tdengine-root"


def test_departure_selector_adds_instance_labels(dev_args):
    ours = manifests.statefulset(dev_args)["spec"]["selector"]["matchLabels"]
    seed = seed_documents()["StatefulSet"]["spec"]["selector"]["matchLabels"]
    assert seed.items() < ours.items() and ours["app.kubernetes.io/instance"] == "tdengine"


def test_departure_probe_timeouts_resources_and_taoscfg(dev_args):
    container = manifests.statefulset(dev_args)["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["tcpSocket"] == {"port": 6030} and "exec" not in container["livenessProbe"]
    assert container["readinessProbe"]["exec"] == container["startupProbe"]["exec"] == {"command": ["taos-check"]}
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert container["envFrom"] == [{"configMapRef": {"name": "tdengine-taoscfg"}}]


def test_departure_security_context_grace_period_and_zone_spread(dev_args):
    seed_pod = seed_documents()["StatefulSet"]["spec"]["template"]["spec"]
    assert not {"securityContext", "terminationGracePeriodSeconds", "topologySpreadConstraints"} & set(seed_pod)
    pod = manifests.statefulset(dev_args)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["terminationGracePeriodSeconds"] == 300
    assert "pkill -TERM -x taosd" in container["lifecycle"]["preStop"]["exec"]["command"][2]
    zone = next(c for c in pod["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone")
    assert zone["whenUnsatisfiable"] == "ScheduleAnyway" and zone["maxSkew"] == 1


def test_the_docs_list_every_departure():
    section = (ROOT / "docs" / "seed.md").read_text(encoding="utf-8")
    for paths in REPLACED.values():
        for path in paths:
            assert path.rsplit(".", 1)[-1] in section, path
    for phrase in (
        "publishNotReadyAddresses",
        "podManagementPolicy",
        "anti-affinity",
        "PodDisruptionBudget",
        "TAOS_ROOT_PASSWORD",
        "selector",
        "livenessProbe",
        "resources",
        "tdengine-taoscfg",
        "securityContext",
        "terminationGracePeriodSeconds",
        "preStop",
        "topologySpreadConstraints",
    ):
        assert phrase in section, phrase


def test_seed_path_is_the_shared_one():
    assert isinstance(SEED, Path) and SEED.name == "tdengine-on-kubernetes.zh.md"
