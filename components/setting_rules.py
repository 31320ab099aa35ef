"""The checks the settings (declared in `args.py`) name: building blocks (`rule`, `one_of`, `whole`, ...) and the
rules that involve another setting. Each takes (key, value, the other settings) and returns one message per
problem: the key, the bad value and what is allowed; a secret shows as `<secret>`. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from components.tdengine.naming import Naming
from components.validators import (
    LABEL_NAME,
    LABEL_VALUE,
    PASSWORD_SPECIALS,
    TAOS_KEY,
    image_problem,
    is_dns_label,
    is_int,
    is_quantity,
    is_strong_password,
    quantity_value,
)

MANAGED_TAOS_KEYS = frozenset(
    {"TAOS_FQDN", "TAOS_FIRST_EP", "TAOS_SERVER_PORT", "TAOS_ROOT_PASSWORD", "TAOS_ADAPTER_PORT"}
)
"""TAOS_* variables the StatefulSet derives itself; a taosSettings entry may not override them."""
SELECTOR_LABELS = frozenset({"app", "app.kubernetes.io/name", "app.kubernetes.io/instance"})
MAX_CLUSTER_NAME = 52
"""The StatefulSet controller labels each pod `controller-revision-hash: <name>-<hash of up to 10 characters>`,
and a label value has at most 63 characters."""
MAX_FQDN = 127
"""`TD_FQDN_LEN` is 128 bytes in TDengine 3.3.7.5 (`include/os/osDef.h`), the terminating NUL included."""
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
"""Namespaces Kubernetes makes itself: never adopted (createNamespace) and so never deleted by a destroy."""


class Values(Protocol):
    """What the rules read of the other settings (`ClusterArgs` is one): they need not import it, which imports
    them."""

    @property
    def namespace(self) -> str: ...
    @property
    def create_namespace(self) -> bool: ...
    @property
    def cluster_name(self) -> str: ...
    @property
    def service_name(self) -> str: ...
    @property
    def replicas(self) -> int: ...
    @property
    def server_port(self) -> int: ...
    @property
    def allow_fewer_than_three(self) -> bool: ...
    @property
    def verify(self) -> bool: ...
    @property
    def naming(self) -> Naming: ...


Check = Callable[[str, Any, Values], list[str]]


def no_check(_key: str, _value: Any, _args: Values) -> list[str]:
    return []


# -- checks: building blocks ---------------------------------------------------------------------------------------
def invalid(key: str, value: Any, allowed: str) -> str:
    return f"{key}: {value!r} is invalid; {allowed}"


def rule(ok: Callable[[Any], bool], allowed: str, *more: Check) -> Check:
    """`allowed` when `ok(value)` fails; else the further checks (rules that need a valid value first)."""

    def check(key: str, value: Any, args: Values) -> list[str]:
        if not ok(value):
            return [invalid(key, value, allowed)]
        return [p for extra in more for p in extra(key, value, args)]

    return check


def one_of(*choices: Any) -> Check:
    return rule(lambda v: v in choices, "allowed: " + ", ".join(map(str, choices)))


def whole(low: int, high: int | None = None, unit: str = "number") -> Check:
    allowed = f"must be a whole {unit} from {low} to {high}" if high else f"must be a whole {unit} >= {low}"
    return rule(lambda v: is_int(v) and v >= low and (high is None or v <= high), allowed)


DNS = "must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters"
QUANTITY_ALLOWED = "must be a Kubernetes quantity greater than zero such as 5Gi or 500Mi"
RESOURCE_ALLOWED = "must be a Kubernetes quantity (e.g. 500m or 2 for CPU, 1Gi for memory) or '' for none"


def port_ok(value: Any) -> bool:
    return is_int(value) and 1 <= value <= 65535


PORT_ALLOWED = "must be a port number from 1 to 65535"
PORT = rule(port_ok, PORT_ALLOWED)
SECONDS = rule(lambda v: is_int(v) and v >= 1, "must be a whole number of seconds >= 1")


def optional_quantity(pattern: re.Pattern[str], allowed: str, *more: Check) -> Check:
    return rule(lambda v: v == "" or is_quantity(v, pattern), allowed, *more)


# -- checks: rules of one setting that involve another -------------------------------------------------------------
def system_namespace(_key: str, namespace: str, args: Values) -> list[str]:
    if args.create_namespace and namespace in SYSTEM_NAMESPACES:
        return [
            f"namespace: {namespace!r} is invalid with createNamespace true; Kubernetes makes that namespace "
            "itself, so the program must not own it: set createNamespace false to deploy into it"
        ]
    return []


def cluster_name_length(_key: str, name: str, _args: Values) -> list[str]:
    if len(name) > MAX_CLUSTER_NAME:
        return [
            f"clusterName: {name!r} is invalid; at most {MAX_CLUSTER_NAME} characters: the StatefulSet controller "
            "labels every pod controller-revision-hash=<clusterName>-<hash of up to 10 characters>, and a label "
            "value has at most 63"
        ]
    return []


def fewer_than_three(_key: str, replicas: int, args: Values) -> list[str]:
    if replicas < 3 and not args.allow_fewer_than_three:
        return [
            f"replicas: {replicas} is invalid without allowFewerThanThreeDnodes; fewer than 3 dnodes means fewer "
            "than 3 mnodes, so losing one pod stops the cluster. Fix: set replicas to 3 or more, or set "
            "allowFewerThanThreeDnodes true to accept that"
        ]
    return []


def valid_image(_key: str, image: Any, _args: Values) -> list[str]:
    problem = image_problem(image)
    return [problem] if problem else []


def differs_from_server_port(_key: str, port: int, args: Values) -> list[str]:
    return [f"restPort: {port!r} is invalid; it must differ from serverPort"] if port == args.server_port else []


def not_above(limit_key: str, limit_field: str, pattern: re.Pattern[str], what: str) -> Check:
    """A request must not exceed its limit (Kubernetes refuses the pod)."""

    def check(key: str, request: str, args: Values) -> list[str]:
        limit = getattr(args, limit_field)
        if (
            is_quantity(request, pattern)
            and is_quantity(limit, pattern)
            and quantity_value(request) > quantity_value(limit)
        ):
            return [
                f"{key}: {request!r} is invalid; it is above {limit_key} {limit!r}, which Kubernetes "
                f"refuses (a {what} request must not exceed its limit). Fix: lower {key} or raise {limit_key}"
            ]
        return []

    return check


def taos_keys(_key: str, settings: Any, _args: Values) -> list[str]:
    problems = []
    for k in settings:
        if not TAOS_KEY.fullmatch(k):
            problems.append(
                f"taosSettings: key {k!r} is invalid; keys must look like TAOS_SOME_SETTING (upper case, TAOS_ prefix)"
            )
        elif k in MANAGED_TAOS_KEYS:
            problems.append(
                f"taosSettings: key {k!r} is managed by the program; set it through its own setting instead"
            )
    return problems


def metadata(key: str, mapping: Any, _args: Values) -> list[str]:
    """Label or annotation keys (and label values); the selector labels stay the program's."""
    problems = []
    for k, v in mapping.items():
        if not LABEL_NAME.fullmatch(k):
            problems.append(f"{key}: key {k!r} is not a valid Kubernetes {key[:-1]} key")
        elif key == "labels" and k in SELECTOR_LABELS:
            problems.append(f"labels: key {k!r} is a selector label managed by the program and cannot be overridden")
        if key == "labels" and not LABEL_VALUE.fullmatch(v):
            problems.append(
                f"labels: value {v!r} of {k!r} is not a valid label value (63 characters of [A-Za-z0-9-_.])"
            )
    return problems


def fqdn_length(_key: str, _domain: str, args: Values) -> list[str]:
    """The longest dnode FQDN, once the names it is made of are valid."""
    names = (args.namespace, args.cluster_name, args.service_name)
    if not (all(is_dns_label(n) for n in names) and is_int(args.replicas) and args.replicas >= 1):
        return []
    fqdn = args.naming.fqdn(args.naming.pod(args.replicas - 1))
    if len(fqdn) > MAX_FQDN:
        return [
            f"clusterDomain: dnode FQDN {fqdn!r} has {len(fqdn)} characters; TDengine allows at most {MAX_FQDN} "
            "(TD_FQDN_LEN). Fix: shorten clusterName, serviceName, namespace or clusterDomain"
        ]
    return []


def verify_replica_fits(_key: str, replica: int, args: Values) -> list[str]:
    """A replica-3 test database only where 3 dnodes exist (checked only when the check runs)."""
    if args.verify and replica == 3 and is_int(args.replicas) and args.replicas < 3:
        return [
            f"verifyReplica: 3 is invalid with replicas {args.replicas}; a replica-3 database needs 3 dnodes "
            "(set verifyReplica 1, or verify false)"
        ]
    return []


def strong_root_password(_key: str, password: str | None, _args: Values) -> list[str]:
    if password is None:
        return []
    if password == "":
        return ["rootPassword: <secret> is empty; unset it to have one generated, or set a strong password"]
    if password == "taosdata":
        return ["rootPassword: <secret> is TDengine's well-known default; choose another"]
    if not is_strong_password(password):
        return [
            "rootPassword: <secret> is not a strong password; TDengine needs 8-255 characters from at least "
            f"three of: lower case, upper case, digits, and only these specials: {PASSWORD_SPECIALS}"
        ]
    return []


def kubeconfig_not_empty(_key: str, kubeconfig: str | None, _args: Values) -> list[str]:
    if kubeconfig is not None and kubeconfig.strip() == "":
        return ["kubeconfig: <secret> is empty; unset it to use the ambient kubeconfig"]
    return []
