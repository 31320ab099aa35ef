"""How the StatefulSet names pods and PVCs, and how TDengine names their dnodes. Pure; the one place a pod
name, an FQDN or an endpoint is built.

Pods are matched to dnodes by the endpoint's FQDN (`<pod>.<service>.<namespace>.svc.<domain>`), case-
insensitively, never by id: ids are never reused and do not follow ordinals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol


class HasFqdn(Protocol):
    """A dnode or mnode row: anything with the FQDN of its endpoint."""

    @property
    def fqdn(self) -> str: ...


def pod_name(statefulset: str, ordinal: int) -> str:
    return f"{statefulset}-{ordinal}"


def pod_ordinal(pod_name: str, statefulset: str) -> int | None:
    """The ordinal of `<statefulset>-<n>`, or None for a pod of something else."""
    m = re.fullmatch(re.escape(statefulset) + r"-(\d+)", pod_name)
    return int(m.group(1)) if m else None


def pvc_ordinal(pvc_name: str, statefulset: str, templates: list[str]) -> tuple[str, int] | None:
    """(template, ordinal) of `<template>-<statefulset>-<n>`, or None for another PVC."""
    for template in templates:
        prefix = template + "-"
        n = pod_ordinal(pvc_name[len(prefix) :], statefulset) if pvc_name.startswith(prefix) else None
        if n is not None:
            return template, n
    return None


@dataclass(frozen=True)
class Naming:
    """The names of one cluster's pods and dnodes."""

    statefulset: str
    service: str
    namespace: str
    cluster_domain: str
    server_port: int

    def pod(self, ordinal: int) -> str:
        return pod_name(self.statefulset, ordinal)

    def pods(self, replicas: int) -> list[str]:
        """The member pods of a StatefulSet of `replicas`: ordinals 0 .. replicas-1."""
        return [self.pod(i) for i in range(replicas)]

    def fqdn(self, pod: str) -> str:
        return f"{pod}.{self.service}.{self.namespace}.svc.{self.cluster_domain}".lower()

    def endpoint(self, pod: str) -> str:
        return f"{self.fqdn(pod)}:{self.server_port}"

    def ordinal(self, pod: str) -> int:
        n = pod_ordinal(pod, self.statefulset)
        if n is None:
            raise ValueError(f"{pod!r} is not a pod of StatefulSet {self.statefulset!r}")
        return n

    def pod_of(self, node: HasFqdn) -> str | None:
        """The pod whose FQDN the node's endpoint carries, or None for a dnode of something else."""
        suffix = f".{self.service}.{self.namespace}.svc.{self.cluster_domain}".lower()
        host = node.fqdn
        if not host.endswith(suffix):
            return None
        pod = host[: -len(suffix)]
        return pod if pod_ordinal(pod, self.statefulset) is not None else None
