"""ClusterArgs: parsing, defaults and one clear error per bad value."""

from __future__ import annotations

import pytest
import yaml

from components.args import SECRET_SETTINGS, SETTINGS, ClusterArgs, ConfigError, is_strong_password, setting_fields
from tests.harness import ROOT

# (config key, bad value as stack config gives it, text the error must contain)
BAD_VALUES = [
    ("replicas", "0", "replicas: 0 is invalid; must be an integer >= 1"),
    ("replicas", "-2", "replicas: -2 is invalid"),
    ("replicas", "three", "replicas: 'three' is not an integer"),
    ("replicas", "2.5", "replicas: '2.5' is not an integer"),
    ("namespace", "TDengine_Test", "namespace: 'TDengine_Test' is invalid; must be a DNS-1123 label"),
    ("namespace", "a" * 64, "at most 63 characters"),
    ("clusterName", "-tdengine", "clusterName: '-tdengine' is invalid"),
    ("serviceName", "taos.d", "serviceName: 'taos.d' is invalid"),
    ("createNamespace", "yes", "createNamespace: 'yes' is not a boolean"),
    (
        "image",
        "tdengine/tdengine",
        "image: 'tdengine/tdengine' is invalid; must be <repository>:<tag> with a pinned tag",
    ),
    ("image", "tdengine/tdengine:latest", "not 'latest'"),
    ("image", "Tdengine/TDengine:3.3.6.13", "image: 'Tdengine/TDengine:3.3.6.13' is invalid"),
    ("imagePullPolicy", "Sometimes", "imagePullPolicy: 'Sometimes' is invalid; allowed: Always, IfNotPresent, Never"),
    ("timezone", "Mars/Olympus", "timezone: 'Mars/Olympus' is invalid; must be an IANA time zone"),
    ("serverPort", "0", "serverPort: 0 is invalid; must be a port number from 1 to 65535"),
    ("restPort", "65536", "restPort: 65536 is invalid"),
    ("restPort", "6030", "restPort: 6030 is invalid; it must differ from serverPort"),
    ("storageClass", "Fast_SSD", "storageClass: 'Fast_SSD' is invalid"),
    ("storageSize", "5GB", "storageSize: '5GB' is invalid; must be a Kubernetes quantity"),
    ("storageSize", "0Gi", "storageSize: '0Gi' is invalid"),
    ("logStorageSize", "lots", "logStorageSize: 'lots' is invalid"),
    ("cpuRequest", "1 core", "cpuRequest: '1 core' is invalid"),
    ("memoryLimit", "4gb", "memoryLimit: '4gb' is invalid"),
    ("taosSettings", '["DEBUG_FLAG=131"]', "taosSettings: key 'DEBUG_FLAG' is invalid; keys must look like TAOS_SOME"),
    ("taosSettings", '["TAOS_FQDN=x"]', "taosSettings: key 'TAOS_FQDN' is managed by the program"),
    ("taosSettings", '["TAOS_DEBUG_FLAG"]', "taosSettings: entry 'TAOS_DEBUG_FLAG' is not of the form key=value"),
    ("taosSettings", "{not json", "taosSettings: '{not json' is not a list of key=value strings"),
    ("podManagementPolicy", "Serial", "podManagementPolicy: 'Serial' is invalid; allowed: Parallel, OrderedReady"),
    ("antiAffinity", "strict", "antiAffinity: 'strict' is invalid; allowed: preferred, required, none"),
    ("podDisruptionBudget", "1", "podDisruptionBudget: '1' is not a boolean"),
    ("labels", '["app=other"]', "labels: key 'app' is a selector label managed by the program"),
    ("labels", '["bad key=x"]', "labels: key 'bad key' is not a valid Kubernetes label key"),
    ("labels", '["team=has space"]', "labels: value 'has space' of 'team' is not a valid label value"),
    ("annotations", '["=x"]', "annotations: key '' is not a valid Kubernetes annotation key"),
    ("clusterDomain", "Cluster Local", "clusterDomain: 'Cluster Local' is invalid"),
    ("rootPassword", "", "rootPassword: <secret> is empty"),
    ("rootPassword", "taosdata", "rootPassword: <secret> is TDengine's well-known default"),
    ("rootPassword", "abcdefgh1", "rootPassword: <secret> is not a strong password"),
    ("rootPassword", "Has space 123", "rootPassword: <secret> is not a strong password"),
    ("kubeconfig", " ", "kubeconfig: <secret> is empty"),
    ("nosuchKey", "1", "nosuchKey: unknown setting"),
]


@pytest.mark.parametrize(("key", "value", "message"), BAD_VALUES, ids=[f"{k}={v[:12]}" for k, v, _ in BAD_VALUES])
def test_each_bad_value_is_named_with_what_is_allowed(key, value, message):
    with pytest.raises(ConfigError) as err:
        ClusterArgs.from_mapping({key: value})
    assert message in str(err.value)
    assert len(err.value.problems) == 1, err.value.problems
    if key == "rootPassword" and value:
        assert value not in str(err.value)


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
    assert set(asked) == {s.key for s in SETTINGS + SECRET_SETTINGS}


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
        assert entry["type"] == s.type and entry["default"] == s.default and entry["description"], s.key
        assert getattr(ClusterArgs(), s.field) == (s.default if s.type != "array" else {}), s.key
    assert setting_fields() == {s.field for s in SETTINGS + SECRET_SETTINGS}
    assert not {s.key for s in SECRET_SETTINGS} & set(declared)


def test_dev_stack_is_the_seed_cluster():
    config = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    args = ClusterArgs.from_mapping({k.removeprefix("tdengine:"): v for k, v in config.items()})
    assert (args.namespace, args.replicas, args.storage_class, args.storage_size, args.timezone) == (
        "tdengine-test",
        3,
        "standard",
        "5Gi",
        "Asia/Shanghai",
    )
    assert not any("rootPassword" in k or "kubeconfig" in k for k in config)


def test_readme_config_table_lists_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = [line.split("|")[1].strip().strip("`") for line in section.splitlines() if line.startswith("| `")]
    keys = [s.key for s in SETTINGS + SECRET_SETTINGS]
    assert [k for k in documented if k in keys] == keys
