"""Every stack config key: its field, schema type, default, description, and the check of its value, next to
it. `SETTINGS` is the single table that Pulumi.yaml, the README's config table, the parser and the validation
are checked against, so a key cannot exist in one and not the others. Pure.

A check (`setting_rules.py`) gets the key, the value and the whole `ClusterArgs` (for the rules that involve
another setting, such as `replicas` below 3 needing `allowFewerThanThreeDnodes`) and returns one message per
problem, naming the key, the bad value and what is allowed. Secret values are never echoed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components.setting_rules import (
    DNS,
    PORT,
    PORT_ALLOWED,
    QUANTITY_ALLOWED,
    RESOURCE_ALLOWED,
    SECONDS,
    Check,
    cluster_name_length,
    differs_from_server_port,
    fewer_than_three,
    fqdn_length,
    image,
    kubeconfig,
    metadata,
    no_check,
    not_above,
    one_of,
    optional_quantity,
    port_ok,
    root_password,
    rule,
    system_namespace,
    taos_settings,
    verify_replica_fits,
    whole,
)
from components.validators import (
    CPU,
    DEFAULT_IMAGE,
    DNS_SUBDOMAIN,
    QUANTITY,
    URL,
    is_dns_label,
    is_int,
    is_quantity,
    is_timezone,
)

if TYPE_CHECKING:
    from components.args import ClusterArgs

QUANTITY_KEYS = frozenset({"storageSize", "logStorageSize", "cpuRequest", "memoryRequest", "cpuLimit", "memoryLimit"})
"""Settings that are Kubernetes quantities: a YAML number in a stack file (`cpuRequest: 4`) means its string."""


@dataclass(frozen=True)
class Setting:
    """One stack config key: its Python field, schema type, default, description and check."""

    key: str
    field: str
    type: str  # string | integer | boolean | array (Pulumi.yaml schema types)
    default: Any
    description: str
    secret: bool = False
    check: Check = no_check

    def problems(self, args: ClusterArgs) -> list[str]:
        return self.check(self.key, getattr(args, self.field), args)


# -- the table -----------------------------------------------------------------------------------------------------
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "namespace", "namespace", "string", "tdengine", "Kubernetes namespace of the cluster.",
        check=rule(is_dns_label, DNS, system_namespace),
    ),
    Setting(
        "createNamespace", "create_namespace", "boolean", True, "Create the namespace (false: use an existing one)."
    ),
    Setting(
        "clusterName", "cluster_name", "string", "tdengine", "StatefulSet name; pods are <clusterName>-<n>.",
        check=rule(is_dns_label, DNS, cluster_name_length),
    ),
    Setting(
        "serviceName", "service_name", "string", "taosd", "Headless governing Service; part of every dnode FQDN.",
        check=rule(is_dns_label, DNS),
    ),
    Setting(
        "clientService", "client_service", "boolean", False, "Also create a ClusterIP Service <serviceName>-client."
    ),
    Setting(
        "replicas", "replicas", "integer", 3, "Number of dnodes (pods). 3 or more for high availability.",
        check=rule(lambda v: is_int(v) and v >= 1, "must be an integer >= 1 (3 or more for high availability)",
                   fewer_than_three),
    ),
    Setting(
        "image", "image", "string", DEFAULT_IMAGE, "TDengine image with a pinned tag (not latest).", check=image
    ),
    Setting(
        "imagePullPolicy", "image_pull_policy", "string", "IfNotPresent", "Always, IfNotPresent or Never.",
        check=one_of("Always", "IfNotPresent", "Never"),
    ),
    Setting(
        "timezone", "timezone", "string", "Asia/Shanghai", "IANA time zone of the dnodes (TZ).",
        check=rule(is_timezone, "must be an IANA time zone such as Asia/Shanghai"),
    ),
    Setting("serverPort", "server_port", "integer", 6030, "taosd port (TAOS_SERVER_PORT).", check=PORT),
    Setting(
        "restPort", "rest_port", "integer", 6041, "taosAdapter REST port.",
        check=rule(port_ok, PORT_ALLOWED, differs_from_server_port),
    ),
    Setting(
        "storageClass", "storage_class", "string", "", "StorageClass of the data volumes ('' = the cluster's default).",
        check=rule(lambda v: v == "" or bool(DNS_SUBDOMAIN.fullmatch(v)),
                   "must be a StorageClass name (DNS-1123 subdomain) or '' for the cluster default"),
    ),
    Setting(
        "storageSize", "storage_size", "string", "5Gi", "Size of each data volume (/var/lib/taos).",
        check=rule(is_quantity, QUANTITY_ALLOWED),
    ),
    Setting(
        "logStorageSize", "log_storage_size", "string", "", "Size of a log volume (/var/log/taos); '' = none.",
        check=optional_quantity(QUANTITY, QUANTITY_ALLOWED + ", or '' for no log volume"),
    ),
    Setting(
        "cpuRequest", "cpu_request", "string", "500m", "CPU request per pod ('' = none).",
        check=optional_quantity(CPU, RESOURCE_ALLOWED, not_above("cpuLimit", "cpu_limit", CPU, "CPU")),
    ),
    Setting(
        "memoryRequest", "memory_request", "string", "1Gi", "Memory request per pod ('' = none).",
        check=optional_quantity(
            QUANTITY, RESOURCE_ALLOWED, not_above("memoryLimit", "memory_limit", QUANTITY, "memory")
        ),
    ),
    Setting(
        "cpuLimit", "cpu_limit", "string", "", "CPU limit per pod ('' = none).",
        check=optional_quantity(CPU, RESOURCE_ALLOWED),
    ),
    Setting(
        "memoryLimit", "memory_limit", "string", "4Gi", "Memory limit per pod ('' = none).",
        check=optional_quantity(QUANTITY, RESOURCE_ALLOWED),
    ),
    Setting(
        "taosSettings", "taos_settings", "array", [], "Extra taos.cfg settings as TAOS_KEY=value (ConfigMap taoscfg).",
        check=taos_settings,
    ),
    Setting(
        "podManagementPolicy", "pod_management_policy", "string", "Parallel", "Parallel or OrderedReady.",
        check=one_of("Parallel", "OrderedReady"),
    ),
    Setting(
        "antiAffinity", "anti_affinity", "string", "preferred", "Spread pods over nodes: preferred, required, none.",
        check=one_of("preferred", "required", "none"),
    ),
    Setting(
        "zoneSpread", "zone_spread", "string", "preferred",
        "Spread pods over topology.kubernetes.io/zone: preferred, required, none.",
        check=one_of("preferred", "required", "none"),
    ),
    Setting("podDisruptionBudget", "pod_disruption_budget", "boolean", True, "Create a PDB with maxUnavailable 1."),
    Setting(
        "terminationGracePeriodSeconds", "termination_grace_period", "integer", 300,
        "Seconds a stopping dnode gets to flush and exit before it is killed.",
        check=whole(1, 86400, "number of seconds"),
    ),
    Setting("labels", "labels", "array", [], "Extra labels for every object, as key=value.", check=metadata),
    Setting(
        "annotations", "annotations", "array", [], "Extra annotations for every object, as key=value.", check=metadata
    ),
    Setting(
        "clusterDomain", "cluster_domain", "string", "cluster.local", "Kubernetes cluster DNS domain.",
        check=rule(lambda v: bool(DNS_SUBDOMAIN.fullmatch(v)), "must be a DNS domain such as cluster.local",
                   fqdn_length),
    ),
    Setting("kubeContext", "kube_context", "string", "", "kubeconfig context to deploy to ('' = current)."),
    Setting(
        "adminUrl", "admin_url", "string", "", "taosAdapter URL for membership SQL ('' = port-forward to a pod).",
        check=rule(lambda v: v == "" or bool(URL.fullmatch(v)),
                   "must be http(s)://host[:port] of taosAdapter, or '' to port-forward to a pod"),
    ),
    Setting("forceDropOffline", "force_drop_offline", "boolean", False, "Drain an offline departing dnode with force."),
    Setting(
        "allowFewerThanThreeDnodes", "allow_fewer_than_three", "boolean", False, "Acknowledge < 3 dnodes (< 3 mnodes)."
    ),
    Setting(
        "allowFullRestart", "allow_full_restart", "boolean", False,
        "Acknowledge an image change TDengine cannot roll: all dnodes restart at once.",
    ),
    Setting(
        "drainTimeoutSeconds", "drain_timeout", "integer", 3600, "Deadline for draining one dnode.", check=SECONDS
    ),
    Setting(
        "stallTimeoutSeconds", "stall_timeout", "integer", 600, "A drain with no vnode moved for this long fails.",
        check=SECONDS,
    ),
    Setting(
        "readyTimeoutSeconds", "ready_timeout", "integer", 900, "Deadline for every pod's dnode to be ready.",
        check=SECONDS,
    ),
    Setting(
        "vnodeCopyMBps", "vnode_copy_mbps", "integer", 100,
        "MB/s a vnode copies at between dnodes (your network): a scale-in moves a vnode whose copy outlasts a "
        "move's 20 s fixed cost once, by redistribute vgroup.",
        check=whole(1, 100_000),
    ),
    Setting("deleteDataOnDestroy", "delete_data_on_destroy", "boolean", False, "pulumi destroy also deletes the PVCs."),
    Setting(
        "verify", "verify", "boolean", False, "pulumi up ends with the seed's cluster checks (taosBenchmark, vgroups)."
    ),
    Setting(
        "verifyTables", "verify_tables", "integer", 10, "Child tables the check writes (taosBenchmark -t).",
        check=whole(1, 1_000_000),
    ),
    Setting(
        "verifyRows", "verify_rows", "integer", 100, "Rows per table the check writes (taosBenchmark -n).",
        check=whole(1, 10**9),
    ),
    Setting(
        "verifyReplica", "verify_replica", "integer", 3, "Replica of the check's database: 1 or 3 (-a).",
        check=rule(lambda v: v in (1, 3), "allowed: 1, 3", verify_replica_fits),
    ),
)  # fmt: skip
"""Every config key the program reads, in the order the README documents them."""

SECRET_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "rootPassword", "root_password", "string", None, "root password; unset = generated.", secret=True,
        check=root_password,
    ),
    Setting(
        "kubeconfig", "kubeconfig", "string", None, "kubeconfig path or content; unset = ambient.", secret=True,
        check=kubeconfig,
    ),
)  # fmt: skip
"""Optional secrets. Not in Pulumi.yaml's schema: a schema key without a default is mandatory and a
`secret: true` key must be encrypted in every stack, so an optional secret cannot be declared there."""

_BY_KEY = {s.key: s for s in SETTINGS + SECRET_SETTINGS}


def setting(key: str) -> Setting:
    return _BY_KEY[key]


def unknown_key_problem(key: str) -> str:
    """The problem with a config key this program does not read (most often a typo, which would otherwise be
    ignored and leave its setting at the default): the closest known key, and the fix."""
    known = [s.key for s in SETTINGS + SECRET_SETTINGS]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6) or difflib.get_close_matches(
        key.lower(), [k.lower() for k in known], n=1, cutoff=0.6
    )
    if close:
        closest = next(k for k in known if k.lower() == close[0].lower())
        return f"{key}: unknown setting; did you mean {closest}? Fix: `pulumi config rm {key}`, then set {closest}"
    return (
        f"{key}: unknown setting (the settings are Pulumi.yaml's config, plus the secrets rootPassword and "
        f"kubeconfig). Fix: `pulumi config rm {key}`"
    )
