"""ClusterArgs: parsing, defaults and one clear error per bad value."""

from __future__ import annotations

import dataclasses
import subprocess
from typing import Any

import pytest
import yaml

from components.args import ALL_SETTINGS, SECRET_SETTINGS, SETTINGS, ClusterArgs, ConfigError
from components.setting_docs import config_table
from components.validators import is_strong_password
from tests.harness import ROOT, SEED_STACK

# Every setting's invalid values and their messages: tests/program/bad_input.py, tests/program/test_bad_input.py.


def test_all_problems_are_reported_together():
    with pytest.raises(ConfigError) as err:
        ClusterArgs.from_mapping({"replicas": "x", "storageSize": "5GB", "antiAffinity": "?", "image": "a:latest"})
    assert [p.split(":")[0] for p in err.value.problems] == ["replicas", "image", "storageSize", "antiAffinity"]


def test_direct_construction_is_validated_too():
    with pytest.raises(ConfigError, match="replicas: 0 is invalid"):
        ClusterArgs(replicas=0)


def test_stack_config_strings_are_parsed():
    args = ClusterArgs.from_mapping(
        {
            "replicas": "5",
            "createNamespace": "false",
            "taosSettings": '["TAOS_SUPPORT_VNODES=32"]',
            "labels": {"team": "iot"},
            "rootPassword": "Tdengine-2025!",
        }
    )
    assert args.replicas == 5 and args.create_namespace is False
    assert args.taos_settings == {"TAOS_SUPPORT_VNODES": "32"} and args.labels == {"team": "iot"}
    assert "Tdengine-2025!" not in repr(args)


def test_from_config_reads_every_key_through_the_getter():
    asked: list[str] = []

    def get(key: str) -> str | None:
        asked.append(key)
        return {"replicas": "4"}.get(key)

    assert ClusterArgs.from_config(get).replicas == 4
    assert set(asked) == {s.key for s in ALL_SETTINGS}


@pytest.mark.parametrize(
    ("password", "strong"),
    [
        ("Tdengine-2025!", True),
        ("abcDEF12", True),
        ("abc-def-12", True),
        ("abcdefgh1", False),  # two classes (observed: Invalid password)
        ("12345678", False),
        ("Abcdefgh", False),
        ("Ab1-", False),  # too short
        ("Abcdef12'", False),  # quote is not an accepted special
        ("Abcdéf12", False),
    ],
)
def test_strong_password_rule_matches_tdengine(password, strong):
    assert is_strong_password(password) is strong


def test_pulumi_yaml_declares_every_setting_with_its_default():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "tdengine"
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    declared = project["config"]
    assert list(declared) == [s.key for s in SETTINGS]
    for s in SETTINGS:
        entry = declared[s.key]
        assert (entry["type"], entry["default"], entry["description"]) == (s.type, s.default, s.description), s.key
        assert getattr(ClusterArgs(), s.field) == (s.default if s.type != "array" else {}), s.key
    assert not {s.key for s in SECRET_SETTINGS} & set(declared)


def committed_dev_stack() -> dict[str, Any]:
    """Pulumi.dev.yaml as committed: the working tree's copy is the user's to change (the README's steps do)."""
    shown = subprocess.run(
        ["git", "show", "HEAD:Pulumi.dev.yaml"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return dict(yaml.safe_load(shown.stdout))


def test_the_committed_dev_stack_is_the_seed_cluster_the_tests_use():
    committed = committed_dev_stack()
    assert committed["config"] == SEED_STACK and set(committed) == {"config"}  # no encryptionsalt: any passphrase
    config = committed["config"]
    args = ClusterArgs.from_mapping({k.removeprefix("tdengine:"): v for k, v in config.items()})
    assert (args.namespace, args.replicas, args.storage_class, args.storage_size, args.timezone) == (
        "tdengine-test",
        3,
        "standard",
        "5Gi",
        "Asia/Shanghai",
    )
    assert not any("rootPassword" in k or "kubeconfig" in k for k in config)


def test_every_field_of_cluster_args_is_a_declared_setting():
    declared = {s.field for s in ALL_SETTINGS}
    assert declared == {f.name for f in dataclasses.fields(ClusterArgs)}
    assert len({s.key for s in ALL_SETTINGS}) == len(ALL_SETTINGS)


def test_readme_config_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = readme.split("<!-- settings-table -->\n", 1)[1].split("\n\n", 1)[0]
    assert documented == config_table(), "regenerate it: venv/bin/python -m components.setting_docs config"


def test_quantities_written_as_yaml_numbers_mean_their_string():
    args = ClusterArgs.from_mapping({"cpuRequest": 4, "cpuLimit": 8, "memoryLimit": "8Gi", "storageSize": 10})
    assert (args.cpu_request, args.cpu_limit, args.storage_size) == ("4", "8", "10")
    assert ClusterArgs.from_mapping({"cpuRequest": 0.5}).cpu_request == "0.5"
    with pytest.raises(ConfigError, match="cpuRequest: True is not a string"):
        ClusterArgs.from_mapping({"cpuRequest": True})


@pytest.mark.parametrize(
    "image",
    [
        "tdengine/tdengine:3.3.6.13",
        "tdengine/tdengine@sha256:" + "a" * 64,
        "tdengine/tdengine:3.3.6.13@sha256:" + "b" * 64,
        "registry.example.com:5000/tdengine/tdengine:3.3.7.5",
    ],
)
def test_pinned_images_are_accepted_digests_included(image: str):
    assert ClusterArgs(image=image).image == image


def test_requests_may_equal_their_limits_and_units_are_compared_by_value():
    args = ClusterArgs(cpu_request="1", cpu_limit="1000m", memory_request="4096Mi", memory_limit="4Gi")
    assert args.cpu_limit == "1000m"
    with pytest.raises(ConfigError, match="memoryRequest: '4097Mi' is invalid; it is above memoryLimit '4Gi'"):
        ClusterArgs(memory_request="4097Mi", memory_limit="4Gi")


def test_the_longest_fqdn_is_checked_at_the_highest_ordinal():
    # 'tdengine-9.taosd.tdengine.svc.<domain>' fits at 10 replicas; ordinal 10 is one character longer
    domain = "d" * 60 + "." + "e" * (127 - len("tdengine-9.taosd.tdengine.svc.") - 61)
    assert len(ClusterArgs(cluster_domain=domain, replicas=10).cluster_domain) == len(domain)
    with pytest.raises(ConfigError, match="has 128 characters; TDengine allows at most 127"):
        ClusterArgs(cluster_domain=domain, replicas=11)


def test_the_tests_read_the_seed_not_the_working_trees_stack_file(tmp_path, monkeypatch):
    """A user following the README changes Pulumi.dev.yaml (`scale 4`, `config set image ...`); the fast tier
    must not change with it. With the working tree's file edited, the tests' config is still the seed's."""
    import tests.harness as harness

    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  tdengine:namespace: mine\n  tdengine:replicas: 5\n")
    monkeypatch.setattr(harness, "ROOT", tmp_path)
    assert harness.stack_config("dev")["tdengine:replicas"] == "3"
    assert harness.stack_config("dev")["tdengine:namespace"] == "tdengine-test"
    assert harness.seed_settings()["replicas"] == 3
