"""ClusterArgs: every setting of a TDengine cluster, typed, defaulted and validated in one place.

Pure: no Pulumi resources and no I/O. `SETTINGS` is the single table that Pulumi.yaml, the README's
config table and the parser are checked against, so a key cannot exist in one and not the others.
Validation collects every problem and raises one `ConfigError` naming each key, the bad value and
what is allowed; secret values are never echoed.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from components.tdengine.naming import Naming

DEFAULT_IMAGE = "tdengine/tdengine:3.3.6.13"
"""3.3.6.6 and newer images apply TAOS_ROOT_PASSWORD on first start; older ones ignore it."""

PASSWORD_SPECIALS = "!@#$%^&*()-_+=[]{}:;><?|~,."
"""The special characters TDengine's strong-password check accepts (tdengine-admin.md §7)."""

MANAGED_TAOS_KEYS = frozenset(
    {"TAOS_FQDN", "TAOS_FIRST_EP", "TAOS_SERVER_PORT", "TAOS_ROOT_PASSWORD", "TAOS_ADAPTER_PORT"}
)
"""TAOS_* variables the StatefulSet derives itself; a taosSettings entry may not override them."""

SELECTOR_LABELS = frozenset({"app", "app.kubernetes.io/name", "app.kubernetes.io/instance"})

QUANTITY_KEYS = frozenset({"storageSize", "logStorageSize", "cpuRequest", "memoryRequest", "cpuLimit", "memoryLimit"})
"""Settings that are Kubernetes quantities: a YAML number in a stack file (`cpuRequest: 4`) means its string."""

MAX_CLUSTER_NAME = 52
"""The StatefulSet controller labels each pod `controller-revision-hash: <name>-<hash of up to 10 characters>`,
and a label value has at most 63 characters."""
MAX_FQDN = 127
"""`TD_FQDN_LEN` is 128 bytes in TDengine 3.3.7.5 (`include/os/osDef.h`), the terminating NUL included."""
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
"""Namespaces Kubernetes makes itself: never adopted (createNamespace) and so never deleted by a destroy."""
SUPPORTED_MAJOR = 3

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUANTITY = re.compile(r"(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
_MULTIPLIERS = {
    "": 1.0,
    "m": 1e-3,
    **{s: 1024.0**i for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"), 1)},
    **{s: 1000.0**i for i, s in enumerate(("k", "M", "G", "T", "P", "E"), 1)},
}
_VERSION_TAG = re.compile(r"v?(\d+)\.(\d+)")
_CPU = re.compile(r"(\d+(\.\d+)?)m?")
_IMAGE = re.compile(
    r"(?P<repo>[a-z0-9]+([._/-][a-z0-9]+)*(:\d+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*)(:(?P<tag>[\w][\w.-]{0,127}))?(@(?P<digest>sha256:[a-f0-9]{64}))?"
)
_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?/?")
_TAOS_KEY = re.compile(r"TAOS_[A-Z0-9]+(_[A-Z0-9]+)*")
_LABEL_NAME = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
)
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


class ConfigError(ValueError):
    """One error for all invalid settings, one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid TDengine cluster configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Setting:
    """One stack config key: its Python field, schema type, default and description."""

    key: str
    field: str
    type: str  # string | integer | boolean | array (Pulumi.yaml schema types)
    default: Any
    description: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("namespace", "namespace", "string", "tdengine", "Kubernetes namespace of the cluster."),
    Setting(
        "createNamespace", "create_namespace", "boolean", True, "Create the namespace (false: use an existing one)."
    ),
    Setting("clusterName", "cluster_name", "string", "tdengine", "StatefulSet name; pods are <clusterName>-<n>."),
    Setting("serviceName", "service_name", "string", "taosd", "Headless governing Service; part of every dnode FQDN."),
    Setting(
        "clientService", "client_service", "boolean", False, "Also create a ClusterIP Service <serviceName>-client."
    ),
    Setting("replicas", "replicas", "integer", 3, "Number of dnodes (pods). 3 or more for high availability."),
    Setting("image", "image", "string", DEFAULT_IMAGE, "TDengine image with a pinned tag (not latest)."),
    Setting("imagePullPolicy", "image_pull_policy", "string", "IfNotPresent", "Always, IfNotPresent or Never."),
    Setting("timezone", "timezone", "string", "Asia/Shanghai", "IANA time zone of the dnodes (TZ)."),
    Setting("serverPort", "server_port", "integer", 6030, "taosd port (TAOS_SERVER_PORT)."),
    Setting("restPort", "rest_port", "integer", 6041, "taosAdapter REST port."),
    Setting(
        "storageClass", "storage_class", "string", "", "StorageClass of the data volumes ('' = the cluster's default)."
    ),
    Setting("storageSize", "storage_size", "string", "5Gi", "Size of each data volume (/var/lib/taos)."),
    Setting("logStorageSize", "log_storage_size", "string", "", "Size of a log volume (/var/log/taos); '' = none."),
    Setting("cpuRequest", "cpu_request", "string", "500m", "CPU request per pod ('' = none)."),
    Setting("memoryRequest", "memory_request", "string", "1Gi", "Memory request per pod ('' = none)."),
    Setting("cpuLimit", "cpu_limit", "string", "", "CPU limit per pod ('' = none)."),
    Setting("memoryLimit", "memory_limit", "string", "4Gi", "Memory limit per pod ('' = none)."),
    Setting(
        "taosSettings", "taos_settings", "array", [], "Extra taos.cfg settings as TAOS_KEY=value (ConfigMap taoscfg)."
    ),
    Setting("podManagementPolicy", "pod_management_policy", "string", "Parallel", "Parallel or OrderedReady."),
    Setting(
        "antiAffinity", "anti_affinity", "string", "preferred", "Spread pods over nodes: preferred, required, none."
    ),
    Setting(
        "zoneSpread",
        "zone_spread",
        "string",
        "preferred",
        "Spread pods over topology.kubernetes.io/zone: preferred, required, none.",
    ),
    Setting("podDisruptionBudget", "pod_disruption_budget", "boolean", True, "Create a PDB with maxUnavailable 1."),
    Setting(
        "terminationGracePeriodSeconds",
        "termination_grace_period",
        "integer",
        300,
        "Seconds a stopping dnode gets to flush and exit before it is killed.",
    ),
    Setting("labels", "labels", "array", [], "Extra labels for every object, as key=value."),
    Setting("annotations", "annotations", "array", [], "Extra annotations for every object, as key=value."),
    Setting("clusterDomain", "cluster_domain", "string", "cluster.local", "Kubernetes cluster DNS domain."),
    Setting("kubeContext", "kube_context", "string", "", "kubeconfig context to deploy to ('' = current)."),
    Setting("adminUrl", "admin_url", "string", "", "taosAdapter URL for membership SQL ('' = port-forward to a pod)."),
    Setting("forceDropOffline", "force_drop_offline", "boolean", False, "Drain an offline departing dnode with force."),
    Setting(
        "allowFewerThanThreeDnodes", "allow_fewer_than_three", "boolean", False, "Acknowledge < 3 dnodes (< 3 mnodes)."
    ),
    Setting("drainTimeoutSeconds", "drain_timeout", "integer", 3600, "Deadline for draining one dnode."),
    Setting("stallTimeoutSeconds", "stall_timeout", "integer", 600, "A drain with no vnode moved for this long fails."),
    Setting("readyTimeoutSeconds", "ready_timeout", "integer", 900, "Deadline for every pod's dnode to be ready."),
    Setting("deleteDataOnDestroy", "delete_data_on_destroy", "boolean", False, "pulumi destroy also deletes the PVCs."),
    Setting(
        "verify", "verify", "boolean", False, "pulumi up ends with the seed's cluster checks (taosBenchmark, vgroups)."
    ),
    Setting("verifyTables", "verify_tables", "integer", 10, "Child tables the check writes (taosBenchmark -t)."),
    Setting("verifyRows", "verify_rows", "integer", 100, "Rows per table the check writes (taosBenchmark -n)."),
    Setting("verifyReplica", "verify_replica", "integer", 3, "Replica of the check's database: 1 or 3 (-a)."),
)
"""Every config key the program reads, in the order the README documents them."""

SECRET_SETTINGS: tuple[Setting, ...] = (
    Setting("rootPassword", "root_password", "string", None, "root password; unset = generated.", secret=True),
    Setting("kubeconfig", "kubeconfig", "string", None, "kubeconfig path or content; unset = ambient.", secret=True),
)
"""Optional secrets. Not in Pulumi.yaml's schema: a schema key without a default is mandatory and a
`secret: true` key must be encrypted in every stack, so an optional secret cannot be declared there."""

_BY_KEY = {s.key: s for s in SETTINGS + SECRET_SETTINGS}


@dataclass(frozen=True)
class ClusterArgs:
    """Validated settings of one TDengine cluster. Construct directly, or with `from_mapping`/`from_config`."""

    namespace: str = "tdengine"
    create_namespace: bool = True
    cluster_name: str = "tdengine"
    service_name: str = "taosd"
    client_service: bool = False
    replicas: int = 3
    image: str = DEFAULT_IMAGE
    image_pull_policy: str = "IfNotPresent"
    timezone: str = "Asia/Shanghai"
    server_port: int = 6030
    rest_port: int = 6041
    storage_class: str = ""
    storage_size: str = "5Gi"
    log_storage_size: str = ""
    cpu_request: str = "500m"
    memory_request: str = "1Gi"
    cpu_limit: str = ""
    memory_limit: str = "4Gi"
    taos_settings: Mapping[str, str] = field(default_factory=dict)
    pod_management_policy: str = "Parallel"
    anti_affinity: str = "preferred"
    zone_spread: str = "preferred"
    pod_disruption_budget: bool = True
    termination_grace_period: int = 300
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    cluster_domain: str = "cluster.local"
    kube_context: str = ""
    admin_url: str = ""
    force_drop_offline: bool = False
    allow_fewer_than_three: bool = False
    drain_timeout: int = 3600
    stall_timeout: int = 600
    ready_timeout: int = 900
    delete_data_on_destroy: bool = False
    verify: bool = False
    verify_tables: int = 10
    verify_rows: int = 100
    verify_replica: int = 3
    root_password: str | None = field(default=None, repr=False)
    """Plain text only inside the program; None means the component generates one."""
    kubeconfig: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        problems = validate(self)
        if problems:
            raise ConfigError(problems)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ClusterArgs:
        """Build from camelCase keys (stack config, a dict); strings are parsed as stack config does."""
        problems: list[str] = []
        unknown = sorted(set(values) - set(_BY_KEY))
        problems += [f"{k}: unknown setting (known: {', '.join(sorted(_BY_KEY))})" for k in unknown]
        kwargs: dict[str, Any] = {}
        for key, raw in values.items():
            setting = _BY_KEY.get(key)
            if setting is None or raw is None:
                continue
            try:
                kwargs[setting.field] = _PARSERS[setting.type](raw, setting)
            except ValueError as err:
                problems.append(str(err))
        if problems:
            try:  # report type errors together with the value errors of the rest
                cls(**{k: v for k, v in kwargs.items()})
            except ConfigError as err:
                problems += err.problems
            raise ConfigError(problems)
        return cls(**kwargs)

    @classmethod
    def from_config(cls, get: Callable[[str], str | None]) -> ClusterArgs:
        """Build from a stack config getter such as `pulumi.Config().get` (values arrive as strings)."""
        return cls.from_mapping({s.key: v for s in SETTINGS + SECRET_SETTINGS if (v := get(s.key)) is not None})

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


def _shown(setting: Setting, raw: Any) -> str:
    return "<secret>" if setting.secret else repr(raw)


def _parse_int(raw: Any, setting: Setting) -> int:
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise ValueError(f"{setting.key}: {_shown(setting, raw)} is not an integer")
    try:
        return int(raw) if not isinstance(raw, str) else int(raw.strip())
    except (TypeError, ValueError):
        raise ValueError(f"{setting.key}: {_shown(setting, raw)} is not an integer") from None


def _parse_bool(raw: Any, setting: Setting) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise ValueError(f"{setting.key}: {_shown(setting, raw)} is not a boolean (true or false)")


def _parse_str(raw: Any, setting: Setting) -> str:
    if setting.key in QUANTITY_KEYS and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return str(int(raw)) if float(raw).is_integer() else str(raw)
    if not isinstance(raw, str):
        raise ValueError(f"{setting.key}: {_shown(setting, raw)} is not a string")
    return raw


def _parse_pairs(raw: Any, setting: Setting) -> dict[str, str]:
    """`["K=v", ...]` (schema form), a JSON string of it, or a mapping."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except json.JSONDecodeError:
            raise ValueError(f"{setting.key}: {raw!r} is not a list of key=value strings") from None
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    if not isinstance(raw, list):
        raise ValueError(f"{setting.key}: {raw!r} is not a list of key=value strings")
    out: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, str) or "=" not in item:
            raise ValueError(f"{setting.key}: entry {item!r} is not of the form key=value")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


_PARSERS: dict[str, Callable[[Any, Setting], Any]] = {
    "integer": _parse_int,
    "boolean": _parse_bool,
    "string": _parse_str,
    "array": _parse_pairs,
}


def is_strong_password(password: str) -> bool:
    """TDengine's strong-password rule: 8+ chars, only letters, digits and its specials, 3+ classes."""
    if len(password) < 8 or len(password) > 255:
        return False
    if any(not (c.isascii() and (c.isalnum() or c in PASSWORD_SPECIALS)) for c in password):
        return False
    classes = [any(c.islower() for c in password), any(c.isupper() for c in password)]
    classes += [any(c.isdigit() for c in password), any(c in PASSWORD_SPECIALS for c in password)]
    return sum(classes) >= 3


def _check(problems: list[str], ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        problems.append(f"{key}: {value!r} is invalid; {allowed}")


def validate(args: ClusterArgs) -> list[str]:
    """Every problem with the settings, one message each (empty when valid)."""
    p: list[str] = []
    dns = "must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters"
    names_ok = True
    for key in ("namespace", "clusterName", "serviceName"):
        value = getattr(args, _BY_KEY[key].field)
        ok = isinstance(value, str) and len(value) <= 63 and bool(_DNS_LABEL.fullmatch(value))
        names_ok = names_ok and ok
        _check(p, ok, key, value, dns)
    if names_ok and len(args.cluster_name) > MAX_CLUSTER_NAME:
        p.append(
            f"clusterName: {args.cluster_name!r} is invalid; at most {MAX_CLUSTER_NAME} characters: the StatefulSet "
            "controller labels every pod controller-revision-hash=<clusterName>-<hash of up to 10 characters>, and "
            "a label value has at most 63"
        )
    if names_ok and args.create_namespace and args.namespace in SYSTEM_NAMESPACES:
        p.append(
            f"namespace: {args.namespace!r} is invalid with createNamespace true; Kubernetes makes that namespace "
            "itself, so the program must not own it: set createNamespace false to deploy into it"
        )
    replicas_ok = isinstance(args.replicas, int) and not isinstance(args.replicas, bool) and args.replicas >= 1
    _check(p, replicas_ok, "replicas", args.replicas, "must be an integer >= 1 (3 or more for high availability)")
    if replicas_ok and args.replicas < 3 and not args.allow_fewer_than_three:
        p.append(
            f"replicas: {args.replicas} is invalid without allowFewerThanThreeDnodes; fewer than 3 dnodes means fewer "
            "than 3 mnodes, so losing one pod stops the cluster. Fix: set replicas to 3 or more, or set "
            "allowFewerThanThreeDnodes true to accept that"
        )
    p += _image_problems(args.image)
    _check(
        p,
        args.image_pull_policy in ("Always", "IfNotPresent", "Never"),
        "imagePullPolicy",
        args.image_pull_policy,
        "allowed: Always, IfNotPresent, Never",
    )
    _check(p, _is_timezone(args.timezone), "timezone", args.timezone, "must be an IANA time zone such as Asia/Shanghai")
    for key in ("serverPort", "restPort"):
        value = getattr(args, _BY_KEY[key].field)
        _check(p, isinstance(value, int) and 1 <= value <= 65535, key, value, "must be a port number from 1 to 65535")
    if args.server_port == args.rest_port:
        p.append(f"restPort: {args.rest_port!r} is invalid; it must differ from serverPort")
    _check(
        p,
        args.storage_class == "" or bool(_DNS_SUBDOMAIN.fullmatch(args.storage_class)),
        "storageClass",
        args.storage_class,
        "must be a StorageClass name (DNS-1123 subdomain) or '' for the cluster default",
    )
    quantity = "must be a Kubernetes quantity greater than zero such as 5Gi or 500Mi"
    _check(p, _is_quantity(args.storage_size), "storageSize", args.storage_size, quantity)
    _check(
        p,
        args.log_storage_size == "" or _is_quantity(args.log_storage_size),
        "logStorageSize",
        args.log_storage_size,
        quantity + ", or '' for no log volume",
    )
    for key, pattern in (
        ("cpuRequest", _CPU),
        ("cpuLimit", _CPU),
        ("memoryRequest", _QUANTITY),
        ("memoryLimit", _QUANTITY),
    ):
        value = getattr(args, _BY_KEY[key].field)
        _check(
            p,
            value == "" or _is_quantity(value, pattern),
            key,
            value,
            "must be a Kubernetes quantity (e.g. 500m or 2 for CPU, 1Gi for memory) or '' for none",
        )
    p += _request_above_limit(args)
    for k in args.taos_settings:
        if not _TAOS_KEY.fullmatch(k):
            p.append(
                f"taosSettings: key {k!r} is invalid; keys must look like TAOS_SOME_SETTING (upper case, TAOS_ prefix)"
            )
        elif k in MANAGED_TAOS_KEYS:
            p.append(f"taosSettings: key {k!r} is managed by the program; set it through its own setting instead")
    _check(
        p,
        args.pod_management_policy in ("Parallel", "OrderedReady"),
        "podManagementPolicy",
        args.pod_management_policy,
        "allowed: Parallel, OrderedReady",
    )
    _check(
        p,
        args.anti_affinity in ("preferred", "required", "none"),
        "antiAffinity",
        args.anti_affinity,
        "allowed: preferred, required, none",
    )
    for key, mapping in (("labels", args.labels), ("annotations", args.annotations)):
        for k, v in mapping.items():
            if not _LABEL_NAME.fullmatch(k):
                p.append(f"{key}: key {k!r} is not a valid Kubernetes {key[:-1]} key")
            elif key == "labels" and k in SELECTOR_LABELS:
                p.append(f"labels: key {k!r} is a selector label managed by the program and cannot be overridden")
            if key == "labels" and not _LABEL_VALUE.fullmatch(v):
                p.append(f"labels: value {v!r} of {k!r} is not a valid label value (63 characters of [A-Za-z0-9-_.])")
    _check(
        p,
        args.zone_spread in ("preferred", "required", "none"),
        "zoneSpread",
        args.zone_spread,
        "allowed: preferred, required, none",
    )
    _check(
        p,
        isinstance(args.termination_grace_period, int) and 1 <= args.termination_grace_period <= 86400,
        "terminationGracePeriodSeconds",
        args.termination_grace_period,
        "must be a whole number of seconds from 1 to 86400",
    )
    domain_ok = bool(_DNS_SUBDOMAIN.fullmatch(args.cluster_domain))
    _check(p, domain_ok, "clusterDomain", args.cluster_domain, "must be a DNS domain such as cluster.local")
    if names_ok and domain_ok and replicas_ok:
        fqdn = dnode_fqdn(args, args.replicas - 1)
        if len(fqdn) > MAX_FQDN:
            p.append(
                f"clusterDomain: dnode FQDN {fqdn!r} has {len(fqdn)} characters; TDengine allows at most {MAX_FQDN} "
                "(TD_FQDN_LEN). Fix: shorten clusterName, serviceName, namespace or clusterDomain"
            )
    _check(
        p,
        args.admin_url == "" or bool(_URL.fullmatch(args.admin_url)),
        "adminUrl",
        args.admin_url,
        "must be http(s)://host[:port] of taosAdapter, or '' to port-forward to a pod",
    )
    for key in ("drainTimeoutSeconds", "stallTimeoutSeconds", "readyTimeoutSeconds"):
        value = getattr(args, _BY_KEY[key].field)
        _check(p, isinstance(value, int) and value >= 1, key, value, "must be a whole number of seconds >= 1")
    p += _verify_problems(args)
    if args.root_password is not None:
        if args.root_password == "":
            p.append("rootPassword: <secret> is empty; unset it to have one generated, or set a strong password")
        elif args.root_password == "taosdata":
            p.append("rootPassword: <secret> is TDengine's well-known default; choose another")
        elif not is_strong_password(args.root_password):
            p.append(
                "rootPassword: <secret> is not a strong password; TDengine needs 8-255 characters from at least "
                f"three of: lower case, upper case, digits, and only these specials: {PASSWORD_SPECIALS}"
            )
    if args.kubeconfig is not None and args.kubeconfig.strip() == "":
        p.append("kubeconfig: <secret> is empty; unset it to use the ambient kubeconfig")
    return p


def dnode_fqdn(args: ClusterArgs, ordinal: int) -> str:
    """The FQDN of pod `ordinal`'s dnode: `<clusterName>-<n>.<serviceName>.<namespace>.svc.<clusterDomain>`."""
    return args.naming.fqdn(args.naming.pod(ordinal))


def _image_problems(image: Any) -> list[str]:
    """A pinned reference (a tag that is not `latest`, a digest, or both) of a TDengine 3.x image."""
    m = _IMAGE.fullmatch(image) if isinstance(image, str) else None
    tag, digest = (m.group("tag"), m.group("digest")) if m else (None, None)
    if not m or not (digest or (tag and tag != "latest")):
        return [
            f"image: {image!r} is invalid; must be <repository>:<tag> with a pinned tag, not 'latest', or "
            f"<repository>[:<tag>]@sha256:<digest> (e.g. {DEFAULT_IMAGE})"
        ]
    version = _VERSION_TAG.match(tag or "")
    if version and int(version.group(1)) != SUPPORTED_MAJOR:
        return [
            f"image: {image!r} is invalid; its tag names TDengine {version.group(1)}.x, and this program manages "
            f"TDengine {SUPPORTED_MAJOR}.x clusters only (2.x is a different system with other SQL and cluster "
            f"rules). Fix: use a 3.x image such as {DEFAULT_IMAGE}"
        ]
    return []


def quantity_value(text: str) -> float:
    """A Kubernetes quantity as a number (bytes or cores), for comparisons only."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", text)
    if not m or m.group(2) not in _MULTIPLIERS:
        raise ValueError(f"not a quantity: {text!r}")
    return float(m.group(1)) * _MULTIPLIERS[m.group(2)]


def _request_above_limit(args: ClusterArgs) -> list[str]:
    p: list[str] = []
    for what, request_key, request, limit_key, limit, pattern in (
        ("CPU", "cpuRequest", args.cpu_request, "cpuLimit", args.cpu_limit, _CPU),
        ("memory", "memoryRequest", args.memory_request, "memoryLimit", args.memory_limit, _QUANTITY),
    ):
        if not (_is_quantity(request, pattern) and _is_quantity(limit, pattern)):
            continue
        if quantity_value(request) > quantity_value(limit):
            p.append(
                f"{request_key}: {request!r} is invalid; it is above {limit_key} {limit!r}, which Kubernetes refuses "
                f"(a {what} request must not exceed its limit). Fix: lower {request_key} or raise {limit_key}"
            )
    return p


def _verify_problems(args: ClusterArgs) -> list[str]:
    """The check's sizes; a replica-3 test database only where 3 dnodes exist (checked only when it runs)."""
    p: list[str] = []
    for key, value, top in (("verifyTables", args.verify_tables, 1_000_000), ("verifyRows", args.verify_rows, 10**9)):
        _check(p, isinstance(value, int) and 1 <= value <= top, key, value, f"must be a whole number from 1 to {top}")
    _check(p, args.verify_replica in (1, 3), "verifyReplica", args.verify_replica, "allowed: 1, 3")
    if args.verify and args.verify_replica == 3 and isinstance(args.replicas, int) and args.replicas < 3:
        p.append(
            f"verifyReplica: 3 is invalid with replicas {args.replicas}; a replica-3 database needs 3 dnodes "
            "(set verifyReplica 1, or verify false)"
        )
    return p


def _is_quantity(value: Any, pattern: re.Pattern[str] = _QUANTITY) -> bool:
    m = pattern.fullmatch(value) if isinstance(value, str) else None
    return bool(m) and float(m.group(1)) > 0


def _is_timezone(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def setting_fields() -> set[str]:
    """Names of the ClusterArgs fields, for the consistency test against SETTINGS."""
    return {f.name for f in fields(ClusterArgs)}
