"""ClusterArgs: every setting of a TDengine cluster, declared once, in the order the README documents them.

Each field is the whole setting (`settings.declare`): its stack config key, default, description, what changing
it does to a live cluster, and the check of its value. `SETTINGS` reads them back: `Pulumi.yaml`'s schema, the
README's configuration table, docs/changes.md and the providers' inputs contract (`membership/props.py`) are
generated from it or checked against it. Pure: no Pulumi resources and no I/O. Parsing collects every problem
into one `ConfigError` naming each key, the bad value and what is allowed; secret values are never echoed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from components.setting_rules import (
    DNS,
    PORT,
    PORT_ALLOWED,
    QUANTITY_ALLOWED,
    RESOURCE_ALLOWED,
    SECONDS,
    cluster_name_length,
    differs_from_server_port,
    fewer_than_three,
    fqdn_length,
    kubeconfig_not_empty,
    metadata,
    not_above,
    one_of,
    optional_quantity,
    port_ok,
    rule,
    strong_root_password,
    system_namespace,
    taos_keys,
    valid_image,
    verify_replica_fits,
    whole,
)
from components.settings import Change, Kind, Setting, declare, settings_of, unknown_key_problem
from components.tdengine.naming import Naming
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


class ConfigError(ValueError):
    """One error for all invalid settings, one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid TDengine cluster configuration:\n" + "\n".join(f"  - {p}" for p in problems))


# What a change does, in the words several settings share (docs/changes.md).
_ENDPOINT = (
    "refused: it is part of every dnode's endpoint, and TDengine keeps its dnodes, mnodes and vgroups by endpoint"
)
_ROLL_TEXT = "rolling restart: one pod at a time, behind the health gates"
ROLL = Change(Kind.ROLLING_RESTART, _ROLL_TEXT)
RERUN = Change(Kind.NONE, "in place: the checks run again")


def _endpoint(why: str = "") -> Change:
    return Change(Kind.REFUSED, f"{_ENDPOINT} ({why})" if why else _ENDPOINT)


def _roll(why: str) -> Change:
    return Change(Kind.ROLLING_RESTART, f"{_ROLL_TEXT}{why}")


def _program(what: str) -> Change:
    return Change(Kind.NONE, f"no change to the cluster: how `pulumi up` works ({what})")


def _in_place(what: str) -> Change:
    return Change(Kind.NONE, f"in place: {what}")


@dataclass(frozen=True)
class ClusterArgs:
    """Validated settings of one TDengine cluster. Construct directly, or with `from_mapping`/`from_config`."""

    # -- the cluster's names ---------------------------------------------------------------------------------------
    namespace: str = declare(
        "namespace",
        "tdengine",
        "Kubernetes namespace of the cluster.",
        _endpoint("another namespace is another cluster"),
        rule(is_dns_label, DNS, system_namespace),
    )
    create_namespace: bool = declare(
        "createNamespace",
        True,
        "Create the namespace (false: use an existing one).",
        Change(
            Kind.NONE,
            "in place: `false` releases the Namespace from the stack, kept; refused while "
            "`deleteDataOnDestroy` was true (Pulumi would delete it, and with it every PVC)",
        ),
    )
    cluster_name: str = declare(
        "clusterName",
        "tdengine",
        "StatefulSet name; pods are <clusterName>-<n>.",
        _endpoint("the StatefulSet, its pods and PVCs are named after it"),
        rule(is_dns_label, DNS, cluster_name_length),
    )
    service_name: str = declare(
        "serviceName",
        "taosd",
        "Headless governing Service; part of every dnode FQDN.",
        _endpoint(),
        rule(is_dns_label, DNS),
    )
    client_service: bool = declare(
        "clientService",
        False,
        "Also create a ClusterIP Service <serviceName>-client.",
        _in_place("the ClusterIP Service is created or deleted"),
    )
    # -- the dnodes --------------------------------------------------------------------------------------------------
    replicas: int = declare(
        "replicas",
        3,
        "Number of dnodes (pods). 3 or more for high availability.",
        Change(
            Kind.SCALE,
            "scale-out (pods join, mnodes up to 3) or scale-in (each departing dnode drained first, "
            "highest ordinal first); see Scaling",
        ),
        rule(
            lambda v: is_int(v) and v >= 1,
            "must be an integer >= 1 (3 or more for high availability)",
            fewer_than_three,
        ),
    )
    image: str = declare(
        "image",
        DEFAULT_IMAGE,
        "TDengine image with a pinned tag (not latest).",
        _roll(
            ", for the same version or another maintenance release (`3.3.6.13` -> `3.3.6.14`, either way); "
            "another feature or major release is refused with TDengine's rule, or restarts every pod at once "
            "with `allowFullRestart`; another Major+ release is refused"
        ),
        valid_image,
    )
    image_pull_policy: str = declare(
        "imagePullPolicy",
        "IfNotPresent",
        "Always, IfNotPresent or Never.",
        ROLL,
        one_of("Always", "IfNotPresent", "Never"),
    )
    timezone: str = declare(
        "timezone",
        "Asia/Shanghai",
        "IANA time zone of the dnodes (TZ).",
        _roll(
            ", when the UTC offset stays the same all year; another offset is refused (TDengine would refuse "
            "the restarted dnode: 'timezone not match')"
        ),
        rule(is_timezone, "must be an IANA time zone such as Asia/Shanghai"),
    )
    server_port: int = declare("serverPort", 6030, "taosd port (TAOS_SERVER_PORT).", _endpoint(), PORT)
    rest_port: int = declare(
        "restPort",
        6041,
        "taosAdapter REST port.",
        Change(
            Kind.REFUSED,
            "refused: every step of `pulumi up` reaches taosAdapter there while the pods keep the old port",
        ),
        rule(port_ok, PORT_ALLOWED, differs_from_server_port),
    )
    # -- volumes and resources ---------------------------------------------------------------------------------------
    storage_class: str = declare(
        "storageClass",
        "",
        "StorageClass of the data volumes ('' = the cluster's default).",
        Change(Kind.REFUSED, "refused: the data would have to move to new volumes of the other class"),
        rule(
            lambda v: v == "" or bool(DNS_SUBDOMAIN.fullmatch(v)),
            "must be a StorageClass name (DNS-1123 subdomain) or '' for the cluster default",
        ),
    )
    storage_size: str = declare(
        "storageSize",
        "5Gi",
        "Size of each data volume (/var/lib/taos).",
        Change(
            Kind.VOLUME_EXPANSION,
            "volume expansion, no restart: every PVC expanded in place, then the "
            "StatefulSet object recreated with orphan deletion; refused when the StorageClass cannot expand, "
            "and a smaller size always",
        ),
        rule(is_quantity, QUANTITY_ALLOWED),
    )
    log_storage_size: str = declare(
        "logStorageSize",
        "",
        "Size of a log volume (/var/log/taos); '' = none.",
        Change(
            Kind.VOLUME_EXPANSION,
            "volume expansion, as `storageSize`; adding or removing the log volume (`''` <-> a size) is refused",
        ),
        optional_quantity(QUANTITY, QUANTITY_ALLOWED + ", or '' for no log volume"),
    )
    cpu_request: str = declare(
        "cpuRequest",
        "500m",
        "CPU request per pod ('' = none).",
        ROLL,
        optional_quantity(CPU, RESOURCE_ALLOWED, not_above("cpuLimit", "cpu_limit", CPU, "CPU")),
    )
    memory_request: str = declare(
        "memoryRequest",
        "1Gi",
        "Memory request per pod ('' = none).",
        ROLL,
        optional_quantity(QUANTITY, RESOURCE_ALLOWED, not_above("memoryLimit", "memory_limit", QUANTITY, "memory")),
    )
    cpu_limit: str = declare(
        "cpuLimit", "", "CPU limit per pod ('' = none).", ROLL, optional_quantity(CPU, RESOURCE_ALLOWED)
    )
    memory_limit: str = declare(
        "memoryLimit", "4Gi", "Memory limit per pod ('' = none).", ROLL, optional_quantity(QUANTITY, RESOURCE_ALLOWED)
    )
    # -- the pods ----------------------------------------------------------------------------------------------------
    taos_settings: Mapping[str, str] = declare(
        "taosSettings",
        [],
        "Extra taos.cfg settings as TAOS_KEY=value (ConfigMap taoscfg).",
        _roll(
            "; a key every dnode must share is refused (`TAOS_TIMEZONE`, `TAOS_LOCALE`, `TAOS_CHARSET`, "
            "`TAOS_TTL_CHANGE_ON_WRITE`, `TAOS_ENABLE_WHITE_LIST`, `TAOS_STATUS_INTERVAL`, `TAOS_MONITOR`, "
            "`TAOS_MONITOR_INTERVAL`, `TAOS_SLOW_LOG_*`)"
        ),
        taos_keys,
    )
    pod_management_policy: str = declare(
        "podManagementPolicy",
        "Parallel",
        "Parallel or OrderedReady.",
        Change(
            Kind.RECREATE,
            "in place, no restart: the StatefulSet object recreated with orphan deletion (an immutable field)",
        ),
        one_of("Parallel", "OrderedReady"),
    )
    anti_affinity: str = declare(
        "antiAffinity",
        "preferred",
        "Spread pods over nodes: preferred, required, none.",
        _roll(" (each pod rescheduled under the new rule; one that cannot be scheduled stops the roll)"),
        one_of("preferred", "required", "none"),
    )
    zone_spread: str = declare(
        "zoneSpread",
        "preferred",
        "Spread pods over topology.kubernetes.io/zone: preferred, required, none.",
        _roll(" (as antiAffinity)"),
        one_of("preferred", "required", "none"),
    )
    pod_disruption_budget: bool = declare(
        "podDisruptionBudget",
        True,
        "Create a PDB with maxUnavailable 1.",
        _in_place("the PodDisruptionBudget is created or deleted"),
    )
    termination_grace_period: int = declare(
        "terminationGracePeriodSeconds",
        300,
        "Seconds a stopping dnode gets to flush and exit before it is killed.",
        ROLL,
        whole(1, 86400, "number of seconds"),
    )
    labels: Mapping[str, str] = declare(
        "labels",
        [],
        "Extra labels for every object, as key=value.",
        _roll(" (the pod template carries them)"),
        metadata,
    )
    annotations: Mapping[str, str] = declare(
        "annotations",
        [],
        "Extra annotations for every object, as key=value.",
        _roll(" (the pod template carries them)"),
        metadata,
    )
    cluster_domain: str = declare(
        "clusterDomain",
        "cluster.local",
        "Kubernetes cluster DNS domain.",
        _endpoint(),
        rule(lambda v: bool(DNS_SUBDOMAIN.fullmatch(v)), "must be a DNS domain such as cluster.local", fqdn_length),
    )
    # -- how `pulumi up` reaches the cluster, and what it accepts ----------------------------------------------------
    kube_context: str = declare(
        "kubeContext",
        "",
        "kubeconfig context to deploy to ('' = current).",
        Change(Kind.NONE, "no change to the cluster: which kubeconfig context `pulumi up` reaches it with"),
    )
    admin_url: str = declare(
        "adminUrl",
        "",
        "taosAdapter URL for membership SQL ('' = port-forward to a pod).",
        _program("where it sends SQL"),
        rule(
            lambda v: v == "" or bool(URL.fullmatch(v)),
            "must be http(s)://host[:port] of taosAdapter, or '' to port-forward to a pod",
        ),
    )
    force_drop_offline: bool = declare(
        "forceDropOffline", False, "Drain an offline departing dnode with force.", _program("the next scale-in")
    )
    allow_fewer_than_three: bool = declare(
        "allowFewerThanThreeDnodes", False, "Acknowledge < 3 dnodes (< 3 mnodes).", _program("what it accepts")
    )
    allow_full_restart: bool = declare(
        "allowFullRestart",
        False,
        "Acknowledge an image change TDengine cannot roll: all dnodes restart at once.",
        _program("what an image change may do"),
    )
    drain_timeout: int = declare(
        "drainTimeoutSeconds", 3600, "Deadline for draining one dnode.", _program("its deadlines"), SECONDS
    )
    stall_timeout: int = declare(
        "stallTimeoutSeconds",
        600,
        "A drain with no vnode moved for this long fails.",
        _program("its deadlines"),
        SECONDS,
    )
    ready_timeout: int = declare(
        "readyTimeoutSeconds", 900, "Deadline for every pod's dnode to be ready.", _program("its deadlines"), SECONDS
    )
    vnode_copy_mbps: int = declare(
        "vnodeCopyMBps",
        100,
        "MB/s a vnode copies at between dnodes (your network): a scale-in moves a vnode whose copy outlasts a "
        "move's 20 s fixed cost once, by redistribute vgroup.",
        _program("the next scale-in's plan"),
        whole(1, 100_000),
    )
    delete_data_on_destroy: bool = declare(
        "deleteDataOnDestroy", False, "pulumi destroy also deletes the PVCs.", _program("what a destroy keeps")
    )
    # -- the seed's checks as the last step of `pulumi up` -----------------------------------------------------------
    verify: bool = declare(
        "verify",
        False,
        "pulumi up ends with the seed's cluster checks (taosBenchmark, vgroups).",
        _in_place("`true` runs the checks (a test database), `false` drops it"),
    )
    verify_tables: int = declare(
        "verifyTables", 10, "Child tables the check writes (taosBenchmark -t).", RERUN, whole(1, 1_000_000)
    )
    verify_rows: int = declare(
        "verifyRows", 100, "Rows per table the check writes (taosBenchmark -n).", RERUN, whole(1, 10**9)
    )
    verify_replica: int = declare(
        "verifyReplica",
        3,
        "Replica of the check's database: 1 or 3 (-a).",
        RERUN,
        rule(lambda v: v in (1, 3), "allowed: 1, 3", verify_replica_fits),
    )
    # -- optional secrets: plain text only inside the program ------------------------------------------------------
    root_password: str | None = declare(
        "rootPassword",
        None,
        "root password; unset = generated.",
        _in_place("TDengine's root password is changed, no restart (see Root password)"),
        strong_root_password,
        secret=True,
    )
    kubeconfig: str | None = declare(
        "kubeconfig", None, "kubeconfig path or content; unset = ambient.",
        Change(Kind.NONE, "no change to the cluster: the kubeconfig `pulumi up` reaches it with"),
        kubeconfig_not_empty, secret=True,
    )  # fmt: skip

    def __post_init__(self) -> None:
        problems = validate(self)
        if problems:
            raise ConfigError(problems)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ClusterArgs:
        """Build from camelCase keys (stack config, a dict); strings are parsed as stack config does."""
        problems = [unknown_key_problem(k, _BY_KEY) for k in sorted(set(values) - set(_BY_KEY))]
        kwargs: dict[str, Any] = {}
        for key, raw in values.items():
            setting = _BY_KEY.get(key)
            if setting is None or raw is None:
                continue
            try:
                kwargs[setting.field] = setting.parse(raw)
            except ValueError as err:
                problems.append(str(err))
        if problems:
            try:  # report type errors together with the value errors of the rest
                cls(**kwargs)
            except ConfigError as err:
                problems += err.problems
            raise ConfigError(problems)
        return cls(**kwargs)

    @classmethod
    def of(cls, values: ClusterArgs | Mapping[str, Any]) -> ClusterArgs:
        """`values` as they are when already ClusterArgs, else parsed as camelCase keys (`from_mapping`)."""
        return values if isinstance(values, ClusterArgs) else cls.from_mapping(values)

    @classmethod
    def from_config(cls, get: Callable[[str], str | None], keys: Iterable[str] = ()) -> ClusterArgs:
        """Build from a stack config getter such as `pulumi.Config().get` (values arrive as strings); `keys`, every
        key the stack sets in this project's namespace, so that one the program does not read is refused."""
        values: dict[str, Any] = {k: "" for k in keys if k not in _BY_KEY}
        values |= {s.key: v for s in ALL_SETTINGS if (v := get(s.key)) is not None}
        return cls.from_mapping(values)

    @property
    def naming(self) -> Naming:
        """How this cluster's pods and dnodes are named."""
        return Naming(self.cluster_name, self.service_name, self.namespace, self.cluster_domain, self.server_port)

    @property
    def members(self) -> list[str]:
        """The member pods: `<clusterName>-0` .. `<clusterName>-<replicas-1>`."""
        return self.naming.pods(self.replicas)

    @property
    def labels_selector(self) -> dict[str, str]:
        return {
            "app": "tdengine",
            "app.kubernetes.io/name": "tdengine",
            "app.kubernetes.io/instance": self.cluster_name,
        }


ALL_SETTINGS: tuple[Setting, ...] = settings_of(ClusterArgs)
"""Every setting, in the order the README documents them."""
SETTINGS: tuple[Setting, ...] = tuple(s for s in ALL_SETTINGS if not s.secret)
"""The settings of `Pulumi.yaml`'s schema."""
SECRET_SETTINGS: tuple[Setting, ...] = tuple(s for s in ALL_SETTINGS if s.secret)
"""Optional secrets. Not in Pulumi.yaml's schema: a schema key without a default is mandatory and a
`secret: true` key must be encrypted in every stack, so an optional secret cannot be declared there."""
_BY_KEY = {s.key: s for s in ALL_SETTINGS}


def default(key: str) -> Any:
    """The default of the setting `key`: the one copy, for those who read settings without a ClusterArgs (the
    providers' inputs contract, a state written before the setting existed)."""
    return _BY_KEY[key].default


def validate(args: ClusterArgs) -> list[str]:
    """Every problem with the settings, one message each (empty when valid): each setting's own check."""
    return [problem for s in ALL_SETTINGS for problem in s.problems(args)]
