"""`ClusterShape`: what of a cluster's settings decides what a change does to the running pods and volumes, as
the inputs of the `ClusterChange` resource. Pure: no Pulumi, no I/O.

The program makes it (`components/resource_inputs.py`, `shape_of`) from the same manifests `pulumi up` applies,
so the classification can never judge another StatefulSet than the one Kubernetes gets; the providers read it
back here. Over gRPC every number is a float: `from_inputs` casts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CLUSTER_WIDE = {
    "TAOS_TIMEZONE": "timezone",
    "TAOS_LOCALE": "locale",
    "TAOS_CHARSET": "charset",
    "TAOS_TTL_CHANGE_ON_WRITE": "ttlChangeOnWrite",
    "TAOS_ENABLE_WHITE_LIST": "enableWhiteList",
    "TAOS_STATUS_INTERVAL": "statusInterval",
    "TAOS_MONITOR": "monitor",
    "TAOS_MONITOR_INTERVAL": "monitorInterval",
    "TAOS_SLOW_LOG_THRESHOLD": "slowLogThreshold",
    "TAOS_SLOW_LOG_MAX_LEN": "slowLogMaxLen",
    "TAOS_SLOW_LOG_SCOPE": "slowLogScope",
    "TAOS_SLOW_LOG_EXCEPT_DB": "slowLogExceptDb",
}
"""taosSettings keys whose taos.cfg value every dnode must share: the mnode refuses a dnode whose value differs
from its own and shows it offline with `<name> not match` (`mndCheckClusterCfgPara` in
source/dnode/mnode/impl/src/mndDnode.c; the reasons are listed in tdengine-admin.md §1). statusInterval's check
is commented out in the newest source but listed in §1 (3.3), so it is kept here."""

SHAPE_KEYS = (
    "image",
    "templateHash",
    "volumes",
    "podManagementPolicy",
    "timezone",
    "clusterSettings",
    "allowFullRestart",
    "namespace",
    "statefulset",
    "service",
    "clusterDomain",
    "serverPort",
    "restPort",
    "replicas",
    "createNamespace",
    "deleteDataOnDestroy",
)
"""Every input `ClusterChange`'s classification reads; a change to any other input is not one to the cluster."""

TEMPLATE_KEYS = (
    "imagePullPolicy", "cpuRequest", "memoryRequest", "cpuLimit", "memoryLimit", "antiAffinity", "zoneSpread",
    "terminationGracePeriodSeconds",
)  # fmt: skip
"""The plain settings of the pod template (besides image and timezone, which classify judges itself)."""
MAPPED_KEYS = ("taosSettings", "labels", "annotations")
"""The settings of the pod template that are maps: a change is named by its key, never its value."""


@dataclass(frozen=True)
class Volume:
    """One volumeClaimTemplate: its name, size and StorageClass ('' = the cluster's default)."""

    name: str
    size: str
    storage_class: str


@dataclass(frozen=True)
class ClusterShape:
    image: str
    template_hash: str
    """A hash of the StatefulSet's pod template: when it changes, every pod must restart to get it."""
    volumes: tuple[Volume, ...]
    pod_management_policy: str
    timezone: str
    cluster_settings: Mapping[str, str]
    namespace: str
    statefulset: str
    service: str
    cluster_domain: str
    server_port: int
    rest_port: int
    replicas: int
    create_namespace: bool
    delete_data_on_destroy: bool
    allow_full_restart: bool = False
    template_settings: Mapping[str, str] = field(default_factory=dict, compare=False)
    """`template_settings(args)`: only to name what changed (`template_hash` decides); {} in an older state."""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def to_inputs(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "templateHash": self.template_hash,
            "volumes": [{"name": v.name, "size": v.size, "storageClass": v.storage_class} for v in self.volumes],
            "podManagementPolicy": self.pod_management_policy,
            "timezone": self.timezone,
            "clusterSettings": dict(self.cluster_settings),
            "allowFullRestart": self.allow_full_restart,
            "namespace": self.namespace,
            "statefulset": self.statefulset,
            "service": self.service,
            "clusterDomain": self.cluster_domain,
            "serverPort": self.server_port,
            "restPort": self.rest_port,
            "replicas": self.replicas,
            "createNamespace": self.create_namespace,
            "deleteDataOnDestroy": self.delete_data_on_destroy,
            "templateSettings": dict(self.template_settings),
        }

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any]) -> ClusterShape:
        volumes = tuple(
            Volume(str(v.get("name") or ""), str(v.get("size") or ""), str(v.get("storageClass") or ""))
            for v in inputs.get("volumes") or []
        )
        return cls(
            image=str(inputs.get("image") or ""),
            template_hash=str(inputs.get("templateHash") or ""),
            volumes=volumes,
            pod_management_policy=str(inputs.get("podManagementPolicy") or ""),
            timezone=str(inputs.get("timezone") or ""),
            cluster_settings={str(k): str(v) for k, v in (inputs.get("clusterSettings") or {}).items()},
            namespace=str(inputs.get("namespace") or ""),
            statefulset=str(inputs.get("statefulset") or ""),
            service=str(inputs.get("service") or ""),
            cluster_domain=str(inputs.get("clusterDomain") or ""),
            server_port=int(inputs.get("serverPort") or 0),
            rest_port=int(inputs.get("restPort") or 0),
            replicas=int(inputs.get("replicas") or 0),
            create_namespace=bool(inputs.get("createNamespace")),
            delete_data_on_destroy=bool(inputs.get("deleteDataOnDestroy")),
            allow_full_restart=bool(inputs.get("allowFullRestart")),
            template_settings={str(k): str(v) for k, v in (inputs.get("templateSettings") or {}).items()},
        )


_QUANTITY = re.compile(r"^([0-9.]+(?:[eE][-+]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")
_UNITS = {
    None: 1,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def quantity_bytes(quantity: str) -> float:
    """A Kubernetes quantity (`5Gi`, `500M`, `1e9`) in bytes; ValueError for anything else."""
    m = _QUANTITY.match(quantity.strip())
    if m is None:
        raise ValueError(f"not a Kubernetes quantity: {quantity!r}")
    return float(m[1]) * _UNITS[m[2]]
