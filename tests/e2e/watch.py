"""A watcher on the real API server: every change of the StatefulSet's `spec.replicas`, every pod deletion and
every PVC deletion, each checked against the cluster's `show dnodes` at the moment the API server reported it
(real TDengine on the real node, or the simulator).

At a scale-in (replicas going down) and at the deletion of a pod the StatefulSet no longer wants, no departing
pod's dnode may still be in `show dnodes`: the provider must have dropped it before the StatefulSet shrank. No
PVC may be deleted while its pod's dnode is in the cluster (unless the StatefulSet itself is gone: a destroy
with deleteDataOnDestroy). A moment whose `show dnodes` cannot be read is a violation too: nothing unjudged.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubernetes import client, config, watch

from components.tdengine.naming import pod_ordinal


class DnodeView(Protocol):
    def dnodes(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Event:
    what: str
    """`replicas 4 -> 3` or `pod tdengine-3 deleted`."""
    departing: tuple[str, ...]
    still_in_cluster: tuple[str, ...]
    """Departing pods whose dnode was in the cluster at that moment: must be empty."""


@dataclass
class ApiWatcher:
    sim: DnodeView
    kubeconfig: str
    namespace: str
    statefulset: str
    events: list[Event] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _replicas: int | None = None
    _pods_version: str | None = None
    """Where the pod watch goes on from: a pod created and deleted between two watch calls is still seen."""
    _pods_seen: set[str] = field(default_factory=set)
    _pvcs_seen: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> ApiWatcher:
        api = config.new_client_from_config(self.kubeconfig, persist_config=False)
        self._apps, self._core = client.AppsV1Api(api), client.CoreV1Api(api)
        for target in (self._watch_statefulset, self._watch_pods, self._watch_pvcs):
            thread = threading.Thread(target=self._forever, args=(target,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def violations(self) -> list[Event]:
        return [e for e in self.events if e.still_in_cluster]

    def _forever(self, target: Any) -> None:
        while not self._stop.is_set():
            try:
                target()
            except Exception as e:  # a watch that timed out or a server restart: watch again
                if len(self.errors) < 50:
                    self.errors.append(f"{type(e).__name__}: {e}")

    def _watch_statefulset(self) -> None:
        stream = watch.Watch().stream(
            self._apps.list_namespaced_stateful_set,
            self.namespace,
            field_selector=f"metadata.name={self.statefulset}",
            timeout_seconds=2,
        )
        for event in stream:
            if self._stop.is_set():
                return
            sts = event["object"]
            replicas = None if event["type"] == "DELETED" else int(sts.spec.replicas or 0)
            old, self._replicas = self._replicas, replicas
            if old is not None and replicas is not None and replicas < old:
                pods = tuple(f"{self.statefulset}-{o}" for o in range(replicas, old))
                self._record(f"replicas {old} -> {replicas}", pods)

    def _watch_pods(self) -> None:
        more = {"resource_version": self._pods_version} if self._pods_version else {}
        stream = watch.Watch().stream(self._core.list_namespaced_pod, self.namespace, timeout_seconds=2, **more)
        try:
            for event in stream:
                if self._stop.is_set():
                    return
                if event["type"] == "ERROR":  # e.g. 410 Gone as an event: list again
                    self._pods_version = None
                    return
                pod = event["object"]
                self._pods_version = pod.metadata.resource_version
                deleting = event["type"] == "DELETED" or pod.metadata.deletion_timestamp is not None
                if deleting and pod.metadata.uid not in self._pods_seen:
                    self._pods_seen.add(pod.metadata.uid)
                    self._pod_deleted(pod.metadata.name)
        except client.ApiException as e:
            if e.status == 410:  # the version is too old to go on from: list again
                self._pods_version = None
            raise

    def _watch_pvcs(self) -> None:
        stream = watch.Watch().stream(
            self._core.list_namespaced_persistent_volume_claim, self.namespace, timeout_seconds=2
        )
        for event in stream:
            if self._stop.is_set():
                return
            pvc = event["object"]
            if event["type"] == "ERROR" or pvc.metadata.deletion_timestamp is None:
                continue
            if pvc.metadata.uid in self._pvcs_seen:
                continue
            self._pvcs_seen.add(pvc.metadata.uid)
            pod = pvc.metadata.name.split("-", 1)[-1]
            if pod_ordinal(pod, self.statefulset) is None:
                continue
            try:
                self._apps.read_namespaced_stateful_set(self.statefulset, self.namespace)
            except client.ApiException as e:
                if e.status == 404:
                    continue  # the StatefulSet is gone: a destroy that deletes the data
                raise
            self._record(f"PVC {pvc.metadata.name} deleted", (pod,))

    def _pod_deleted(self, name: str) -> None:
        """Recorded when the StatefulSet no longer wants the pod, by the replicas the StatefulSet watch saw last
        or by the StatefulSet read now: each watch runs in its own thread, so either may lag the other."""
        ordinal = pod_ordinal(name, self.statefulset)
        if ordinal is None:
            return
        try:
            live: int | None = self._apps.read_namespaced_stateful_set(self.statefulset, self.namespace).spec.replicas
        except client.ApiException as e:
            if e.status != 404:
                raise
            live = None  # the StatefulSet itself deleted (a destroy): no scale-in
        wanted = [r for r in (self._replicas, live) if r is not None]
        if wanted and ordinal >= min(wanted):
            self._record(f"pod {name} deleted", (name,))

    def _record(self, what: str, departing: tuple[str, ...]) -> None:
        try:
            in_cluster = {d["endpoint"].split(".", 1)[0] for d in self.sim.dnodes()}
        except Exception as e:  # show dnodes unreadable at that moment: unjudged is not safe
            self.events.append(Event(what, departing, tuple(f"{p} (show dnodes failed: {e})" for p in departing)))
            return
        self.events.append(Event(what, departing, tuple(p for p in departing if p in in_cluster)))
