"""The end-to-end cluster with real TDengine: a real control plane, a real node (`node.py`) running the
StatefulSet's pods from TDengine's image, and the real Pulumi CLI on a copy of this project.

    RealCluster(workdir).start()    control plane (no kwok), the node, the Pulumi project
    cluster.tdengine                 SQL straight to the pods' taosAdapter (pod IPs on the node's bridge), for
                                     assertions and for what a user would do by hand (create a database)
    cluster.stop()                   everything ended, the node torn down (`node.py`), logs kept

The program reaches TDengine only through port-forwards of the real API server to the pods (adminUrl unset), as
on any cluster; the API server's audit log counts them (`plane.subresource_calls`), so a test can show a
preview sent no SQL.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from components.tdengine import sql
from tests.e2e.controlplane import ControlPlane, require_tools
from tests.e2e.harness import NAMESPACE, STATEFULSET, require_e2e_tools
from tests.e2e.node import RealNode, require_node_tools
from tests.e2e.pulumi_cli import PulumiProject

DEFAULT_PASSWORD = "taosdata"
AUTH_FAILURE = 0x357
TRANSIENT_CODES = sql.TRANSIENT | {0x0914}
"""The program's transient answers and "Sync leader is restoring": a test's own read answered so is read again, up
to TRANSIENT_RETRIES times a second apart; the program's waits judge these."""
TRANSIENT_RETRIES = 10
"""`Authentication failure`, taosAdapter's code 855."""
STACK_RESOURCES = {"cpuRequest": "100m", "memoryRequest": "256Mi"}
"""What every stack of the real tier sets: the default 500m CPU x 4 pods is the node's whole 2 CPUs."""


class SqlError(AssertionError):
    def __init__(self, statement: str, answer: dict[str, Any]) -> None:
        super().__init__(f"{statement}: {answer}")
        self.code = int(answer.get("code", -1))


@dataclass
class TDengineView:
    """The real cluster as a test sees it: REST to whichever pod's taosAdapter answers, with the password the
    stack's Secret holds (or the kept one, or TDengine's default before the image changed it)."""

    plane: ControlPlane
    namespace: str = NAMESPACE
    rest_port: int = 6041
    _accepted: str = field(default="", repr=False)
    """The password TDengine accepted last."""

    def pod_ips(self) -> dict[str, str]:
        pods = self.plane.get("pods", "-n", self.namespace)["items"]
        return {
            p["metadata"]["name"]: p["status"]["podIP"]
            for p in pods
            if p["status"].get("podIP")
            and p["status"].get("phase") == "Running"
            and "deletionTimestamp" not in p["metadata"]
        }

    def passwords(self) -> list[str]:
        found = []
        for secret in (f"{STATEFULSET}-root", f"{STATEFULSET}-root-kept"):
            try:
                data = self.plane.get("secret", secret, "-n", self.namespace).get("data") or {}
            except RuntimeError:
                continue
            if "TAOS_ROOT_PASSWORD" in data:
                found.append(base64.b64decode(data["TAOS_ROOT_PASSWORD"]).decode())
        return [*found, DEFAULT_PASSWORD]

    @property
    def password(self) -> str:
        """The password TDengine accepts now."""
        for password in self.passwords():
            for ip in self.pod_ips().values():
                try:
                    answer = self._post(ip, password, "select server_version()")
                except requests.RequestException:
                    continue
                if answer.get("code") == 0:
                    self._accepted = password
                    return password
                break
        raise AssertionError("no pod's taosAdapter accepted any known root password")

    def _post(self, ip: str, password: str, statement: str, timeout: float = 30) -> dict[str, Any]:
        r = requests.post(
            f"http://{ip}:{self.rest_port}/rest/sql", data=statement, auth=("root", password), timeout=timeout
        )
        return dict(r.json())

    def sql(self, statement: str, timeout: float = 30, password: str | None = None) -> list[dict[str, Any]]:
        """Rows as dicts, from the first pod that answers (a pod being restarted refuses the connection). Without
        `password`, the one found last, found again once when TDengine refuses it (855: rotated)."""
        if password is None:
            try:
                return self.sql(statement, timeout, self._accepted or self.password)
            except SqlError as e:
                if e.code != AUTH_FAILURE:
                    raise
                self._accepted = ""
                return self.sql(statement, timeout, self.password)
        last: Exception | None = None
        for _pod, ip in sorted(self.pod_ips().items()):
            try:
                answer = self._post(ip, password, statement, timeout)
                for _ in range(TRANSIENT_RETRIES):  # what passes by itself (docs/internals.md, "Transient answers")
                    if answer.get("code") not in TRANSIENT_CODES:
                        break
                    time.sleep(1)
                    answer = self._post(ip, password, statement, timeout)
            except requests.RequestException as e:
                last = e
                continue
            if answer.get("code") != 0:
                raise SqlError(statement, answer)
            names = [c[0] for c in answer.get("column_meta", [])]
            return [dict(zip(names, row, strict=True)) for row in answer.get("data", [])]
        raise AssertionError(f"{statement}: no pod's taosAdapter answered ({last})")

    def dnodes(self) -> list[dict[str, Any]]:
        return self.sql("show dnodes")

    def dnodes_via(self, ips: list[str], password: str, timeout: float = 5) -> list[dict[str, Any]] | None:
        """`show dnodes` from the first of `ips` whose taosAdapter answers it, or None when none does (every pod
        restarting, an mnode election): for a watcher that polls, with pod IPs it read itself."""
        return self.sql_via(ips, password, "show dnodes", timeout)

    def sql_via(self, ips: list[str], password: str, statement: str, timeout: float = 5) -> list[dict[str, Any]] | None:
        """Rows of `statement` from the first of `ips` whose taosAdapter answers it, or None when none does."""
        for ip in ips:
            try:
                answer = self._post(ip, password, statement, timeout)
            except (requests.RequestException, ValueError):
                continue
            if answer.get("code") != 0:
                continue
            names = [c[0] for c in answer.get("column_meta", [])]
            return [dict(zip(names, row, strict=True)) for row in answer.get("data", [])]
        return None

    def mnodes(self) -> list[dict[str, Any]]:
        return self.sql("show mnodes")

    def vgroups(self) -> list[dict[str, Any]]:
        rows = self.sql("select * from information_schema.ins_vgroups")
        return [{**r, "db": r["db_name"]} for r in rows]

    def create_database(self, name: str, replica: int = 3, vgroups: int = 2, rows: int = 100) -> int:
        """A database with one super table, a child table per vgroup and `rows` rows in each: data a drain must
        move. Returns the rows written."""
        self.sql(f"create database if not exists {name} replica {replica} vgroups {vgroups}", timeout=120)
        self.sql(f"create stable if not exists {name}.meters (ts timestamp, v int) tags (t int)")
        written = 0
        for t in range(vgroups * 2):
            values = " ".join(f"(now + {i}s, {i})" for i in range(rows))
            self.sql(f"insert into {name}.m{t} using {name}.meters tags ({t}) values {values}", timeout=60)
            written += rows
        return written

    def count(self, table: str) -> int:
        return int(self.sql(f"select count(*) as n from {table}")[0]["n"])

    def assert_rows(self, written: dict[str, int]) -> None:
        """Every table holds the rows written to it: none lost."""
        for table, rows in written.items():
            assert self.count(table) == rows, table

    def wait_healthy(self, dnodes: int, timeout: float = 180) -> None:
        """Every dnode ready, 3 mnodes (or all, when fewer) with one leader."""
        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            try:
                d = self.dnodes()
                m = self.mnodes()
                seen = f"dnodes {[(x['endpoint'], x['status']) for x in d]}, "
                seen += f"mnodes {[(x['endpoint'], x['role']) for x in m]}"
                if (
                    len(d) == dnodes
                    and all(x["status"] == "ready" for x in d)
                    and [x["role"] for x in m].count("leader") == 1
                    and all(x["status"] == "ready" for x in m)
                ):
                    return
            except (AssertionError, requests.RequestException) as e:
                seen = str(e)
            time.sleep(1)
        raise AssertionError(f"the cluster was not healthy within {timeout:.0f}s: {seen}")


@dataclass
class RealCluster:
    workdir: Path
    namespace: str = NAMESPACE
    with_project: bool = True
    """False: no Pulumi project (the node alone, for manual use before the Pulumi toolchain is built)."""
    plane: ControlPlane = field(init=False)
    node: RealNode = field(init=False)
    project: PulumiProject = field(init=False)
    tdengine: TDengineView = field(init=False)

    def start(self) -> RealCluster:
        if self.with_project:
            require_e2e_tools()
        require_tools()
        require_node_tools()
        self.plane = ControlPlane(self.workdir / "cluster", kwok=False)
        self.node = RealNode(self.workdir / "node", self.plane)
        try:
            self.node.pki.make()
            self.plane.extra_tokens = [self.node.token_line]
            self.plane.extra_apiserver_flags = self.node.pki.apiserver_flags()
            self.plane.start()
            self.node.start()
            if self.with_project:
                self.project = PulumiProject(self.workdir, self.plane.kubeconfig)
            self.tdengine = TDengineView(self.plane, self.namespace)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if hasattr(self, "node"):
            self.node.stop()
        if hasattr(self, "plane"):
            self.plane.stop()

    def __enter__(self) -> RealCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests look at ------------------------------------------------------------------------------
    def dnode_ids(self) -> dict[str, int]:
        """pod -> dnode id, from the real `show dnodes`."""
        return {d["endpoint"].split(".", 1)[0]: int(d["id"]) for d in self.tdengine.dnodes()}

    def sts_replicas(self) -> int:
        return int(self.plane.get("statefulset", STATEFULSET, "-n", self.namespace)["spec"]["replicas"])

    def pvcs(self) -> dict[str, str]:
        """PVC name -> uid (a new uid: a fresh volume); PVCs being deleted left out."""
        items = self.plane.get("pvc", "-n", self.namespace)["items"]
        return {p["metadata"]["name"]: p["metadata"]["uid"] for p in items if "deletionTimestamp" not in p["metadata"]}

    def port_forwards(self) -> int:
        return self.plane.subresource_calls("portforward", self.namespace)

    def pod_restarts(self) -> dict[str, int]:
        """pod -> its container's restart count (a pod that took itself down at start shows here)."""
        pods = self.plane.get("pods", "-n", self.namespace)["items"]
        return {
            p["metadata"]["name"]: sum(c.get("restartCount", 0) for c in p["status"].get("containerStatuses", []))
            for p in pods
        }

    def logs(self) -> str:
        last = self.project.runs[-1].log if hasattr(self, "project") and self.project.runs else None
        parts = [self.plane.logs(lines=6)] if hasattr(self, "plane") else []
        if hasattr(self, "node"):
            parts.append(self.node.logs(lines=10))
        parts.append(f"--- the last pulumi run: {last}\n--- all logs: {self.workdir}")
        return "\n".join(parts)

    def describe_pods(self) -> str:
        """Each pod's phase, readiness and restarts, and the tail of its container log: for a failure report."""
        out = []
        for pod in self.plane.get("pods", "-n", self.namespace)["items"]:
            name = pod["metadata"]["name"]
            statuses = pod["status"].get("containerStatuses", [])
            out.append(f"{name}: {pod['status'].get('phase')} {json.dumps(statuses)[:400]}")
            out.append(self.plane.kubectl("logs", name, "-n", self.namespace, "--tail", "15", check=False))
        return "\n".join(out)


def main(argv: list[str]) -> int:
    """`python -m tests.e2e.real up [DIR]`: the control plane and the real node, for manual use; Ctrl-C stops."""
    import signal
    import sys
    import tempfile
    import threading

    if argv[:1] != ["up"]:
        print("usage: python -m tests.e2e.real up [WORKDIR] [--no-pulumi]", file=sys.stderr)
        return 2
    dirs = [a for a in argv[1:] if not a.startswith("--")]
    workdir = Path(dirs[0]) if dirs else Path(tempfile.mkdtemp(prefix="tdengine-real-"))
    cluster = RealCluster(workdir, with_project="--no-pulumi" not in argv).start()
    print(f"# the control plane and the real node are up; work directory {workdir}", flush=True)
    print(f"export KUBECONFIG='{cluster.plane.kubeconfig}'", flush=True)
    if cluster.with_project:
        env = cluster.project.env()
        for key in ("PULUMI_HOME", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
            print(f"export {key}='{env[key]}'", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    cluster.stop()
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
