"""Every setting with invalid values, and the "Bad input" table of docs/testing.md generated from what they produce.

`CASES` is the one list: `tests/program/test_bad_input.py` runs each case through `ClusterArgs.from_mapping`
(as stack config gives values) and checks the message, requires a case for every setting, and compares
docs/testing.md's table with `table()`, which is built from the messages the cases actually produce.
Regenerate it after changing a message or adding a setting:

    venv/bin/python -m tests.program.bad_input
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from components.args import ALL_SETTINGS, ClusterArgs, ConfigError


@dataclass(frozen=True)
class Case:
    key: str
    value: Any
    """As stack config gives it: a string (`pulumi config` values), or another YAML value of a stack file."""
    expect: str
    """Text the error must contain."""
    shown: str = ""
    """How the table shows the value, when the value itself would not read well."""
    others: tuple[tuple[str, Any], ...] = ()
    """Other settings the case needs (a request above a limit needs the limit)."""

    @property
    def id(self) -> str:
        return f"{self.key}={str(self.value)[:12]}"


CASES: list[Case] = [
    Case("namespace", "TDengine_Test", "namespace: 'TDengine_Test' is invalid; must be a DNS-1123 label"),
    Case("namespace", "a" * 64, "at most 63 characters", shown="64 times `a`"),
    Case("namespace", "kube-system", "namespace: 'kube-system' is invalid with createNamespace true"),
    Case("createNamespace", "yes", "createNamespace: 'yes' is not a boolean"),
    Case("clusterName", "-tdengine", "clusterName: '-tdengine' is invalid"),
    Case("clusterName", "t" * 53, "at most 52 characters: the StatefulSet controller", shown="53 times `t`"),
    Case("serviceName", "taos.d", "serviceName: 'taos.d' is invalid"),
    Case("clientService", "maybe", "clientService: 'maybe' is not a boolean (true or false)"),
    Case("replicas", "0", "replicas: 0 is invalid; must be an integer >= 1"),
    Case("replicas", "-2", "replicas: -2 is invalid"),
    Case("replicas", "three", "replicas: 'three' is not an integer"),
    Case("replicas", "2.5", "replicas: '2.5' is not an integer"),
    Case("replicas", "2", "replicas: 2 is invalid without allowFewerThanThreeDnodes"),
    Case("image", "tdengine/tdengine", "image: 'tdengine/tdengine' is invalid; must be <repository>:<tag>"),
    Case("image", "tdengine/tdengine:latest", "not 'latest'"),
    Case("image", "Tdengine/TDengine:3.3.6.13", "image: 'Tdengine/TDengine:3.3.6.13' is invalid"),
    Case("image", "tdengine/tdengine:2.6.0.34", "its tag names TDengine 2.x, and this program manages TDengine 3.x"),
    Case("imagePullPolicy", "Sometimes", "imagePullPolicy: 'Sometimes' is invalid; allowed: Always, IfNotPresent"),
    Case("timezone", "Mars/Olympus", "timezone: 'Mars/Olympus' is invalid; must be an IANA time zone"),
    Case("serverPort", "0", "serverPort: 0 is invalid; must be a port number from 1 to 65535"),
    Case("restPort", "65536", "restPort: 65536 is invalid"),
    Case("restPort", "6030", "restPort: 6030 is invalid; it must differ from serverPort"),
    Case("storageClass", "Fast_SSD", "storageClass: 'Fast_SSD' is invalid"),
    Case("storageSize", "5GB", "storageSize: '5GB' is invalid; must be a Kubernetes quantity"),
    Case("storageSize", "0Gi", "storageSize: '0Gi' is invalid"),
    Case("logStorageSize", "lots", "logStorageSize: 'lots' is invalid"),
    Case("cpuRequest", "1 core", "cpuRequest: '1 core' is invalid"),
    Case("memoryRequest", "1GB", "memoryRequest: '1GB' is invalid; must be a Kubernetes quantity"),
    Case("memoryRequest", "8Gi", "memoryRequest: '8Gi' is invalid; it is above memoryLimit '4Gi'"),
    Case(
        "cpuRequest",
        "2",
        "cpuRequest: '2' is invalid; it is above cpuLimit '1500m'",
        shown="`2` with cpuLimit `1500m`",
        others=(("cpuLimit", "1500m"),),
    ),
    Case("cpuLimit", "2cores", "cpuLimit: '2cores' is invalid"),
    Case("memoryLimit", "4gb", "memoryLimit: '4gb' is invalid"),
    Case("taosSettings", '["DEBUG_FLAG=131"]', "taosSettings: key 'DEBUG_FLAG' is invalid; keys must look like TAOS_"),
    Case("taosSettings", '["TAOS_FQDN=x"]', "taosSettings: key 'TAOS_FQDN' is managed by the program"),
    Case("taosSettings", '["TAOS_DEBUG_FLAG"]', "taosSettings: entry 'TAOS_DEBUG_FLAG' is not of the form key=value"),
    Case("taosSettings", "{not json", "taosSettings: '{not json' is not a list of key=value strings"),
    Case("podManagementPolicy", "Serial", "podManagementPolicy: 'Serial' is invalid; allowed: Parallel, OrderedReady"),
    Case("antiAffinity", "strict", "antiAffinity: 'strict' is invalid; allowed: preferred, required, none"),
    Case("zoneSpread", "zones", "zoneSpread: 'zones' is invalid; allowed: preferred, required, none"),
    Case("terminationGracePeriodSeconds", "0", "terminationGracePeriodSeconds: 0 is invalid; must be a whole number"),
    Case("podDisruptionBudget", "1", "podDisruptionBudget: '1' is not a boolean"),
    Case("labels", '["app=other"]', "labels: key 'app' is a selector label managed by the program"),
    Case("labels", '["bad key=x"]', "labels: key 'bad key' is not a valid Kubernetes label key"),
    Case("labels", '["team=has space"]', "labels: value 'has space' of 'team' is not a valid label value"),
    Case("annotations", '["=x"]', "annotations: key '' is not a valid Kubernetes annotation key"),
    Case("clusterDomain", "Cluster Local", "clusterDomain: 'Cluster Local' is invalid"),
    Case(
        "clusterDomain",
        "east." * 20 + "example.com",
        "has 141 characters; TDengine allows at most 127 (TD_FQDN_LEN)",
        shown="`east.` 20 times, then `example.com`",
    ),
    Case("kubeContext", 5, "kubeContext: 5 is not a string", shown="`5` (a YAML number in the stack file)"),
    Case("adminUrl", "tdengine-0.taosd:6041", "adminUrl: 'tdengine-0.taosd:6041' is invalid; must be http(s)://"),
    Case("forceDropOffline", "force", "forceDropOffline: 'force' is not a boolean"),
    Case("allowFewerThanThreeDnodes", "yes", "allowFewerThanThreeDnodes: 'yes' is not a boolean"),
    Case("allowFullRestart", "1", "allowFullRestart: '1' is not a boolean"),
    Case("drainTimeoutSeconds", "0", "drainTimeoutSeconds: 0 is invalid; must be a whole number of seconds >= 1"),
    Case("stallTimeoutSeconds", "10m", "stallTimeoutSeconds: '10m' is not an integer"),
    Case("readyTimeoutSeconds", "-1", "readyTimeoutSeconds: -1 is invalid"),
    Case("vnodeCopyMBps", "0", "vnodeCopyMBps: 0 is invalid; must be a whole number from 1 to 100000"),
    Case("deleteDataOnDestroy", "no", "deleteDataOnDestroy: 'no' is not a boolean"),
    Case("verify", "sometimes", "verify: 'sometimes' is not a boolean"),
    Case("verifyTables", "0", "verifyTables: 0 is invalid; must be a whole number from 1 to 1000000"),
    Case("verifyRows", "many", "verifyRows: 'many' is not an integer"),
    Case("verifyRows", "1000000001", "verifyRows: 1000000001 is invalid; must be a whole number from 1 to 1000000000"),
    Case("verifyReplica", "2", "verifyReplica: 2 is invalid; allowed: 1, 3"),
    Case("rootPassword", "", "rootPassword: <secret> is empty"),
    Case("rootPassword", "taosdata", "rootPassword: <secret> is TDengine's well-known default"),
    Case("rootPassword", "abcdefgh1", "rootPassword: <secret> is not a strong password"),
    Case("rootPassword", "Has space 123", "rootPassword: <secret> is not a strong password"),
    Case("kubeconfig", " ", "kubeconfig: <secret> is empty"),
    Case("nosuchKey", "1", "nosuchKey: unknown setting (the settings are Pulumi.yaml's config"),
    Case("storgeSize", "10Gi", "storgeSize: unknown setting; did you mean storageSize?"),
]


def problems(case: Case) -> list[str]:
    """What the user gets for this one value (every problem line of the ConfigError)."""
    try:
        ClusterArgs.from_mapping({**dict(case.others), case.key: case.value})
    except ConfigError as err:
        return err.problems
    return []


def _code(text: str) -> str:
    """A Markdown code span in a table cell: `<secret>` stays visible, `|` does not end the cell."""
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def _value(case: Case) -> str:
    if case.shown:
        return case.shown.replace("|", "\\|")
    if case.value == "":
        return "(empty)"
    if isinstance(case.value, str) and not case.value.strip():
        return "(only spaces)"
    return _code(case.value if isinstance(case.value, str) else json.dumps(case.value))


def table(cases: list[Case] = CASES) -> str:
    """The docs/testing.md table: one row per case, in the order the settings are documented, each with the
    message the case produced."""
    order = {s.key: i for i, s in enumerate(ALL_SETTINGS)}
    rows = ["| key | invalid value | the error you get |", "|---|---|---|"]
    for case in sorted(cases, key=lambda c: order.get(c.key, len(order))):
        rows.append(f"| {case.key} | {_value(case)} | {_code(' / '.join(problems(case)))} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(table(), end="")
