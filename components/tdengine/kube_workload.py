"""`KubernetesWorkload`: `KubernetesApi` plus what a day-2 change asks of Kubernetes (`kube_types.WorkloadOps`).

Read the StatefulSet (its generation and update revision), delete the StatefulSet object alone (propagation
`Orphan`: the pods keep running, the PVCs stay), read the PVCs' sizes and ask for a larger one, and read a
StorageClass's `allowVolumeExpansion`. Same rules as `kube.py`: every failure is a `KubeError` naming what was
asked, never carrying a token.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from components.tdengine.errors import KubeError
from components.tdengine.kube import KubernetesApi
from components.tdengine.kube_types import PvcState, StatefulSetInfo

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


class KubernetesWorkload(KubernetesApi):
    """`WorkloadOps` over the official client (picklable and thread-safe, as `KubernetesApi`)."""

    def read_statefulset(self, namespace: str, name: str) -> StatefulSetInfo | None:
        try:
            sts = self._translate(
                f"read statefulset {namespace}/{name}",
                lambda: self._apps().read_namespaced_stateful_set(name, namespace, _request_timeout=self._timeout),
            )
        except KubeError as e:
            if e.status == 404:
                return None
            raise
        status = sts.status
        strategy = (sts.spec.update_strategy and sts.spec.update_strategy.type) or "RollingUpdate"
        return StatefulSetInfo(
            generation=int(sts.metadata.generation or 0),
            observed_generation=int((status and status.observed_generation) or 0),
            update_revision=str((status and status.update_revision) or ""),
            replicas=int(sts.spec.replicas or 0),
            update_strategy=str(strategy),
            deleting=sts.metadata.deletion_timestamp is not None,
        )

    def delete_statefulset_orphan(self, namespace: str, name: str) -> None:
        body = client.V1DeleteOptions(propagation_policy="Orphan")
        try:
            self._translate(
                f"delete statefulset {namespace}/{name} (orphan)",
                lambda: self._apps().delete_namespaced_stateful_set(
                    name, namespace, body=body, _request_timeout=self._timeout
                ),
            )
        except KubeError as e:
            if e.status != 404:
                raise

    def list_pvc_states(self, namespace: str, statefulset: str, templates: list[str]) -> list[PvcState]:
        found = []
        for pvc, template, ordinal in self._statefulset_pvcs(namespace, statefulset, templates):
            if pvc.metadata.deletion_timestamp is not None:
                continue
            requests = (pvc.spec.resources and pvc.spec.resources.requests) or {}
            capacity = (pvc.status and pvc.status.capacity) or {}
            conditions = tuple(c.type for c in (pvc.status and pvc.status.conditions) or [] if c.status == "True")
            found.append(
                PvcState(
                    pvc.metadata.name,
                    template,
                    ordinal,
                    str(requests.get("storage", "")),
                    str(capacity.get("storage", "")),
                    str(pvc.spec.storage_class_name or ""),
                    conditions,
                )
            )
        return found

    def resize_pvc(self, namespace: str, name: str, size: str) -> None:
        patch = {"spec": {"resources": {"requests": {"storage": size}}}}
        self._call(
            f"resize persistentvolumeclaim {namespace}/{name} to {size}",
            lambda api: api.patch_namespaced_persistent_volume_claim(
                name, namespace, patch, _request_timeout=self._timeout
            ),
        )

    def storage_class_expands(self, name: str) -> bool | None:
        storage = client.StorageV1Api(self._api().api_client)
        try:
            if name:
                classes = [
                    self._translate(
                        f"read storageclass {name}",
                        lambda: storage.read_storage_class(name, _request_timeout=self._timeout),
                    )
                ]
            else:
                listed = self._translate(
                    "list storageclasses", lambda: storage.list_storage_class(_request_timeout=self._timeout)
                )
                classes = [c for c in listed.items if _is_default(c)]
        except KubeError:
            return None  # missing, or the kubeconfig may not read cluster-scoped objects: not known
        if len(classes) != 1:
            return None
        return bool(classes[0].allow_volume_expansion)

    def _apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self._api().api_client)


def _is_default(storage_class: Any) -> bool:
    annotations = (storage_class.metadata and storage_class.metadata.annotations) or {}
    return str(annotations.get(DEFAULT_CLASS_ANNOTATION, "")).lower() == "true"
