"""ClusterArgs: every setting of a TDengine cluster, typed, defaulted and validated in one place.

Pure: no Pulumi resources and no I/O. The settings themselves (key, type, default, description and the check
of each) are the table in `settings.py`; this module parses stack config into `ClusterArgs` and runs every
setting's check, collecting every problem into one `ConfigError` naming each key, the bad value and what is
allowed; secret values are never echoed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from components.settings import QUANTITY_KEYS, SECRET_SETTINGS, SETTINGS, Setting, unknown_key_problem
from components.tdengine.naming import Naming
from components.validators import DEFAULT_IMAGE

_BY_KEY = {s.key: s for s in SETTINGS + SECRET_SETTINGS}


class ConfigError(ValueError):
    """One error for all invalid settings, one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid TDengine cluster configuration:\n" + "\n".join(f"  - {p}" for p in problems))


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
    allow_full_restart: bool = False
    drain_timeout: int = 3600
    stall_timeout: int = 600
    ready_timeout: int = 900
    vnode_copy_mbps: int = 100
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
        problems += [unknown_key_problem(k) for k in unknown]
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
    def of(cls, values: ClusterArgs | Mapping[str, Any]) -> ClusterArgs:
        """`values` as they are when already ClusterArgs, else parsed as camelCase keys (`from_mapping`)."""
        return values if isinstance(values, ClusterArgs) else cls.from_mapping(values)

    @classmethod
    def from_config(cls, get: Callable[[str], str | None], keys: Iterable[str] = ()) -> ClusterArgs:
        """Build from a stack config getter such as `pulumi.Config().get` (values arrive as strings); `keys`, every
        key the stack sets in this project's namespace, so that one the program does not read is refused."""
        values: dict[str, Any] = {k: "" for k in keys if k not in _BY_KEY}
        values |= {s.key: v for s in SETTINGS + SECRET_SETTINGS if (v := get(s.key)) is not None}
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


def _shown(setting: Setting, raw: Any) -> str:
    return "<secret>" if setting.secret else repr(raw)


def _parse_int(raw: Any, setting: Setting) -> int:
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise ValueError(f"{setting.key}: {_shown(setting, raw)} is not an integer")
    try:
        return int(raw) if not isinstance(raw, str) else int(raw.strip())
    except (TypeError, ValueError) as err:
        raise ValueError(f"{setting.key}: {_shown(setting, raw)} is not an integer") from err


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
        except json.JSONDecodeError as err:
            raise ValueError(f"{setting.key}: {raw!r} is not a list of key=value strings") from err
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


def validate(args: ClusterArgs) -> list[str]:
    """Every problem with the settings, one message each (empty when valid): each setting's own check."""
    return [problem for s in SETTINGS + SECRET_SETTINGS for problem in s.problems(args)]


def setting_fields() -> set[str]:
    """Names of the ClusterArgs fields, for the consistency test against SETTINGS."""
    return {f.name for f in fields(ClusterArgs)}
