"""Volume expansion and the recreation of the StatefulSet object (ClusterChange, before the StatefulSet changes).

A StatefulSet's `volumeClaimTemplates` (and `podManagementPolicy`) cannot change, so Kubernetes' usual way, done
here in order, each step read back before the next:

1. the StorageClass must allow expansion (read live; refused before anything changes otherwise);
2. every member PVC asks for the new size (`spec.resources.requests.storage`), and the wait ends once each
   volume has it (`status.capacity`: the resizer, and for a mounted filesystem the kubelet, are done);
3. the StatefulSet object is deleted with propagation `Orphan`: its pods keep running, its PVCs stay;
4. the StatefulSet step of the same `up` then creates it with the new templates, and it adopts the pods (same
   labels, the same pod template: no restart) and their PVCs (same names).

A re-run after an interruption skips what is done: PVCs already at the size are not patched again, a StatefulSet
already gone is not deleted again.
"""

from __future__ import annotations

from components.rollout.shape import quantity_bytes
from components.tdengine import wait
from components.tdengine.errors import Refused
from components.tdengine.kube_types import PvcState, WorkloadOps
from components.tdengine.naming import Naming
from components.tdengine.wait import Deadline, Pending, Progress, stderr_progress


def class_of(kube: WorkloadOps, naming: Naming, templates: list[str], configured: str) -> str:
    """The StorageClass the member PVCs really have (the cluster's default when storageClass is '')."""
    pvcs = kube.list_pvc_states(naming.namespace, naming.statefulset, templates)
    return next((p.storage_class for p in pvcs if p.storage_class), configured)


def expand_volumes(
    kube: WorkloadOps,
    naming: Naming,
    members: list[str],
    sizes: dict[str, str],
    configured_class: str,
    deadline: Deadline,
    poll: float,
    progress: Progress = stderr_progress,
) -> list[str]:
    """Resize every member PVC of the templates in `sizes` (template -> new size); returns the PVCs resized."""
    templates = list(sizes)
    storage_class = class_of(kube, naming, templates, configured_class)
    if kube.storage_class_expands(storage_class) is False:
        raise Refused(
            f"StorageClass {storage_class or '(default)'!r} does not allow volume expansion (allowVolumeExpansion is "
            "not true), so Kubernetes refuses a larger PVC",
            "set storageSize/logStorageSize back; expansion needs a StorageClass with allowVolumeExpansion: true "
            "and a CSI driver that can expand",
            "volume expansion",
        )
    ordinals = {naming.ordinal(m) for m in members}
    resized = []
    for pvc in kube.list_pvc_states(naming.namespace, naming.statefulset, templates):
        size = sizes[pvc.template]
        if pvc.ordinal in ordinals and quantity_bytes(pvc.requested or "0") < quantity_bytes(size):
            progress(f"resize PVC {pvc.name}: {pvc.requested} -> {size}")
            kube.resize_pvc(naming.namespace, pvc.name, size)
            resized.append(pvc.name)

    def probe(_elapsed: float) -> bool | Pending:
        pending = [
            p
            for p in kube.list_pvc_states(naming.namespace, naming.statefulset, templates)
            if p.ordinal in ordinals and not _has(p, sizes[p.template])
        ]
        if not pending:
            return True
        shown = ", ".join(_shown(p) for p in pending)
        return Pending(f"PVCs not expanded yet: {shown}", mark=shown, note=f"waiting for {shown}")

    wait.until("volume expansion", probe, deadline=deadline, poll=poll, progress=progress)
    progress(f"volumes expanded: {', '.join(f'{t} {z}' for t, z in sizes.items())}")
    return resized


def recreate_statefulset(
    kube: WorkloadOps, naming: Naming, deadline: Deadline, poll: float, progress: Progress = stderr_progress
) -> None:
    """Delete the StatefulSet object alone (orphan) and wait until it is gone; the StatefulSet step creates it."""
    if kube.read_statefulset(naming.namespace, naming.statefulset) is not None:
        progress(
            f"delete StatefulSet {naming.statefulset} with orphan propagation: its pods keep running and its PVCs "
            "stay; the StatefulSet step creates it again and adopts them"
        )
        kube.delete_statefulset_orphan(naming.namespace, naming.statefulset)

    def gone(_elapsed: float) -> bool | Pending:
        if kube.read_statefulset(naming.namespace, naming.statefulset) is None:
            return True
        return Pending(f"StatefulSet {naming.statefulset} still there (the garbage collector orphans its pods)")

    wait.until("the StatefulSet object's orphan deletion", gone, deadline=deadline, poll=poll, progress=progress)


def _has(pvc: PvcState, size: str) -> bool:
    return bool(pvc.capacity) and quantity_bytes(pvc.capacity) >= quantity_bytes(size)


def _shown(pvc: PvcState) -> str:
    state = f" ({', '.join(pvc.conditions)})" if pvc.conditions else ""
    return f"{pvc.name} {pvc.capacity or 'unbound'} of {pvc.requested}{state}"
