"""A real Kubernetes node beside the control plane: containerd, runc, kubelet, the CNI bridge and CoreDNS, running
real pods from the images `scripts/e2e-tools` builds (TDengine 3.3.7.5 with TDengine's own entrypoint).

Every setting that mattered on this machine kind (`shared/reference/real-node.md`), and why:
- containerd config `version = 3`, state, root, the runc root and the pods' network namespaces under this run's
  work directory; `restrict_oom_score_adj` because root here lacks CAP_SYS_RESOURCE (runc fails writing a
  pod's oom_score_adj otherwise); the CRI streaming server (exec, port-forward) on 127.0.0.1.
- kubelet on cgroup v1 (`failCgroupV1: false`, `cgroupDriver: cgroupfs`), every pod under a cgroup root of this
  run's own (`/tde2e-<id>`, so teardown knows what is ours), listening only on the bridge's address (its node IP:
  kubelet refuses a loopback one; the API server dials it there for exec, logs and port-forward), client certificates
  of a CA of this run for the API server's calls (exec, logs, port-forward), its own credentials a token of
  `system:node:<name>` in `system:nodes` (the Node authorizer and NodeRestriction apply).
- A bridge of this run's own on a free private /24, the CNI `bridge` plugin with `isGateway: false` and
  `host-local` IPAM, and no iptables rule at all (no masquerade, no kube-proxy): pod IPs exist only on this
  machine, pods reach each other and the bridge address. ClusterIP Services do not route; the headless
  Service's per-pod names do, through CoreDNS bound to the bridge address.

Teardown ends everything by what this run recorded in `/run/tdengine-e2e/<id>.json`: the pods' processes (by
their cgroups), the shims, containerd, kubelet and CoreDNS (by pid, and by their command lines naming the work
directory), every mount under the work directory, the bridge, the cgroups. A run killed before its teardown
is cleaned up by the next `RealNode.start` (or `python -m tests.e2e.node down`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.controlplane import BIN, E2E_DIR, ControlPlane, ToolsMissing, is_ready
from tests.e2e.procs import Proc, free_port, wait_for

CNI_BIN = E2E_DIR / "cni" / "bin"
IMAGES = E2E_DIR / "images"
NODE_TOOLS = ("kubelet", "containerd", "ctr", "containerd-shim-runc-v2", "coredns")
RUNS = Path("/run/tdengine-e2e")
"""One record per running node: what its teardown (or the next run's clean-up) must remove."""
CGROUP = Path("/sys/fs/cgroup")
PAUSE_IMAGE = "registry.k8s.io/pause:e2e"
TDENGINE_REPOSITORY = "docker.io/tdengine/tdengine"
"""The local TDengine image is imported under the official name, so the program's default image runs as it is
(`imagePullPolicy: IfNotPresent` finds it and pulls nothing)."""
NODE_NAME = "e2e-node"


def require_node_tools() -> None:
    missing = [n for n in NODE_TOOLS if not (BIN / n).is_file()]
    missing += [p for p in ("bridge", "host-local", "loopback") if not (CNI_BIN / p).is_file()]
    missing += [i for i in ("pause.tar", "tdengine.tar") if not (IMAGES / i).is_file()]
    if missing:
        raise ToolsMissing(f"the real node is not built: missing {', '.join(missing)}: run scripts/e2e-tools")
    for tool in ("runc", "ip", "openssl"):
        if shutil.which(tool) is None:
            raise ToolsMissing(f"{tool} is needed for the real node: apt-get install runc iproute2 openssl")


@dataclass
class NodePki:
    """A CA of this run's own: the kubelet trusts it for client certificates, the API server presents one."""

    dir: Path

    def make(self) -> NodePki:
        self.dir.mkdir(parents=True, exist_ok=True)
        if not self.client_cert.exists():
            _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=e2e-node-ca",
                     "-keyout", str(self.ca_key), "-out", str(self.ca_cert))  # fmt: skip
            csr = self.dir / "client.csr"
            _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/O=system:masters/CN=kube-apiserver",
                     "-keyout", str(self.client_key), "-out", str(csr))  # fmt: skip
            _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.ca_cert), "-CAkey", str(self.ca_key),
                     "-CAcreateserial", "-days", "2", "-out", str(self.client_cert))  # fmt: skip
        return self

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def client_cert(self) -> Path:
        return self.dir / "apiserver-kubelet-client.crt"

    @property
    def client_key(self) -> Path:
        return self.dir / "apiserver-kubelet-client.key"

    def apiserver_flags(self) -> list[str]:
        return ["--kubelet-client-certificate", str(self.client_cert), "--kubelet-client-key", str(self.client_key)]


@dataclass
class RealNode:
    """Start with `start()` once the control plane runs (its API server given `pki.apiserver_flags()` and the
    node's token), stop with `stop()`."""

    workdir: Path
    plane: ControlPlane
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    id: str = field(default_factory=lambda: secrets.token_hex(3))
    procs: list[Proc] = field(default_factory=list)
    subnet: ipaddress.IPv4Network = field(init=False)
    gateway: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pki = NodePki(self.workdir / "pki")
        self.bridge = f"tde2e{self.id}"
        self.cgroup_root = f"tde2e-{self.id}"
        self.sock = self.workdir / "containerd" / "containerd.sock"

    @property
    def token_line(self) -> str:
        """The node's line in the API server's token file."""
        return f'{self.token},system:node:{NODE_NAME},system:node:{NODE_NAME},"system:nodes"'

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> RealNode:
        require_node_tools()
        clean_stale_runs()
        self._record()
        try:
            self._network()
            self._cgroups()
            self._start_containerd()
            self._import_images()
            self._start_coredns()
            self._start_kubelet()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """The kubelet first (so it restarts nothing), then every pod's processes, then the rest."""
        for proc in [p for p in self.procs if p.name == "kubelet"]:
            proc.stop(grace=5)
        _teardown(self._record_data())
        for proc in reversed(self.procs):
            proc.stop(grace=5)
        with contextlib.suppress(FileNotFoundError):
            (RUNS / f"{self.id}.json").unlink()

    def logs(self, lines: int = 20) -> str:
        return "\n".join(f"--- {p.name} ({p.log}):\n{p.tail(lines)}" for p in self.procs)

    # -- the pieces ------------------------------------------------------------------------------------
    def _record_data(self) -> dict[str, Any]:
        return {
            "owner": os.getpid(),
            "owner_start": _start_time(os.getpid()),
            "workdir": str(self.workdir),
            "bridge": self.bridge,
            "cgroup_root": self.cgroup_root,
        }

    def _record(self) -> None:
        RUNS.mkdir(parents=True, exist_ok=True)
        (RUNS / f"{self.id}.json").write_text(json.dumps(self._record_data()))

    def _proc(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        proc = Proc(name, argv, self.workdir / "logs" / f"{name}.log", env=env).start()
        self.procs.append(proc)
        return proc

    def _network(self) -> None:
        self.subnet = _free_subnet()
        hosts = list(self.subnet.hosts())
        self.gateway = str(hosts[0])
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        netd = self.workdir / "cni" / "net.d"
        netd.mkdir(parents=True, exist_ok=True)
        conflist = {
            "cniVersion": "1.0.0",
            "name": "e2e",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": self.bridge,
                    "isGateway": False,  # true would turn on the host's net.ipv4.ip_forward
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "dataDir": str(self.workdir / "cni" / "ipam"),
                        "ranges": [[{"subnet": str(self.subnet), "rangeStart": str(hosts[9])}]],
                    },
                }
            ],
        }
        (netd / "10-e2e.conflist").write_text(json.dumps(conflist, indent=2))

    def _cgroups(self) -> None:
        """The cgroup root of this run's pods, in every v1 hierarchy (kubelet requires it to exist)."""
        for hierarchy in _hierarchies():
            root = hierarchy / self.cgroup_root
            root.mkdir(exist_ok=True)
            if hierarchy.name == "cpuset":  # a v1 cpuset cgroup takes no task until it has cpus and mems
                for f in ("cpuset.cpus", "cpuset.mems"):
                    (root / f).write_text((hierarchy / f).read_text())

    def _start_containerd(self) -> None:
        base = self.workdir / "containerd"
        base.mkdir(parents=True, exist_ok=True)
        stream_port = free_port()
        config = f"""version = 3
root = "{base / "root"}"
state = "{base / "state"}"

[grpc]
  address = "{self.sock}"

[ttrpc]
  address = "{base / "containerd.sock.ttrpc"}"

[debug]
  address = "{base / "debug.sock"}"

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "{stream_port}"
  enable_tls_streaming = false

[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "{shutil.which("runc")}"
        Root = "{base / "runc"}"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["{CNI_BIN}"]
    conf_dir = "{self.workdir / "cni" / "net.d"}"
    max_conf_num = 1

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "{PAUSE_IMAGE}"
"""
        (base / "config.toml").write_text(config)
        env = {"PATH": f"{BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
        proc = self._proc("containerd", [str(BIN / "containerd"), "--config", str(base / "config.toml")], env)
        wait_for("containerd", lambda: self._ctr("version", timeout=5).returncode == 0, 60, [proc])

    def _ctr(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "ctr"), "--address", str(self.sock), "--namespace", "k8s.io", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _import_images(self) -> None:
        for tar, base in (
            (IMAGES / "pause.tar", "registry.k8s.io/pause"),
            (IMAGES / "tdengine.tar", TDENGINE_REPOSITORY),
        ):
            done = self._ctr("images", "import", "--base-name", base, str(tar))
            if done.returncode != 0:
                raise RuntimeError(f"ctr images import {tar} failed: {done.stderr.strip()}")
        listed = self._ctr("images", "list", "-q").stdout.split()
        for ref in (PAUSE_IMAGE, f"{TDENGINE_REPOSITORY}:3.3.7.5"):
            if ref not in listed:
                raise RuntimeError(f"image {ref} not found after the import; the node has {listed}")

    def _start_coredns(self) -> None:
        corefile = self.workdir / "coredns" / "Corefile"
        corefile.parent.mkdir(parents=True, exist_ok=True)
        corefile.write_text(
            f"""cluster.local:53 {{
  bind {self.gateway}
  errors
  kubernetes cluster.local {{
    kubeconfig {self.plane.kubeconfig} e2e
    pods insecure
  }}
}}
.:53 {{
  bind {self.gateway}
  template ANY ANY {{
    rcode NXDOMAIN
  }}
}}
"""
        )
        self._proc("coredns", [str(BIN / "coredns"), "-conf", str(corefile), "-dns.port", "53"])

    def _start_kubelet(self) -> None:
        root = self.workdir / "kubelet"
        root.mkdir(parents=True, exist_ok=True)
        kubeconfig = root / "kubeconfig.yaml"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: e2e\n  cluster:\n    server: {self.plane.server}\n"
            f"    certificate-authority: {self.plane.ca}\n"
            "contexts:\n- name: e2e\n  context:\n    cluster: e2e\n    user: node\n"
            "current-context: e2e\n"
            f"users:\n- name: node\n  user:\n    token: {self.token}\n"
        )
        (root / "resolv.conf").write_text("")
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": self.gateway,  # the node's IP: kubelet refuses a loopback one
            "port": free_port(),
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": free_port(),
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": False},
                "x509": {"clientCAFile": str(self.pki.ca_cert)},
            },
            "authorization": {"mode": "AlwaysAllow"},  # every caller holds a certificate of this run's CA
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": f"/{self.cgroup_root}",
            "failCgroupV1": False,
            "failSwapOn": False,
            "containerRuntimeEndpoint": f"unix://{self.sock}",
            "clusterDNS": [self.gateway],
            "clusterDomain": "cluster.local",
            "resolvConf": str(root / "resolv.conf"),
            "podLogsDir": str(self.workdir / "pod-logs"),
            "volumePluginDir": str(root / "volume-plugins"),
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "serializeImagePulls": False,
            "registerNode": True,
            "syncFrequency": "10s",
            "fileCheckFrequency": "10s",
            "nodeStatusUpdateFrequency": "2s",
            "localStorageCapacityIsolation": False,
        }
        (root / "config.json").write_text(json.dumps(config, indent=2))
        env = {"PATH": f"{BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
        proc = self._proc(
            "kubelet",
            [
                str(BIN / "kubelet"),
                "--config", str(root / "config.json"),
                "--kubeconfig", str(kubeconfig),
                "--root-dir", str(root / "root"),
                "--cert-dir", str(root / "pki"),
                "--hostname-override", NODE_NAME,
                "--node-ip", self.gateway,
                "--node-labels", "topology.kubernetes.io/zone=zone-a",
                "--v", "2",
            ],
            env,
        )  # fmt: skip
        self.plane.wait("the real node to be Ready", lambda: _node_ready(self.plane), 120)
        if not proc.alive():
            raise RuntimeError(f"kubelet exited; its log ends with:\n{proc.tail()}")


def _node_ready(plane: ControlPlane) -> bool:
    return is_ready(plane.get("node", NODE_NAME))


# -- teardown, also of a run killed before its own ------------------------------------------------------
def clean_stale_runs() -> list[str]:
    """Tear down every recorded node whose test process is gone. Returns their ids."""
    cleaned = []
    for record in sorted(RUNS.glob("*.json")) if RUNS.is_dir() else []:
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):
            record.unlink(missing_ok=True)
            continue
        if _start_time(int(data["owner"])) == data.get("owner_start"):
            continue  # its test process still runs: not ours to clean
        _teardown(data)
        record.unlink(missing_ok=True)
        cleaned.append(record.stem)
    return cleaned


def _teardown(data: dict[str, Any]) -> None:
    workdir = str(data["workdir"])
    # 1. The pods' processes, by this run's cgroups: nothing of a container outlives its shim.
    _kill_cgroup_tree(str(data["cgroup_root"]))
    # 2. Whatever names the work directory on its command line: containerd, its shims, kubelet, CoreDNS.
    _kill_by_cmdline(workdir)
    # 3. Mounts (container rootfs, network namespaces, kubelet's volumes) under the work directory.
    _unmount_under(workdir)
    # 4. The cgroups themselves, the bridge, kubelet's log links.
    _remove_cgroup_tree(str(data["cgroup_root"]))
    subprocess.run(["ip", "link", "del", str(data["bridge"])], capture_output=True, check=False)
    links = Path("/var/log/containers")
    for link in links.glob("*.log") if links.is_dir() else []:
        with contextlib.suppress(OSError):
            if os.readlink(link).startswith(workdir):
                link.unlink()


def _hierarchies() -> list[Path]:
    return sorted(p for p in CGROUP.iterdir() if p.is_dir() and (p / "cgroup.procs").exists())


def _cgroup_dirs(root: str) -> list[Path]:
    """Every cgroup under `root` in every hierarchy, deepest first."""
    found: list[Path] = []
    for hierarchy in _hierarchies():
        top = hierarchy / root
        if top.is_dir():
            found.extend(p for p, _, _ in os.walk(top))  # type: ignore[misc]
    return sorted((Path(p) for p in found), key=lambda p: len(p.parts), reverse=True)


def _kill_until_gone(find: Callable[[], set[int]], seconds: float) -> None:
    """SIGKILL what `find` returns until it returns nothing (or the time is up): a process may fork meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pids = find()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def _kill_cgroup_tree(root: str) -> None:
    def in_cgroups() -> set[int]:
        pids: set[int] = set()
        for d in _cgroup_dirs(root):
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in (d / "cgroup.procs").read_text().split())
        return pids

    _kill_until_gone(in_cgroups, 20)


def _remove_cgroup_tree(root: str) -> None:
    for d in _cgroup_dirs(root):
        for _ in range(50):
            try:
                d.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:  # still busy for a moment after its last task died
                time.sleep(0.1)


def _kill_by_cmdline(needle: str) -> None:
    me = os.getpid()

    def naming_it() -> set[int]:
        pids = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if needle in cmdline:
                pids.add(int(entry.name))
        return pids

    _kill_until_gone(naming_it, 15)


def _unmount_under(prefix: str) -> None:
    for _ in range(5):
        mounts = [m for m in _mount_points() if m == prefix or m.startswith(prefix.rstrip("/") + "/")]
        if not mounts:
            return
        for m in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True, check=False)


def _mount_points() -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        points.append(point.encode().decode("unicode_escape"))  # \040 for a space, as mountinfo writes it
    return points


def _start_time(pid: int) -> str | None:
    """The process' start time in clock ticks since boot (field 22 of stat): a pid reused later differs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[19]


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 of 10.200.0.0/13 that no route or address of this machine touches."""
    used = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    used += subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
    taken = []
    for word in used.split():
        with contextlib.suppress(ValueError):
            taken.append(ipaddress.ip_network(word, strict=False))
    for _ in range(200):
        candidate = ipaddress.IPv4Network(f"10.{random.randint(200, 207)}.{random.randint(0, 255)}.0/24")
        if not any(candidate.overlaps(t) for t in taken if t.version == 4 and t.prefixlen > 0):
            return candidate
    raise RuntimeError("no free /24 in 10.200.0.0/13 for the node's bridge")


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def main(argv: list[str]) -> int:
    if argv[:1] != ["down"]:
        print("usage: python -m tests.e2e.node down   (tear down every node whose test run is gone)", file=sys.stderr)
        return 2
    cleaned = clean_stale_runs()
    print(f"cleaned {len(cleaned)} node(s): {' '.join(cleaned) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
