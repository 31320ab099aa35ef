"""Destroy's part for the pods: the StatefulSet is deleted with orphan propagation (its annotation
`pulumi.com/deletionPropagationPolicy: orphan`, so that a replacement of the object never stops its pods), which
leaves its pods running; ClusterChange's delete, which the engine runs after the StatefulSet's, deletes them.
"""

from __future__ import annotations

from components.tdengine import wait
from components.tdengine.errors import KubeError
from components.tdengine.kube_types import WorkloadOps
from components.tdengine.naming import Naming
from components.tdengine.wait import Deadline, Pending, Progress, stderr_progress


def delete_orphaned_pods(
    kube: WorkloadOps, naming: Naming, deadline: Deadline, poll: float = 1.0, progress: Progress = stderr_progress
) -> list[str]:
    """Delete the StatefulSet's pods once the StatefulSet is gone (never while it exists), and wait for them."""
    if kube.read_statefulset(naming.namespace, naming.statefulset) is not None:
        return []
    pods = [p for p in kube.list_pods(naming.namespace, naming.statefulset) if not p.deleting]
    for pod in pods:
        progress(f"delete pod {pod.name} (its StatefulSet is gone)")
        try:
            kube.delete_pod(naming.namespace, pod.name)
        except KubeError as e:
            if e.status != 404:  # gone already
                raise

    def gone(_elapsed: float) -> bool | Pending:
        left = [p.name for p in kube.list_pods(naming.namespace, naming.statefulset)]
        return True if not left else Pending(f"pods {', '.join(left)} still there")

    wait.until("the pods to be gone", gone, deadline=deadline, poll=poll, progress=progress)
    return [p.name for p in pods]
