"""A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, and kwok for the nodes and pods (no container runtime).

Built by `scripts/e2e-tools` into `.e2e/bin`. The StatefulSet controller, the PV binder and the namespace
controller are kube-controller-manager's own; kwok makes scheduled pods Running and Ready, and serves the
kubelet API of its nodes (port-forward, exec). The harness adds what a cloud would: nodes in three zones, a
`standard` StorageClass and a pool of PersistentVolumes, which it makes Available again after their claim is
deleted (an administrator's recycle), so a re-added pod gets a fresh volume.

Everything listens on 127.0.0.1; every process is ended by its pid (`procs.Proc`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.rollout.shape import quantity_bytes
from tests.e2e.procs import Proc, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(os.environ.get("E2E_DIR", ROOT / ".e2e"))
BIN = E2E_DIR / "bin"
CONTROL_PLANE_TOOLS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok")
ZONES = ("zone-a", "zone-b", "zone-c")
TOKEN = "e2e-admin-token"
"""The static bearer token of the harness' one user (group system:masters), in the kubeconfig it writes."""
SERVICE_CIDR = "10.96.0.0/16"
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["ResponseStarted", "ResponseComplete", "Panic"],
    "rules": [
        {"level": "Metadata", "resources": [{"group": "", "resources": ["pods/portforward", "pods/exec"]}]},
        {"level": "None"},
    ],
}
"""The API server records every port-forward and exec into a pod (the only ways the program reaches TDengine)."""


class ToolsMissing(RuntimeError):
    """A binary of the toolchain is not built: the message says which and the command that builds it."""


def require_tools(names: tuple[str, ...] = CONTROL_PLANE_TOOLS) -> None:
    missing = [n for n in names if not (BIN / n).is_file()]
    if missing:
        raise ToolsMissing(
            f"the end-to-end toolchain is not built: missing {', '.join(missing)} in {BIN}. "
            "Build it once with: scripts/e2e-tools (see README, 'Tests')"
        )


def is_ready(obj: dict[str, Any]) -> bool:
    """A node's or a pod's `Ready` condition is True (the object as `kubectl get -o json` returns it)."""
    return any(c["type"] == "Ready" and c["status"] == "True" for c in obj.get("status", {}).get("conditions") or [])


@dataclass
class ControlPlane:
    """Start with `start()`, stop with `stop()` (or use as a context manager)."""

    workdir: Path
    nodes: int = 3
    volumes: int = 12
    volume_size: str = "20Gi"
    crds: list[Path] = field(default_factory=list)
    """CustomResourceDefinitions to install before kwok starts (kwok's own, for `--enable-crds`)."""
    kwok_flags: list[str] = field(default_factory=list)
    kwok: bool = True
    """False: no kwok and no fake nodes (a real node joins instead, `node.py`)."""
    extra_tokens: list[str] = field(default_factory=list)
    """More lines of the API server's token file (a real kubelet's credentials)."""
    extra_apiserver_flags: list[str] = field(default_factory=list)
    procs: list[Proc] = field(default_factory=list)
    kubeconfig: Path = field(init=False)
    server: str = field(init=False, default="")
    _stop: threading.Event = field(init=False, default_factory=threading.Event)
    _recycler: threading.Thread | None = field(init=False, default=None)
    resized: list[str] = field(init=False, default_factory=list)
    """Every PVC the emulated external-resizer expanded: `<namespace>/<name> <old> -> <new>`."""

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = self.workdir / "kubeconfig.yaml"
        self.ca = self.workdir / "pki" / "serving" / "apiserver.crt"
        self.audit_log = self.workdir / "logs" / "audit.log"

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> ControlPlane:
        require_tools()
        try:
            self._start_etcd()
            self._start_apiserver()
            self._start_controllers()
            self._add_cluster_objects()
        except BaseException:
            self.stop()
            raise
        self._recycler = threading.Thread(target=self._recycle_volumes, name="pv-recycler", daemon=True)
        self._recycler.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for proc in reversed(self.procs):
            proc.stop()
        if self._recycler is not None:
            self._recycler.join(timeout=5)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def logs(self, lines: int = 30) -> str:
        return "\n".join(f"--- {p.name} ({p.log}):\n{p.tail(lines)}" for p in self.procs)

    # -- kubectl ---------------------------------------------------------------------------------------
    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60) -> str:
        done = subprocess.run(
            [str(BIN / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def apply(self, objects: list[dict[str, Any]]) -> None:
        self.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))

    # -- the pieces ------------------------------------------------------------------------------------
    def _proc(self, name: str, argv: list[str]) -> Proc:
        proc = Proc(name, argv, self.workdir / "logs" / f"{name}.log").start()
        self.procs.append(proc)
        return proc

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        etcd = self._proc(
            "etcd",
            [
                str(BIN / "etcd"),
                "--data-dir", str(self.workdir / "etcd"),
                "--listen-client-urls", self.etcd_url,
                "--advertise-client-urls", self.etcd_url,
                "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-cluster", f"default=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
            ],
        )  # fmt: skip
        wait_for("etcd", lambda: _http_ok(f"{self.etcd_url}/health"), 60, [etcd])

    def _start_apiserver(self) -> None:
        pki = self.workdir / "pki"
        pki.mkdir(exist_ok=True)
        key, pub = pki / "sa.key", pki / "sa.pub"
        if not key.exists():
            _openssl("genrsa", "-out", str(key), "2048")
            _openssl("rsa", "-in", str(key), "-pubout", "-out", str(pub))
        tokens = pki / "tokens.csv"
        tokens.write_text(
            "".join(f"{line}\n" for line in [f'{TOKEN},e2e-admin,e2e-admin,"system:masters"', *self.extra_tokens])
        )
        policy = pki / "audit-policy.yaml"
        policy.write_text(json.dumps(AUDIT_POLICY))
        self.audit_log.parent.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        apiserver = self._proc(
            "kube-apiserver",
            [
                str(BIN / "kube-apiserver"),
                "--etcd-servers", self.etcd_url,
                "--bind-address", "127.0.0.1",
                "--advertise-address", "127.0.0.1",
                "--secure-port", str(port),
                "--cert-dir", str(pki / "serving"),
                "--token-auth-file", str(tokens),
                "--authorization-mode", "Node,RBAC",
                "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file", str(pub),
                "--service-account-signing-key-file", str(key),
                "--service-cluster-ip-range", SERVICE_CIDR,
                "--kubelet-preferred-address-types", "InternalIP",
                "--kubelet-certificate-authority", "",
                "--allow-privileged=false",
                "--endpoint-reconciler-type", "none",
                "--enable-admission-plugins", "NodeRestriction",
                "--audit-policy-file", str(policy),
                "--audit-log-path", str(self.audit_log),
                "--audit-log-format", "json",
                *self.extra_apiserver_flags,
            ],
        )  # fmt: skip
        self.kubeconfig.write_text(_kubeconfig(self.server))  # until the API server has made its certificate
        wait_for(
            "kube-apiserver", lambda: self.kubectl("get", "--raw", "/readyz", timeout=10) == "ok", 120, [apiserver]
        )
        # Its self-signed serving certificate (and CA) from --cert-dir: clients verify TLS as against any cluster.
        self.kubeconfig.write_text(_kubeconfig(self.server, self.ca))

    def _start_controllers(self) -> None:
        kubeconfig = str(self.kubeconfig)
        kcm = self._proc(
            "kube-controller-manager",
            [
                str(BIN / "kube-controller-manager"),
                "--kubeconfig", kubeconfig,
                "--bind-address", "127.0.0.1",
                "--secure-port", "0",
                "--leader-elect=false",
                "--controllers", "*",
                "--service-account-private-key-file", str(self.workdir / "pki" / "sa.key"),
                "--root-ca-file", str(self.workdir / "pki" / "serving" / "apiserver.crt"),
                "--use-service-account-credentials=false",
            ],
        )  # fmt: skip
        scheduler = self._proc(
            "kube-scheduler",
            [
                str(BIN / "kube-scheduler"),
                "--kubeconfig", kubeconfig,
                "--bind-address", "127.0.0.1",
                "--secure-port", "0",
                "--leader-elect=false",
            ],
        )  # fmt: skip
        for crd in self.crds:
            self.kubectl("apply", "-f", str(crd))
        needed = [kcm, scheduler]
        if self.kwok:
            needed.append(self._proc("kwok", [*_kwok_argv(kubeconfig), *self.kwok_flags]))
        # The default ServiceAccount (made by kube-controller-manager) must exist before a pod is admitted.
        wait_for(
            "the default ServiceAccount",
            lambda: bool(self.get("serviceaccount", "default", "-n", "default")),
            120,
            needed,
        )

    def _add_cluster_objects(self) -> None:
        nodes = [_node(f"node-{i}", ZONES[i % len(ZONES)]) for i in range(self.nodes if self.kwok else 0)]
        storage_class = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "kubernetes.io/no-provisioner",
            "volumeBindingMode": "Immediate",
            "allowVolumeExpansion": True,
        }
        volumes = [self._volume(i) for i in range(self.volumes)]
        self.apply([*nodes, storage_class, *volumes])
        if nodes:
            wait_for("the nodes to be Ready", self._nodes_ready, 60, self.procs)

    def _volume(self, i: int) -> dict[str, Any]:
        path = self.workdir / "volumes" / f"pv-{i:02d}"
        path.mkdir(parents=True, exist_ok=True)
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"pv-{i:02d}", "labels": {"e2e.tdengine.io/pool": "standard"}},
            "spec": {
                "capacity": {"storage": self.volume_size},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "standard",
                "hostPath": {"path": str(path)},
            },
        }

    def _nodes_ready(self) -> bool:
        return len([n for n in self.get("nodes")["items"] if is_ready(n)]) == self.nodes

    def _recycle_volumes(self) -> None:
        """A Released volume (its claim deleted) becomes Available again, emptied: a fresh volume. And the part of
        a CSI driver's external-resizer (`_resize`)."""
        while not self._stop.wait(0.5):
            try:
                pvs = self.get("pv", "-l", "e2e.tdengine.io/pool=standard")["items"]
                self._resize(self.get("pvc", "--all-namespaces")["items"], {p["metadata"]["name"]: p for p in pvs})
            except Exception:  # the API server is stopping
                continue
            for pv in pvs:
                if pv["status"].get("phase") != "Released":
                    continue
                path = Path(pv["spec"]["hostPath"]["path"])
                shutil.rmtree(path, ignore_errors=True)
                path.mkdir(parents=True, exist_ok=True)
                patch = json.dumps({"spec": {"claimRef": None}})
                self.kubectl("patch", "pv", pv["metadata"]["name"], "--type", "merge", "-p", patch, check=False)

    def _resize(self, pvcs: list[dict[str, Any]], pvs: dict[str, dict[str, Any]]) -> None:
        """The external-resizer of a CSI driver, for the pool's hostPath volumes, which have none: the real
        kube-controller-manager leaves a larger PVC of them to an external controller (event `ExternalExpanding`).
        As external-resizer does for a volume that needs no node-side expansion: the PV's capacity becomes the
        request, then the PVC's `status.capacity` (its status subresource). The API server's own admission has
        already refused a larger PVC whose StorageClass does not allow expansion."""
        for pvc in pvcs:
            spec, status = pvc["spec"], pvc.get("status") or {}
            requested = spec.get("resources", {}).get("requests", {}).get("storage", "")
            capacity = status.get("capacity", {}).get("storage", "")
            pv = pvs.get(spec.get("volumeName", ""))
            if pv is None or status.get("phase") != "Bound" or not requested or not capacity:
                continue
            if quantity_bytes(requested) <= quantity_bytes(capacity):
                continue
            grow = json.dumps({"spec": {"capacity": {"storage": requested}}})
            self.kubectl("patch", "pv", pv["metadata"]["name"], "--type", "merge", "-p", grow)
            done = json.dumps({"status": {"capacity": {"storage": requested}, "conditions": None}})
            ns, name = pvc["metadata"]["namespace"], pvc["metadata"]["name"]
            self.kubectl("patch", "pvc", name, "-n", ns, "--subresource=status", "--type", "merge", "-p", done)
            self.resized.append(f"{ns}/{name} {capacity} -> {requested}")

    def subresource_calls(self, subresource: str, namespace: str) -> int:
        """How many `pods/<subresource>` requests (portforward, exec) the API server has taken in `namespace`, from
        its audit log: the program reaches TDengine only through these, so a count that stays equal over a
        `preview` proves it sent no SQL."""
        try:
            lines = self.audit_log.read_text().splitlines()
        except FileNotFoundError:
            return 0
        count = 0
        for line in lines:
            event = json.loads(line)
            ref = event.get("objectRef") or {}
            if event.get("stage") == "RequestReceived" and ref.get("subresource") == subresource:
                count += ref.get("namespace") == namespace
        return count

    def wait(self, what: str, ready: Any, timeout: float = 120) -> None:
        wait_for(what, ready, timeout, self.procs)

    def elapsed_since(self, t0: float) -> float:
        return time.monotonic() - t0


def _kubeconfig(server: str, ca: Path | None = None) -> str:
    trust = f"certificate-authority: {ca}" if ca is not None else "insecure-skip-tls-verify: true"
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: e2e\n  cluster:\n    server: {server}\n    {trust}\n"
        "contexts:\n- name: e2e\n  context:\n    cluster: e2e\n    user: e2e-admin\n"
        "current-context: e2e\n"
        f"users:\n- name: e2e-admin\n  user:\n    token: {TOKEN}\n"
    )


def _node(name: str, zone: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": zone,
                "type": "kwok",
            },
        },
        "spec": {},
        "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"}},
    }


def _kwok_argv(kubeconfig: str) -> list[str]:
    port = free_port()  # its kubelet API (port-forward, exec), which the API server dials at the node's address
    return [
        str(BIN / "kwok"),
        "--kubeconfig", kubeconfig,
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
        "--node-ip", "127.0.0.1",
        "--node-port", str(port),
        "--server-address", f"127.0.0.1:{port}",
        "--config", str(E2E_DIR / "share" / "kwok" / "stages.yaml"),
    ]  # fmt: skip


def _openssl(*args: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ToolsMissing("openssl is needed for the control plane's service-account key: apt-get install openssl")
    subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)


def _http_ok(url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(url, timeout=2) as r:
        return bool(r.status == 200)
