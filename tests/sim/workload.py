"""The fake Kubernetes' StatefulSet object, pod revisions and PVC sizes: what a day-2 change reads and does
(`components.tdengine.kube_types.WorkloadOps`), as a mixin of `FakeKube`.

The StatefulSet has `updateStrategy: OnDelete`, as the program's: `apply_template(hash)` changes its template
(a new revision, generation + 1) and restarts nothing; a pod gets the new revision only when it is (re)created.
`delete_statefulset_orphan` deletes the object alone (the pods run on, nothing recreates a deleted one) until
`apply_statefulset` creates it again and it adopts them. PVCs have a requested size and a capacity; a resize of a
PVC of an expandable class reaches its capacity `resize_seconds` later, as a resizer would. Test controls:
`broken_revisions` (pods created at these revisions crash at once, as a bad image would), `crash_once`,
`expandable`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from components.tdengine.errors import KubeError
from components.tdengine.kube_types import PvcState, StatefulSetInfo
from components.tdengine.naming import pvc_ordinal

if TYPE_CHECKING:
    from tests.sim.clock import Scheduler
    from tests.sim.model import Cluster, SimConfig

DEFAULT_SIZE = "5Gi"
STORAGE_CLASS = "standard"


class WorkloadMixin:
    _c: Cluster
    _cfg: SimConfig
    _sched: Scheduler
    _pods: dict[int, Any]
    _pvcs: dict[str, Any]
    replicas: int

    def _init_workload(self) -> None:
        self.template = "0"
        """The StatefulSet's current pod template (its hash); pods carry the revision `<sts>-<template>`."""
        self.generation = 1
        self.sts_exists = True
        self.expandable = True
        """The StorageClass's allowVolumeExpansion."""
        self.resize_seconds = 0.02
        self.broken_revisions: set[str] = set()
        self.crash_once: set[int] = set()
        """Ordinals whose next pod crashes at once (and only that one), whatever its revision."""
        self.sizes: dict[str, tuple[str, str]] = {}
        """PVC name -> (requested, capacity)."""
        self.size_of_template: dict[str, str] = {}
        """volumeClaimTemplate -> its storage request (what a new PVC asks for)."""
        self.restarts: list[str] = []
        """Every pod deleted through `delete_pod`, in order: the restarts of a roll."""

    @property
    def update_revision(self) -> str:
        return f"{self._cfg.statefulset}-{self.template}"

    # -- test controls ---------------------------------------------------------------------------------
    def apply_template(self, template: str) -> None:
        """The StatefulSet step with a changed (or the same) pod template: OnDelete, nothing restarts."""
        with self._c.lock:
            if template != self.template:
                self.template = template
                self.generation += 1

    def adopt_template(self, template: str) -> None:
        """The pods already running (`bootstrap`) were created from `template`: a first `up` of a running cluster."""
        with self._c.lock:
            self.template = template
            for pod in self._pods.values():
                pod.revision = self.update_revision

    def apply_statefulset(self, template: str, replicas: int, sizes: dict[str, str] | None = None) -> None:
        """The StatefulSet created again (after its orphan deletion): it adopts the running pods."""
        with self._c.lock:
            if sizes:
                self.size_of_template.update(sizes)
            if not self.sts_exists:
                self.sts_exists = True
                self.generation = 1
            self.apply_template(template)
        self.scale(replicas)  # type: ignore[attr-defined]

    # -- WorkloadOps -------------------------------------------------------------------------------------
    def read_statefulset(self, namespace: str, name: str) -> StatefulSetInfo | None:
        if (namespace, name) != (self._cfg.namespace, self._cfg.statefulset):
            return None
        with self._c.lock:
            if not self.sts_exists:
                return None
            return StatefulSetInfo(self.generation, self.generation, self.update_revision, self.replicas, "OnDelete")

    def delete_statefulset_orphan(self, namespace: str, name: str) -> None:
        if (namespace, name) == (self._cfg.namespace, self._cfg.statefulset):
            with self._c.lock:
                self.sts_exists = False

    def list_pvc_states(self, namespace: str, statefulset: str, templates: list[str]) -> list[PvcState]:
        if (namespace, statefulset) != (self._cfg.namespace, self._cfg.statefulset):
            return []
        with self._c.lock:
            out = []
            for name, pvc in self._pvcs.items():
                parsed = pvc_ordinal(name, statefulset, list(templates))
                if parsed is None or pvc.deleting:
                    continue
                requested, capacity = self.sizes.get(name, (DEFAULT_SIZE, DEFAULT_SIZE))
                resizing = ("Resizing",) if requested != capacity else ()
                out.append(PvcState(name, parsed[0], parsed[1], requested, capacity, STORAGE_CLASS, resizing))
        return sorted(out, key=lambda p: (p.ordinal, p.template))

    def resize_pvc(self, namespace: str, name: str, size: str) -> None:
        with self._c.lock:
            if name not in self._pvcs or namespace != self._cfg.namespace:
                raise KubeError(f"resize persistentvolumeclaim {namespace}/{name}", 404, "not found")
            if not self.expandable:
                raise KubeError(
                    f"resize persistentvolumeclaim {namespace}/{name} to {size}",
                    403,
                    "Forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions "
                    "the pvc must support resize",
                )
            _requested, capacity = self.sizes.get(name, (DEFAULT_SIZE, DEFAULT_SIZE))
            self.sizes[name] = (size, capacity)

        def resized() -> None:
            with self._c.lock:
                if name in self.sizes and self.sizes[name][0] == size:
                    self.sizes[name] = (size, size)

        self._sched.call_later(self.resize_seconds, resized)

    def storage_class_expands(self, name: str) -> bool | None:
        return self.expandable if name in ("", STORAGE_CLASS) else None

    # -- what FakeKube calls -------------------------------------------------------------------------------
    def _new_pvc(self, name: str, template: str) -> None:
        size = self.size_of_template.get(template, DEFAULT_SIZE)
        self.sizes.setdefault(name, (size, size))

    def _forget_pvc(self, name: str) -> None:
        self.sizes.pop(name, None)
