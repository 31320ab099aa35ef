"""`MembershipProps`: the contract between the component and the two dynamic providers, written once.

The inputs of DnodeDecommission and ClusterMembership (the same for both): `cluster.py` builds them from
`ClusterArgs` with `to_inputs()`, the providers parse them with `from_inputs()` (numbers arrive as floats over
gRPC; a state written by an older version may lack a key, which then takes its setting's default, read from
`ClusterArgs`' declaration), and the tests' engine builds them the same way. `check_inputs()` is the
providers' `check`: it tolerates values not known yet (preview). Pure: no Pulumi, no I/O.

The two secrets (`rootPassword`, `kubeconfig`) are plain strings to the providers; the program passes them to
`to_inputs()` as secret Outputs instead, so they are never plain text in its registrations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from components.args import default
from components.membership.plan import DrainOptions
from components.membership.scale_plan import FIXED_SECONDS, Costs
from components.tdengine.connection import Connection
from components.tdengine.naming import Naming

SECRET_INPUTS = ("rootPassword", "kubeconfig")
"""Secret inputs: listed in `additional_secret_outputs`, so the engine stores them encrypted if output."""
IDENTITY_INPUTS = ("namespace", "statefulset", "service", "clusterDomain", "serverPort")
"""Inputs naming the cluster; changing them means another cluster (replace)."""
NAMING_INPUTS = {
    "statefulset": "statefulset",
    "service": "service",
    "namespace": "namespace",
    "clusterDomain": "cluster_domain",
    "serverPort": "server_port",
}
"""Naming's fields by input key."""


def _input(key: str, *, tuning: bool = False, secret: bool = False) -> dict[str, Any]:
    """Field metadata: the input key; `tuning` inputs (tests' timings, and inputs added after stacks existed)
    are sent only when they differ from their default, so the program's inputs, and with them every existing
    stack's diff, stay as they were."""
    return {"key": key, "tuning": tuning, "secret": secret}


def _setting(key: str) -> Any:
    """A field whose input is the stack setting `key`, with that setting's default."""
    return field(default=default(key), metadata=_input(key))


@dataclass(frozen=True)
class MembershipProps:
    """The parsed inputs of both membership resources."""

    members: tuple[str, ...] = field(metadata=_input("members"))
    """The desired member pods, `<statefulset>-0` .. `-<replicas-1>`."""
    naming: Naming = field(metadata=_input(""))
    """statefulset, service, namespace, clusterDomain, serverPort (each its own input)."""
    rest_port: int = _setting("restPort")
    templates: tuple[str, ...] = field(default=("taosdata",), metadata=_input("templates"))
    """volumeClaimTemplates: PVCs are `<template>-<pod>`."""
    admin_url: str = _setting("adminUrl")
    kube_context: str = _setting("kubeContext")
    kubeconfig: str = field(default="", repr=False, metadata=_input("kubeconfig", secret=True))
    root_password: str = field(default="", repr=False, metadata=_input("rootPassword", secret=True))
    force_drop_offline: bool = _setting("forceDropOffline")
    allow_fewer_than_three: bool = _setting("allowFewerThanThreeDnodes")
    drain_timeout: float = _setting("drainTimeoutSeconds")
    stall_timeout: float = _setting("stallTimeoutSeconds")
    ready_timeout: float = _setting("readyTimeoutSeconds")
    delete_data_on_destroy: bool = _setting("deleteDataOnDestroy")
    namespace_created: bool = field(default=False, metadata=_input("createNamespace"))
    """Not the setting's default (true): a state written before this input existed did not create one."""
    poll_interval: float = field(default=2, metadata=_input("pollIntervalSeconds", tuning=True))
    statement_timeout: float = field(default=30, metadata=_input("statementTimeoutSeconds", tuning=True))
    vnode_copy_mbps: float = field(default=default("vnodeCopyMBps"), metadata=_input("vnodeCopyMBps", tuning=True))
    """The stack setting: how fast the network copies a vnode, for the scale-in plan (`scale_plan.Costs`)."""
    move_fixed_seconds: float = field(default=FIXED_SECONDS, metadata=_input("moveFixedSeconds", tuning=True))
    """A move's fixed part: the real cluster's 20 s (tests set the simulator's)."""

    # -- the program's side -----------------------------------------------------------------------------------
    def to_inputs(self, *, root_password: object = None, kubeconfig: object = None) -> dict[str, Any]:
        """The resource inputs, by input key. `root_password` / `kubeconfig` replace the fields' values (the
        program passes secret Outputs); an empty kubeconfig is left out."""
        out: dict[str, Any] = {"members": list(self.members)}
        out.update({key: getattr(self.naming, name) for key, name in NAMING_INPUTS.items()})
        for f in _FIELDS:
            key, value = f.metadata["key"], getattr(self, f.name)
            if f.name in ("members", "naming") or (f.metadata["tuning"] and value == f.default):
                continue
            out[key] = list(value) if isinstance(value, tuple) else value
        out["rootPassword"] = self.root_password if root_password is None else root_password
        if kubeconfig is not None:
            out["kubeconfig"] = kubeconfig
        elif not self.kubeconfig:
            del out["kubeconfig"]
        return out

    # -- the providers' side ----------------------------------------------------------------------------------
    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any]) -> MembershipProps:
        """Parse inputs (or a resource's outputs, which hold them); a missing or empty key takes its default."""
        values: dict[str, Any] = {}
        for f in _FIELDS:
            key = f.metadata["key"]
            if f.name == "naming":
                values["naming"] = naming_of(inputs)
            elif inputs.get(key):  # as `value or default` always has: a null, 0, '' or [] takes the default
                values[f.name] = _PARSE[f.name](inputs[key])
        return cls(**values)

    @staticmethod
    def check_inputs(inputs: Mapping[str, Any], is_unknown: Callable[[Any], bool]) -> list[tuple[str, str]]:
        """(key, reason) for each input that cannot be parsed; values not known yet (`is_unknown`) pass."""
        failures = []
        members = inputs.get("members")
        if members is not None and not is_unknown(members):
            if not isinstance(members, list) or not all(isinstance(m, str) or is_unknown(m) for m in members):
                failures.append(("members", "must be a list of pod names"))
        for key in ("namespace", "statefulset", "service"):
            value = inputs.get(key)
            if not (isinstance(value, str) or is_unknown(value)):
                failures.append((key, "is required"))
        return failures

    @property
    def options(self) -> DrainOptions:
        return DrainOptions(force=self.force_drop_offline, allow_fewer_than_three=self.allow_fewer_than_three)

    @property
    def costs(self) -> Costs:
        return Costs(self.move_fixed_seconds, self.vnode_copy_mbps)

    def connection(self) -> Connection:
        return Connection(self.naming, self.rest_port, self.root_password, self.admin_url, self.statement_timeout)

    def with_kubeconfig(self, kubeconfig: str) -> MembershipProps:
        return dataclasses.replace(self, kubeconfig=kubeconfig)


def naming_of(inputs: Mapping[str, Any]) -> Naming:
    """The cluster's names from any provider's inputs or outputs (each of its fields is its own input); a state
    written before clusterDomain or serverPort were inputs takes their settings' defaults."""
    return Naming(
        statefulset=str(inputs["statefulset"]),
        service=str(inputs["service"]),
        namespace=str(inputs["namespace"]),
        cluster_domain=str(inputs.get("clusterDomain") or default("clusterDomain")),
        server_port=int(inputs.get("serverPort") or default("serverPort")),
    )


def input_keys() -> set[str]:
    """Every input key of the contract."""
    return {f.metadata["key"] for f in _FIELDS if f.name != "naming"} | set(NAMING_INPUTS)


_FIELDS = dataclasses.fields(MembershipProps)
_PARSE: dict[str, Callable[[Any], Any]] = {
    "members": lambda v: tuple(str(m) for m in v),
    "rest_port": int,
    "templates": lambda v: tuple(str(t) for t in v),
    "admin_url": str,
    "kube_context": str,
    "kubeconfig": str,
    "root_password": str,
    "force_drop_offline": bool,
    "allow_fewer_than_three": bool,
    "drain_timeout": float,
    "stall_timeout": float,
    "ready_timeout": float,
    "delete_data_on_destroy": bool,
    "namespace_created": bool,
    "poll_interval": float,
    "statement_timeout": float,
    "vnode_copy_mbps": float,
    "move_fixed_seconds": float,
}
"""How each field is read from its input (over gRPC every number is a float)."""
