"""The TDengine simulator bound to the real pods of a real control plane: the kubelet's part of the story.

kwok makes the StatefulSet's pods Running, but runs no container. `SimKubelet` watches the API server and
does what the container would: when a pod is Running, its taosd starts in the simulator on the data dir of
its PVC (`taosdata-<pod>`, identified by the PVC's uid, so a deleted and recreated PVC is a fresh, empty
volume); the image's entrypoint joins a fresh non-first dnode (`tests/sim/entrypoint.py`); when the pod is
deleted, its taosd stops; when the PVC is deleted, its data dir is gone. Each pod's taosAdapter is a relay to
the simulator's REST server that exists while the pod's taosd runs, so a port-forward through the real API
server to a pod whose taosd is down fails, as it would.

What only Kubernetes can do wrong is recorded as a data-safety violation in the simulator, as its fake
Kubernetes does: a pod that the StatefulSet removes (ordinal >= spec.replicas) while its dnode holds vnodes,
and a PVC deleted while its dnode is still in the cluster (unless the StatefulSet itself is gone: a
destroy with deleteDataOnDestroy).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client, config

from components.tdengine.naming import pod_ordinal
from tests.sim import SimCluster, ops
from tests.sim.entrypoint import Entrypoint
from tests.sim.forward import Relay
from tests.sim.model import DataDir, Taosd

POLL = 0.1
DEFAULT_PASSWORD = "taosdata"


@dataclass(eq=False)
class _Running:
    pod: str
    uid: str
    proc: Taosd
    relay: Relay


@dataclass
class SimKubelet:
    sim: SimCluster
    kubeconfig: str
    namespace: str
    statefulset: str
    data_template: str = "taosdata"
    on_adapter: Callable[[str, int | None], None] | None = None
    """Called with (pod, relay port) when a pod's taosAdapter comes up, and (pod, None) when it goes."""
    errors: list[str] = field(default_factory=list)
    _running: dict[str, _Running] = field(default_factory=dict)
    _data: dict[str, DataDir] = field(default_factory=dict)
    """PVC uid -> its data dir."""
    _pvc_names: dict[str, str] = field(default_factory=dict)
    _password_set: set[str] = field(default_factory=set)
    """PVC uids whose data dir had the entrypoint's one-time root password change."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> SimKubelet:
        api_client = config.new_client_from_config(self.kubeconfig, persist_config=False)
        self._core = client.CoreV1Api(api_client)
        self._apps = client.AppsV1Api(api_client)
        self._entrypoint = Entrypoint(self.sim.cluster, self.sim._scheduler)
        self._thread = threading.Thread(target=self._loop, name="sim-kubelet", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for running in list(self._running.values()):
            self._stop_pod(running)

    def adapter_port(self, pod: str) -> int | None:
        running = self._running.get(pod)
        return int(running.relay.url.rsplit(":", 1)[1]) if running is not None else None

    # -- the loop ------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(POLL):
            try:
                self._sync()
            except Exception as e:  # the API server restarting, a test tearing down: try again
                if len(self.errors) < 100:
                    self.errors.append(f"{type(e).__name__}: {e}")

    def _sync(self) -> None:
        pods = self._core.list_namespaced_pod(self.namespace, _request_timeout=10).items
        pvcs = self._core.list_namespaced_persistent_volume_claim(self.namespace, _request_timeout=10).items
        replicas = self._replicas()
        live_pvcs = {p.metadata.uid: p.metadata.name for p in pvcs if p.metadata.deletion_timestamp is None}
        mine = {p.metadata.name: p for p in pods if pod_ordinal(p.metadata.name, self.statefulset) is not None}

        for name, running in list(self._running.items()):
            pod = mine.get(name)
            if pod is None or pod.metadata.uid != running.uid or pod.metadata.deletion_timestamp is not None:
                self._check_removal(name, replicas)
                self._stop_pod(running)
        for uid in [u for u in self._data if u not in live_pvcs]:
            self._pvc_gone(uid, replicas)
        self._pvc_names = live_pvcs
        for name, pod in sorted(mine.items()):
            if name in self._running or pod.metadata.deletion_timestamp is not None:
                continue
            if (pod.status.phase or "") != "Running":
                continue
            claim = f"{self.data_template}-{name}"
            uid = next((u for u, n in live_pvcs.items() if n == claim), None)
            if uid is not None:
                self._start_pod(name, pod.metadata.uid, uid, self._root_password(pod))

    def _replicas(self) -> int | None:
        """spec.replicas of the StatefulSet, None when it does not exist."""
        try:
            sts = self._apps.read_namespaced_stateful_set(self.statefulset, self.namespace, _request_timeout=10)
        except client.ApiException as e:
            if e.status == 404:
                return None
            raise
        return int(sts.spec.replicas or 0)

    def _root_password(self, pod: Any) -> str:
        """The pod's TAOS_ROOT_PASSWORD (from its Secret), or the image's default when it has none."""
        env = next((e for e in pod.spec.containers[0].env or [] if e.name == "TAOS_ROOT_PASSWORD"), None)
        if env is None:
            return DEFAULT_PASSWORD
        if env.value is not None:
            return str(env.value)
        ref = env.value_from.secret_key_ref
        secret = self._core.read_namespaced_secret(ref.name, self.namespace, _request_timeout=10)
        return base64.b64decode((secret.data or {})[ref.key]).decode()

    def _start_pod(self, name: str, uid: str, pvc_uid: str, password: str) -> None:
        cluster = self.sim.cluster
        data = self._data.get(pvc_uid)
        if data is None:
            data = self._data[pvc_uid] = cluster.new_data_dir()
        ordinal = pod_ordinal(name, self.statefulset)
        assert ordinal is not None
        endpoint = self.sim.endpoint(ordinal)
        with cluster.lock:
            fresh = data.dnode_id is None and not data.dropped
        proc = cluster.start_taosd(endpoint, data, first_ep=ordinal == 0)
        if ordinal == 0 and pvc_uid not in self._password_set:
            # The image (3.3.6.6+) on firstEp: ALTER USER root PASS '$TAOS_ROOT_PASSWORD' once per data dir.
            self._password_set.add(pvc_uid)
            if password != DEFAULT_PASSWORD and fresh:
                ops.alter_password(cluster, "root", password)
        relay = Relay(_address(self.sim.url))
        running = _Running(name, uid, proc, relay)
        self._running[name] = running
        if ordinal > 0 and fresh:
            self._entrypoint.started(
                endpoint, lambda: self._running.get(name) is running and proc.running, password=password
            )
        if self.on_adapter is not None:
            self.on_adapter(name, self.adapter_port(name))

    def _stop_pod(self, running: _Running) -> None:
        self._running.pop(running.pod, None)
        running.relay.close()
        self.sim.cluster.stop_taosd(running.proc)
        if self.on_adapter is not None:
            self.on_adapter(running.pod, None)

    def _check_removal(self, name: str, replicas: int | None) -> None:
        ordinal = pod_ordinal(name, self.statefulset)
        if replicas is None or ordinal is None or ordinal < replicas:
            return  # a restart, a failover test, or the whole StatefulSet deleted: no dnode leaves
        cluster = self.sim.cluster
        with cluster.lock:
            d = cluster.dnode_by_endpoint(self.sim.endpoint(ordinal))
            vnodes = cluster.vnodes_of(d.id) if d is not None else 0
        if d is not None and vnodes > 0:
            cluster.violation(f"pod {name} removed (replicas {replicas}) while its dnode {d.id} holds {vnodes} vnodes")

    def _pvc_gone(self, uid: str, replicas: int | None) -> None:
        data = self._data.pop(uid)
        cluster = self.sim.cluster
        with cluster.lock:
            d = cluster.dnodes.get(data.dnode_id) if data.dnode_id is not None else None
        if d is not None and replicas is not None:
            name = self._pvc_names.get(uid, uid)
            cluster.violation(
                f"PVC {name} deleted while dnode {d.id} ({d.endpoint}), whose data is on it, is in the cluster"
            )


def _address(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").rpartition(":")
    return host, int(port)


def snapshot_pods(kubelet: SimKubelet) -> dict[str, Any]:
    """Which pods have a running taosd, for assertions."""
    return {name: r.uid for name, r in kubelet._running.items()}
