"""The local cluster of the end-to-end tier: a real control plane, the TDengine simulator bound to its pods,
and the real Pulumi CLI on a copy of this project.

    E2ECluster(workdir).start()     control plane (controlplane.py), simulator, SimKubelet (kubelet.py)
    cluster.project                 the Pulumi project and stack (pulumi_cli.py)
    cluster.stop()                  every process ended by its pid; the work directory (logs) is kept

A port-forward through the API server to pod port 6041 lands on that pod's taosAdapter: kwok forwards it
(a `PortForward` object per pod, `--enable-crds=PortForward`) to a relay that exists while the pod's taosd
runs. `kubectl exec` in a pod runs the command locally (a kwok `ClusterExec`), with `tests/e2e/bin` first on
PATH, where `taosBenchmark` is a stand-in that writes its dataset to the simulator over REST.

For manual use: `venv/bin/python -m tests.e2e.harness up [DIR]` starts everything and prints the
environment to use it with (KUBECONFIG, PULUMI_*); Ctrl-C stops it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from kubernetes import client, config

from tests.e2e.controlplane import BIN, E2E_DIR, ROOT, ControlPlane, require_tools
from tests.e2e.kubelet import SimKubelet
from tests.e2e.pulumi_cli import PULUMI_TOOLS, PulumiProject
from tests.sim import SimCluster, bench

NAMESPACE = "tdengine-test"
STATEFULSET = "tdengine"
STAND_INS = ROOT / "tests" / "e2e" / "bin"
KWOK_CRDS = ("kwok.x-k8s.io_portforwards.yaml",)
KWOK_SHARE = E2E_DIR / "share" / "kwok"
"""kwok's stage and CRD files, copied from its module by scripts/e2e-tools."""


def require_e2e_tools() -> None:
    require_tools()
    require_tools(PULUMI_TOOLS)
    missing = [c for c in KWOK_CRDS if not (KWOK_SHARE / c).is_file()]
    if missing or not (KWOK_SHARE / "stages.yaml").is_file():
        from tests.e2e.controlplane import ToolsMissing

        raise ToolsMissing(f"kwok's stages and CRDs are not in {KWOK_SHARE}: run scripts/e2e-tools")


@dataclass
class E2ECluster:
    workdir: Path
    migration_seconds: float = 0.3
    namespace: str = NAMESPACE
    sim: SimCluster = field(init=False)
    plane: ControlPlane = field(init=False)
    kubelet: SimKubelet = field(init=False)
    project: PulumiProject = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def start(self) -> E2ECluster:
        require_e2e_tools()
        self.sim = SimCluster(
            namespace=self.namespace,
            statefulset=STATEFULSET,
            migration_seconds=self.migration_seconds,
            heartbeat_seconds=0.2,
            offline_after_seconds=1.0,
            pod_start_seconds=0.2,
        ).start()
        try:
            self._exec = ExecEndpoint(self.sim).start()
            self._write_kwok_config()
            self.plane = ControlPlane(self.workdir / "cluster", crds=[KWOK_SHARE / c for c in KWOK_CRDS])
            self.plane.kwok_flags = ["--enable-crds=PortForward", "--config", str(self.workdir / "kwok-exec.yaml")]
            self.plane.start()
            api = config.new_client_from_config(str(self.plane.kubeconfig), persist_config=False)
            self._objects = client.CustomObjectsApi(api)
            self.kubelet = SimKubelet(
                self.sim, str(self.plane.kubeconfig), self.namespace, STATEFULSET, on_adapter=self._adapter
            ).start()
            self.project = PulumiProject(self.workdir, self.plane.kubeconfig)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for part in ("kubelet", "plane", "_exec"):
            if hasattr(self, part):
                getattr(self, part).stop()
        self.sim.stop()

    def __enter__(self) -> E2ECluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests look at ------------------------------------------------------------------------------
    def dnode_ids(self) -> dict[str, int]:
        """pod -> dnode id, from the simulated cluster's `show dnodes`."""
        return {d["endpoint"].split(".", 1)[0]: d["id"] for d in self.sim.dnodes()}

    def sts_replicas(self) -> int:
        return int(self.plane.get("statefulset", STATEFULSET, "-n", self.namespace)["spec"]["replicas"])

    def pvcs(self) -> dict[str, str]:
        """PVC name -> uid (a new uid: a fresh volume); PVCs being deleted left out."""
        items = self.plane.get("pvc", "-n", self.namespace)["items"]
        return {p["metadata"]["name"]: p["metadata"]["uid"] for p in items if "deletionTimestamp" not in p["metadata"]}

    def exec_calls(self) -> list[list[str]]:
        """The arguments of every taosBenchmark run in a pod (its password shown as -p<redacted>)."""
        return list(self._exec.calls)

    def sql(self, password: str, statement: str) -> list[list[Any]]:
        """One statement straight to the simulator's REST (not through a pod): for assertions only."""
        answer = requests.post(f"{self.sim.url}/rest/sql", data=statement, auth=("root", password), timeout=10).json()
        if answer["code"] != 0:
            raise AssertionError(f"{statement}: {answer}")
        return list(answer["data"])

    def logs(self) -> str:
        kubelet_errors = "\n".join(self.kubelet.errors[-10:]) if hasattr(self, "kubelet") else ""
        last = self.project.runs[-1].log if hasattr(self, "project") and self.project.runs else None
        return (
            f"{self.plane.logs(lines=6)}\n--- sim-kubelet errors:\n{kubelet_errors}\n"
            f"--- the last pulumi run: {last}\n--- all logs: {self.workdir}"
        )

    # -- wiring ----------------------------------------------------------------------------------------
    def _write_kwok_config(self) -> None:
        """`kubectl exec` in any pod runs locally, with the stand-ins first on PATH and the simulator's URL."""
        path = os.pathsep.join([str(STAND_INS), str(ROOT / "venv" / "bin"), "/usr/local/bin", "/usr/bin", "/bin"])
        exec_config = {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterExec",
            "metadata": {"name": "tdengine"},
            "spec": {
                "execs": [
                    {
                        "local": {
                            "workDir": str(ROOT),
                            "envs": [
                                {"name": "PATH", "value": path},
                                {"name": "PYTHONPATH", "value": str(ROOT)},
                                {"name": "TDENGINE_SIM_EXEC_URL", "value": self._exec.url},
                            ],
                        }
                    }
                ]
            },
        }
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "kwok-exec.yaml").write_text(json.dumps(exec_config))

    def _adapter(self, pod: str, port: int | None) -> None:
        """A pod's taosAdapter came up (its relay's port) or went away: kwok's PortForward for it follows."""
        group, version, plural = "kwok.x-k8s.io", "v1alpha1", "portforwards"
        with self._lock:
            try:
                if port is None:
                    self._objects.delete_namespaced_custom_object(group, version, self.namespace, plural, pod)
                    return
                body: dict[str, Any] = {
                    "apiVersion": f"{group}/{version}",
                    "kind": "PortForward",
                    "metadata": {"name": pod, "namespace": self.namespace},
                    "spec": {"forwards": [{"ports": [6041], "target": {"address": "127.0.0.1", "port": port}}]},
                }
                try:
                    self._objects.create_namespaced_custom_object(group, version, self.namespace, plural, body)
                except client.ApiException as e:
                    if e.status != 409:
                        raise
                    current = self._objects.get_namespaced_custom_object(group, version, self.namespace, plural, pod)
                    body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                    self._objects.replace_namespaced_custom_object(group, version, self.namespace, plural, pod, body)
            except client.ApiException as e:
                if e.status != 404:  # the namespace is gone with the pod: nothing to forward any more
                    self.kubelet.errors.append(f"PortForward {pod}: {e.status} {e.reason}")


class ExecEndpoint:
    """Where `tests/e2e/bin/taosBenchmark` sends its arguments: the simulator's emulation runs here, in the
    test process, against the simulated cluster (127.0.0.1 only)."""

    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim
        self.calls: list[list[str]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                argv = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["argv"]
                endpoint.calls.append([a if not a.startswith("-p") else "-p<redacted>" for a in argv])
                code, out, err = bench.taos_benchmark(endpoint.sim.cluster, argv)
                body = json.dumps({"code": code, "stdout": out, "stderr": err}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/exec"

    def start(self) -> ExecEndpoint:
        threading.Thread(target=self._httpd.serve_forever, args=(0.1,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def main(argv: list[str]) -> int:
    if len(argv) < 1 or argv[0] != "up":
        print("usage: python -m tests.e2e.harness up [WORKDIR]", file=sys.stderr)
        return 2
    workdir = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp(prefix="tdengine-e2e-"))
    cluster = E2ECluster(workdir).start()
    env = cluster.project.env()
    print(f"# the local cluster is up; work directory {workdir}")
    for key in ("KUBECONFIG", "PULUMI_HOME", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
        print(f"export {key}='{env[key]}'")
    print(f"export PATH='{BIN}':\"$PATH\"")
    print(f"# project copy: cd {cluster.project.dir}; Ctrl-C stops everything")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
