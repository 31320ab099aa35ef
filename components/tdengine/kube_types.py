"""The narrow Kubernetes interface the membership provider and `verify` need, and its value types.

Pure declarations: no client, no I/O. `kube.py` implements `PodOps` (hence `KubeOps`) with the official
`kubernetes` client; the simulator in `tests/sim/` implements it in memory. Everything the
provider asks of Kubernetes goes through these methods, so a test can swap the whole Kubernetes side at
one seam.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PodInfo:
    """One pod of the StatefulSet, as far as membership decisions care."""

    name: str
    ordinal: int
    ready: bool
    phase: str
    """Pod phase: Pending, Running, Succeeded, Failed or Unknown."""
    deleting: bool = False
    """True once the pod has a deletionTimestamp (it is terminating)."""
    uid: str = ""
    """metadata.uid: a pod deleted and recreated under the same name has a new one."""
    revision: str = ""
    """Its `controller-revision-hash` label: the StatefulSet revision (pod template) it was created from."""
    reason: str = ""
    """Why its container is not running, when Kubernetes says (`CrashLoopBackOff`, `ImagePullBackOff`, ...)."""
    started: float = 0.0
    """`status.startTime` in epoch seconds (0 when unknown): its processes started after it."""


@dataclass(frozen=True)
class PvcInfo:
    """One PersistentVolumeClaim created from a volumeClaimTemplate of the StatefulSet."""

    name: str
    """`<template>-<statefulset>-<ordinal>`, e.g. `taosdata-tdengine-3`."""
    template: str
    ordinal: int


class KubeOps(Protocol):
    """What the provider does to Kubernetes. Implementations must be safe to call from threads."""

    def list_pods(self, namespace: str, statefulset: str) -> list[PodInfo]:
        """Pods named `<statefulset>-<n>` in the namespace, sorted by ordinal."""
        ...

    def list_pvcs(self, namespace: str, statefulset: str, templates: list[str]) -> list[PvcInfo]:
        """PVCs named `<template>-<statefulset>-<n>` for the given templates, sorted by (ordinal, template)."""
        ...

    def delete_pvc(self, namespace: str, name: str) -> None:
        """Delete one PVC; a PVC that is already gone is not an error."""
        ...

    def port_forward(self, namespace: str, pod: str, port: int) -> AbstractContextManager[str]:
        """Forward a local port to `pod:port`; the context yields `http://127.0.0.1:<local port>`."""
        ...

    def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        """The decoded data of one Secret, or None when it does not exist."""
        ...

    def write_secret(self, namespace: str, name: str, data: dict[str, str], labels: dict[str, str]) -> None:
        """Create the Secret, or replace its data and labels when it exists."""
        ...

    def delete_secret(self, namespace: str, name: str) -> None:
        """Delete one Secret; a Secret that is already gone is not an error."""
        ...


@dataclass(frozen=True)
class ExecResult:
    """What a command run in a pod's container left: its exit code and output."""

    exit_code: int
    stdout: str
    stderr: str


class PodOps(KubeOps, Protocol):
    """`KubeOps` plus what the `verify` command does to pods: run a command in one, delete one.
    A separate protocol so the membership provider's fakes need not grow these."""

    def exec_in_pod(
        self, namespace: str, pod: str, command: list[str], stdin: str = "", timeout: float = 600.0
    ) -> ExecResult:
        """Run `command` (argv, no shell) in the pod's container; `stdin` is written first. Raises on
        API failures and when the command does not exit within `timeout` seconds; a non-zero exit is a
        result, not an error."""
        ...

    def delete_pod(self, namespace: str, name: str) -> None:
        """Delete one pod (its StatefulSet recreates it on the same volumes); a missing pod is an error."""
        ...


# -- what a day-2 change needs beyond the membership's calls (components/rollout) ------------------------------
@dataclass(frozen=True)
class StatefulSetInfo:
    """The StatefulSet object as a rolling restart judges it."""

    generation: int
    observed_generation: int
    """`status.observedGeneration`: the controller has seen the spec of this generation when they are equal."""
    update_revision: str
    """`status.updateRevision`: the revision (pod template) a pod created now gets."""
    replicas: int
    update_strategy: str
    deleting: bool = False


@dataclass(frozen=True)
class PvcState:
    """One PVC of the StatefulSet with its sizes: what it asks for and what the volume has."""

    name: str
    template: str
    ordinal: int
    requested: str
    """`spec.resources.requests.storage`, as a quantity (`5Gi`)."""
    capacity: str
    """`status.capacity.storage` ('' while unbound): the size the volume has."""
    storage_class: str
    conditions: tuple[str, ...] = ()
    """Types of its True conditions (`Resizing`, `FileSystemResizePending`, ...)."""


class WorkloadOps(PodOps, Protocol):
    """`PodOps` plus what a day-2 change does to the StatefulSet, its PVCs and their StorageClass."""

    def read_statefulset(self, namespace: str, name: str) -> StatefulSetInfo | None:
        """The StatefulSet, or None when it does not exist."""
        ...

    def delete_statefulset_orphan(self, namespace: str, name: str) -> None:
        """Delete the StatefulSet object only (propagation `Orphan`): its pods keep running and its PVCs stay;
        a missing StatefulSet is not an error."""
        ...

    def list_pvc_states(self, namespace: str, statefulset: str, templates: list[str]) -> list[PvcState]:
        """`list_pvcs` with each PVC's sizes, StorageClass and conditions, sorted by (ordinal, template)."""
        ...

    def resize_pvc(self, namespace: str, name: str, size: str) -> None:
        """Ask for `size` (`spec.resources.requests.storage`); the resizer expands the volume."""
        ...

    def storage_class_expands(self, name: str) -> bool | None:
        """Whether StorageClass `name` (`''`: the cluster's default) has `allowVolumeExpansion: true`; None when
        it cannot be read (missing, or not allowed)."""
        ...
