"""A fake Kubernetes for one StatefulSet: pods, PVCs (with the taosd data dir on them), port-forward.

Implements `components.tdengine.kube_types.KubeOps` in memory and adds the controls a test needs
(`scale`, `crash_pod`, `restart_pod`, `relay_forwards`, `cut_forwards`), and `kube_types.PodOps` for
`verify`: `exec_in_pod` (taosBenchmark, see bench.py) and `delete_pod` (the StatefulSet recreates the pod
on its PVC after `terminate_seconds`). It also records the data-safety
violations only Kubernetes can commit: removing a pod whose dnode still holds vnodes (the seed's "common
error 1") and deleting the PVC of a dnode that is still in the cluster.

Over 300 lines: one fake Kubernetes, with the test controls and the violations it alone can see.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from components.tdengine.errors import KubeError
from components.tdengine.kube_types import ExecResult, PodInfo, PvcInfo
from components.tdengine.naming import pod_ordinal, pvc_ordinal
from tests.sim import bench
from tests.sim.clock import Scheduler
from tests.sim.entrypoint import Entrypoint
from tests.sim.forward import Relay
from tests.sim.model import Cluster, DataDir, Taosd
from tests.sim.workload import WorkloadMixin


class PodNotReady(RuntimeError):
    """port_forward to a pod that does not exist or is not Ready (kubectl fails the same way)."""


@dataclass(eq=False)
class _Pod:
    ordinal: int
    proc: Taosd | None = None
    started_once: bool = False
    deleting: bool = False
    crashed: bool = False
    generation: int = 0
    uid: str = ""
    revision: str = ""


@dataclass(eq=False)
class _Pvc:
    template: str
    ordinal: int
    data: DataDir | None = None
    deleting: bool = False
    name: str = field(default="")


class FakeKube(WorkloadMixin):
    """StatefulSet controller + kubelet + API server, reduced to what membership decisions see (and, in
    `workload.py`, what a day-2 change sees: the StatefulSet object, pod revisions, PVC sizes)."""

    def __init__(self, cluster: Cluster, scheduler: Scheduler, url: str) -> None:
        self._c = cluster
        self._cfg = cluster.cfg
        self._sched = scheduler
        self._rng = random.Random(cluster.cfg.seed)
        self._pods: dict[int, _Pod] = {}
        self._entrypoint = Entrypoint(cluster, scheduler)
        self._created = 0
        """Pods created so far: each gets a new uid, as the API server gives a recreated pod."""
        self._pvcs: dict[str, _Pvc] = {}
        self.replicas = 0
        self.destroyed = False
        """Set by `delete_statefulset` until the next scale-up."""
        self.url = url
        self.forwards: list[str] = []
        """The pod of every port-forward opened, in order."""
        self._relay = False
        self._relays: list[Relay] = []
        self.terminate_seconds = 2 * cluster.cfg.pod_start_seconds
        """`delete_pod`: how long a deleted pod stays Terminating before the controller replaces it."""
        self.secrets: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
        """(namespace, name) -> {"data": ..., "labels": ...} of the Secrets the provider wrote."""
        self.execs: list[tuple[str, list[str]]] = []
        """(pod, command) of every exec, in order (stdin is not kept: it carries the password)."""
        templates = self._cfg.templates
        self._data_template = "taosdata" if "taosdata" in templates else templates[0]
        self._init_workload()

    # -- KubeOps ---------------------------------------------------------------------------------------
    def list_pods(self, namespace: str, statefulset: str) -> list[PodInfo]:
        if (namespace, statefulset) != (self._cfg.namespace, self._cfg.statefulset):
            return []
        return self.pods()

    def list_pvcs(self, namespace: str, statefulset: str, templates: list[str]) -> list[PvcInfo]:
        if (namespace, statefulset) != (self._cfg.namespace, self._cfg.statefulset):
            return []
        with self._c.lock:
            out = []
            for name in self._pvcs:
                parsed = pvc_ordinal(name, statefulset, list(templates))
                if parsed is not None:
                    out.append(PvcInfo(name, parsed[0], parsed[1]))
        return sorted(out, key=lambda p: (p.ordinal, p.template))

    def delete_pvc(self, namespace: str, name: str) -> None:
        if namespace != self._cfg.namespace:
            return
        with self._c.lock:
            pvc = self._pvcs.get(name)
            if pvc is None or pvc.deleting:
                return
            data = pvc.data
            d = self._c.dnodes.get(data.dnode_id) if data is not None and data.dnode_id is not None else None
            if d is not None and not (self.destroyed and not self._pods):
                self._c.violation(
                    f"PVC {name} deleted while dnode {d.id} ({d.endpoint}), whose data is on it, is still in ins_dnodes"
                )
            if pvc.ordinal in self._pods:
                pvc.deleting = True  # kubernetes.io/pvc-protection: gone once the pod is gone
            else:
                del self._pvcs[name]
                self._forget_pvc(name)

    def port_forward(self, namespace: str, pod: str, port: int) -> AbstractContextManager[str]:
        return self._forward(namespace, pod)

    @contextlib.contextmanager
    def _forward(self, namespace: str, pod: str) -> Iterator[str]:
        ready = {p.name: p.ready for p in self.list_pods(namespace, self._cfg.statefulset)}
        if pod not in ready:
            raise PodNotReady(f'pods "{pod}" not found in namespace {namespace!r}')
        if not ready[pod]:
            raise PodNotReady(f"unable to forward port: pod {pod} is not ready")
        self.forwards.append(pod)
        if not self._relay:
            yield self.url
            return
        host, _, port = self.url.removeprefix("http://").rpartition(":")
        relay = Relay((host, int(port)))
        self._relays.append(relay)
        try:
            yield relay.url
        finally:
            relay.close()
            self._relays.remove(relay)

    def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        with self._c.lock:
            found = self.secrets.get((namespace, name))
            return dict(found["data"]) if found is not None else None

    def write_secret(self, namespace: str, name: str, data: dict[str, str], labels: dict[str, str]) -> None:
        with self._c.lock:
            self.secrets[(namespace, name)] = {"data": dict(data), "labels": dict(labels)}

    def delete_secret(self, namespace: str, name: str) -> None:
        with self._c.lock:
            self.secrets.pop((namespace, name), None)

    # -- PodOps ---------------------------------------------------------------------------------------
    def exec_in_pod(
        self, namespace: str, pod: str, command: list[str], stdin: str = "", timeout: float = 600.0
    ) -> ExecResult:
        action = f"exec in pod {namespace}/{pod}"
        with self._c.lock:
            found = self._find(namespace, pod, action)
            if found.proc is None or not found.proc.running or found.deleting:
                raise KubeError(action, 400, f'container "tdengine" in pod "{pod}" is not running')
            self.execs.append((pod, list(command)))
        code, out, err = bench.run_in_pod(self._c, command, stdin)
        return ExecResult(code, out, err)

    def delete_pod(self, namespace: str, name: str) -> None:
        """`kubectl delete pod` (no --wait): taosd stops now, the pod is Terminating, and the StatefulSet
        controller creates it again, on the same PVC, `terminate_seconds` later."""
        with self._c.lock:
            pod = self._find(namespace, name, f"delete pod {namespace}/{name}")
            if pod.deleting:
                return
            self.restarts.append(name)
            pod.deleting = True
            if pod.proc is not None:
                self._c.stop_taosd(pod.proc)
        self._sched.call_later(self.terminate_seconds, lambda: self._gone(pod))

    def _find(self, namespace: str, name: str, action: str) -> _Pod:
        ordinal = pod_ordinal(name, self._cfg.statefulset) if namespace == self._cfg.namespace else None
        pod = self._pods.get(ordinal) if ordinal is not None else None
        if pod is None:
            raise KubeError(action, 404, f'pods "{name}" not found')
        return pod

    # -- test controls -----------------------------------------------------------------------------
    def relay_forwards(self, on: bool = True) -> None:
        """Port-forwards opened from now on get a local port of their own (a relay) that `cut_forwards` kills."""
        self._relay = on

    def cut_forwards(self) -> None:
        """Every open relayed port-forward dies now, as when kubectl's forward is lost: requests in flight
        are cut (the server keeps running them) and its local port refuses connections."""
        for relay in list(self._relays):
            relay.close()

    def pods(self) -> list[PodInfo]:
        with self._c.lock:
            return [self._info(p) for _, p in sorted(self._pods.items())]

    def pvcs(self) -> list[PvcInfo]:
        return self.list_pvcs(self._cfg.namespace, self._cfg.statefulset, list(self._cfg.templates))

    def delete_statefulset(self) -> None:
        """`pulumi destroy`: the StatefulSet is deleted and every pod with it, at once. Not a scale-in: no dnode
        leaves the cluster, the whole cluster stops, so neither this nor a later deletion of all its PVCs
        (deleteDataOnDestroy) is a data-safety violation."""
        with self._c.lock:
            self.destroyed = True
            self.sts_exists = False
        self.scale(0)

    def scale(self, replicas: int) -> None:
        """What the StatefulSet controller does (Parallel policy): remove from the top, add missing."""
        with self._c.lock:
            if replicas > 0:
                if self.destroyed:  # the StatefulSet created again by the next `up`
                    self.sts_exists = True
                self.destroyed = False
            self.replicas = replicas
            for o in sorted((o for o in self._pods if o >= replicas), reverse=True):
                self._delete_pod(self._pods[o])
            new = [o for o in range(replicas) if o not in self._pods]
            self._rng.shuffle(new)
            for i, o in enumerate(new):
                self._create_pod(o, self._cfg.pod_start_seconds + 0.002 * i)

    def crash_pod(self, ordinal: int) -> None:
        """taosd dies and stays down (CrashLoopBackOff) until `restart_pod`."""
        with self._c.lock:
            pod = self._pods[ordinal]
            pod.crashed = True
            if pod.proc is not None:
                self._c.stop_taosd(pod.proc)

    def restart_pod(self, ordinal: int) -> None:
        """The container restarts on the same PVC; taosd is up after pod_start_seconds."""
        with self._c.lock:
            pod = self._pods[ordinal]
            pod.crashed = False
            if pod.proc is not None:
                self._c.stop_taosd(pod.proc)
            pod.proc = None
            pod.generation += 1
            gen = pod.generation
        self._sched.call_later(self._cfg.pod_start_seconds, lambda: self._start(pod, gen))

    # -- internals ----------------------------------------------------------------------------------
    def _info(self, p: _Pod) -> PodInfo:
        running = p.proc is not None and p.proc.running
        ready = running and not p.deleting and not p.crashed and p.proc is not None and not p.proc.crashloop
        phase = "Running" if p.started_once else "Pending"
        reason = "CrashLoopBackOff" if p.crashed and p.started_once else ""
        started = p.proc.started_at if p.proc is not None else 0.0
        name = f"{self._cfg.statefulset}-{p.ordinal}"
        return PodInfo(name, p.ordinal, ready, phase, p.deleting, p.uid, p.revision, reason, started)

    def _create_pod(self, ordinal: int, delay: float) -> None:
        for template in self._cfg.templates:
            name = f"{template}-{self._cfg.statefulset}-{ordinal}"
            if name not in self._pvcs:
                data = self._c.new_data_dir() if template == self._data_template else None
                self._pvcs[name] = _Pvc(template, ordinal, data, name=name)
                self._new_pvc(name, template)
        self._created += 1
        revision = self.update_revision
        pod = _Pod(ordinal, uid=f"{self._cfg.statefulset}-{ordinal}-{self._created:06d}", revision=revision)
        pod.crashed = revision in self.broken_revisions or ordinal in self.crash_once
        self.crash_once.discard(ordinal)
        self._pods[ordinal] = pod
        self._sched.call_later(delay, lambda: self._start(pod, 0))

    def _start(self, pod: _Pod, generation: int) -> None:
        with self._c.lock:
            if self._pods.get(pod.ordinal) is not pod or pod.deleting or pod.generation != generation:
                return
            data = self._pvcs[f"{self._data_template}-{self._cfg.statefulset}-{pod.ordinal}"].data
            assert data is not None
            endpoint = self._cfg.endpoint(pod.ordinal)
            fresh = data.dnode_id is None and not data.dropped
            pod.proc = self._c.start_taosd(endpoint, data, first_ep=pod.ordinal == 0)
            pod.started_once = True
            if pod.crashed:
                self._c.stop_taosd(pod.proc)
            elif self._cfg.auto_join and pod.ordinal > 0 and fresh:
                self._entrypoint.started(endpoint, lambda: self._runs(pod, generation))

    def _runs(self, pod: _Pod, generation: int) -> bool:
        with self._c.lock:
            current = self._pods.get(pod.ordinal) is pod and pod.generation == generation
            return current and pod.proc is not None and pod.proc.running

    def _delete_pod(self, pod: _Pod) -> None:
        if pod.deleting:
            return
        endpoint = self._cfg.endpoint(pod.ordinal)
        d = self._c.dnode_by_endpoint(endpoint)
        if d is not None and not self.destroyed:
            vnodes = self._c.vnodes_of(d.id)
            if vnodes > 0:
                self._c.violation(
                    f"pod {self._cfg.statefulset}-{pod.ordinal} removed while its dnode {d.id} ({endpoint}) "
                    f"still holds {vnodes} vnodes (status {self._c.dnode_status(d, self._c.refresh())[0]})"
                )
        pod.deleting = True
        if pod.proc is not None:
            self._c.stop_taosd(pod.proc)
        self._sched.call_later(self._cfg.pod_start_seconds, lambda: self._gone(pod))

    def _gone(self, pod: _Pod) -> None:
        with self._c.lock:
            if self._pods.get(pod.ordinal) is not pod:
                return
            del self._pods[pod.ordinal]
            for name in [n for n, v in self._pvcs.items() if v.ordinal == pod.ordinal and v.deleting]:
                del self._pvcs[name]
                self._forget_pvc(name)
            if pod.ordinal < self.replicas and self.sts_exists:  # scaled back up while this pod was terminating
                self._create_pod(pod.ordinal, self._cfg.pod_start_seconds)
