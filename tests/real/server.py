"""A real TDengine 3.3.7.5 cluster on this machine: N taosd and one taosAdapter, in a network namespace of its own.

Why a namespace: taosAdapter has no listen-address setting (only `--port`) and binds every interface, so the
processes run in a namespace the fixture creates (`unshare --net`, only loopback up) and nothing listens outside
it. The REST calls are made from inside too: `RealCluster.rest` runs them on worker threads that joined the
namespace with `setns(2)` (a thread's own namespace; the test's other threads stay on the host's network).

Every process is a `tests.e2e.procs.Proc`: started in a session of its own with PR_SET_PDEATHSIG, ended by its pid
(`stop`), and killed by the kernel if the test process dies, even by SIGKILL. The namespace holder is one of them
(`sleep infinity` in the new namespace), so after a killed run nothing is left: no process, and the namespace,
which lives only while a process is in it, is gone with them. Start processes from the main thread: the kernel's
parent-death signal follows the thread that forked, not the process.

The build comes from /work/shared/tdengine/ (its README.md), unpacked once into `.e2e/tdengine-dist/<sha256>`.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.e2e.procs import Proc, wait_for

SHARED = Path("/work/shared/tdengine")
TARBALL = SHARED / "tdengine-3.3.7.5-linux-amd64.tar.xz"
CACHE = Path(__file__).resolve().parents[2] / ".e2e" / "tdengine-dist"
ADAPTER_PORT = 6041
FQDN = "localhost"
_CLONE_NEWNET = 0x40000000


def available() -> bool:
    """Whether the real build and what the fixture needs (root, unshare, nsenter) are here."""
    return TARBALL.is_file() and os.geteuid() == 0 and all(shutil.which(t) for t in ("unshare", "nsenter", "ip"))


def dist() -> Path:
    """The unpacked build, keyed by the tarball's sha256; unpacked into a temporary directory and renamed, so an
    interrupted unpack is never taken for a complete one."""
    digest = hashlib.sha256(TARBALL.read_bytes()).hexdigest()[:16]
    target = CACHE / digest
    if (target / "bin" / "taosd").is_file():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = CACHE / f".{digest}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(TARBALL) as tar:
        tar.extractall(tmp, filter="tar")
    try:
        tmp.rename(target)
    except OSError:  # another run unpacked it meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@dataclass(frozen=True)
class Answer:
    """One REST answer: HTTP status and the JSON body (a bare string when the body is not an object)."""

    http: int
    body: dict[str, Any]
    elapsed: float


@dataclass
class Dnode:
    """One taosd: its ordinal, its endpoint and its own directories (data dir kept across restarts)."""

    ordinal: int
    port: int
    root: Path
    proc: Proc | None = None
    starts: int = 0

    @property
    def endpoint(self) -> str:
        return f"{FQDN}:{self.port}"

    @property
    def cfg_dir(self) -> Path:
        return self.root / "cfg"


@dataclass
class RealCluster:
    """`start(n)` brings up dnodes 0..n-1 (the first is firstEp; the others joined with `create dnode`) and a
    taosAdapter in front of dnode 0; `rest` sends one statement; `close` ends every process by its pid."""

    workdir: Path
    dnodes: dict[int, Dnode] = field(default_factory=dict)
    holder: Proc | None = None
    adapter: Proc | None = None
    start_seconds: float = 0.0
    _pool: ThreadPoolExecutor | None = None
    _bin: Path = field(default_factory=Path)

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self, n: int = 3, join: bool = True, timeout: float = 120.0) -> RealCluster:
        """`join=False`: the other taosd run but are not created (a test sends `create dnode` itself)."""
        t0 = time.monotonic()
        self._bin = dist()
        self._start_namespace()
        for ordinal in range(n):
            self.start_dnode(ordinal)
        self.adapter = self._spawn(
            "taosadapter",
            [
                str(self._bin / "bin" / "taosadapter"),
                "--taosConfigDir",
                str(self.dnodes[0].cfg_dir),
                "--port",
                str(ADAPTER_PORT),
                "--log.path",
                str(self._dir("adapter")),
                "--uploadKeeper.enable=false",
                "--opentsdb.enable=false",
                "--influxdb.enable=false",
                "--prometheus.enable=false",
            ],
            self.workdir / "logs" / "taosadapter.log",
        )
        self.wait_dnodes_ready(n=1, timeout=timeout)
        for ordinal in range(1, n if join else 1):
            self.must(f"create dnode '{self.dnodes[ordinal].endpoint}'")
        self.wait_dnodes_ready(n=n if join else 1, timeout=timeout)
        wait_for("the mnode leader", self._mnode_leads, timeout, procs=self._procs(), step=0.3)
        self.start_seconds = time.monotonic() - t0
        return self

    def close(self) -> None:
        """Every process by its pid (SIGTERM, then SIGKILL), the namespace holder last."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        procs = [p for p in (self.adapter, *(d.proc for d in self.dnodes.values())) if p is not None]
        stoppers = [threading.Thread(target=p.stop, kwargs={"grace": 5.0}) for p in procs]  # in parallel: each
        for t in stoppers:  # taosd takes ~3 s to shut down gracefully
            t.start()
        for t in stoppers:
            t.join()
        if self.holder is not None:
            self.holder.stop(grace=1.0)

    def __enter__(self) -> RealCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- dnodes ------------------------------------------------------------------------------------------------
    def start_dnode(self, ordinal: int) -> Dnode:
        """Start (or restart on its data dir) the taosd of `ordinal`: serverPort 6030 + 100 * ordinal. Joining
        the cluster (`create dnode`) is the caller's statement."""
        d = self.dnodes.get(ordinal)
        if d is None:
            d = Dnode(ordinal, 6030 + 100 * ordinal, self._dir(f"dnode{ordinal}"))
            for sub in ("cfg", "data", "log"):
                (d.root / sub).mkdir(parents=True, exist_ok=True)
            (d.cfg_dir / "taos.cfg").write_text(
                "\n".join(
                    [
                        f"firstEp {FQDN}:6030",
                        f"fqdn {FQDN}",
                        f"serverPort {d.port}",
                        f"dataDir {d.root / 'data'}",
                        f"logDir {d.root / 'log'}",
                        "monitor 0",
                        "udf 0",  # no taosudf child process
                        "supportVnodes 9",  # what a 2-core machine derives; fixed so the layout does not vary
                        "",
                    ]
                )
            )
            self.dnodes[ordinal] = d
        if d.proc is not None and d.proc.alive():
            raise RuntimeError(f"taosd {ordinal} is running already")
        d.starts += 1
        argv = [str(self._bin / "bin" / "taosd"), "-c", str(d.cfg_dir)]
        d.proc = self._spawn(f"taosd{ordinal}", argv, self.workdir / "logs" / f"taosd{ordinal}.{d.starts}.log")
        return d

    def stop_dnode(self, ordinal: int, grace: float = 30.0) -> float:
        """SIGTERM (TDengine's graceful shutdown), SIGKILL after `grace`; returns how long it took to exit."""
        proc = self.dnodes[ordinal].proc
        assert proc is not None
        t0 = time.monotonic()
        proc.stop(grace=grace)
        return time.monotonic() - t0

    def wait_dnodes_ready(self, n: int, timeout: float = 60.0) -> None:
        def ready() -> bool:
            a = self.rest("show dnodes")
            rows = a.body.get("data") or []
            return len(rows) >= n and all(r[4] == "ready" for r in rows)

        wait_for(f"{n} dnodes ready", ready, timeout, procs=self._procs(), step=0.3)

    def _mnode_leads(self) -> bool:
        """Up means led: right after its dnode is `ready` the first mnode shows role `offline` for a moment."""
        return any(r[2] == "leader" for r in self.rest("show mnodes").body.get("data") or [])

    def _procs(self) -> list[Proc]:
        """The processes of the cluster that are expected to be running (a stopped dnode's is not)."""
        return [p for p in (self.adapter, *(d.proc for d in self.dnodes.values())) if p is not None and p.alive()]

    # -- REST from inside the namespace -------------------------------------------------------------------------
    def rest(self, statement: str, password: str = "taosdata", user: str = "root", timeout: float = 120.0) -> Answer:
        """POST one statement to taosAdapter's /rest/sql, from a thread inside the namespace."""
        return self.submit(statement, password, user, timeout)()

    def submit(
        self, statement: str, password: str | None = "taosdata", user: str = "root", timeout: float = 120.0
    ) -> Callable[[], Answer]:
        """Send without waiting (a statement that blocks, polled meanwhile); call the result to wait for it."""
        assert self._pool is not None, "start() first"
        auth = None if password is None else (user, password)
        future = self._pool.submit(_post, f"http://127.0.0.1:{ADAPTER_PORT}/rest/sql", statement, auth, timeout)
        return lambda: future.result(timeout=timeout + 5)

    def must(self, statement: str) -> Answer:
        a = self.rest(statement)
        if a.http != 200 or a.body.get("code") != 0:
            raise RuntimeError(f"{statement!r} answered HTTP {a.http} {a.body}")
        return a

    # -- internals ---------------------------------------------------------------------------------------------
    def _dir(self, name: str) -> Path:
        p = self.workdir / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    def _start_namespace(self) -> None:
        self.holder = Proc(
            "netns", ["unshare", "--net", "--", "sleep", "infinity"], self.workdir / "logs" / "netns.log"
        ).start()
        ns = f"/proc/{self.holder.pid}/ns/net"
        mine = os.readlink("/proc/self/ns/net")
        wait_for("the network namespace", lambda: os.readlink(ns) != mine, 10.0, procs=[self.holder], step=0.02)
        subprocess.run(["nsenter", f"--net={ns}", "ip", "link", "set", "lo", "up"], check=True, timeout=10)
        self._pool = ThreadPoolExecutor(max_workers=4, initializer=_enter, initargs=(ns,))

    def _spawn(self, name: str, argv: list[str], log: Path) -> Proc:
        assert self.holder is not None
        env = {**os.environ, "LD_LIBRARY_PATH": str(self._bin / "lib")}
        wrapped = ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", "--", *argv]
        return Proc(name, wrapped, log, env=env).start()


_ENTERED = threading.local()


def _enter(ns: str) -> None:
    """A pool thread joins the namespace: sockets it opens from now on live there."""
    fd = os.open(ns, os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).setns(fd, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({ns})")
    finally:
        os.close(fd)
    _ENTERED.ns = ns


def _post(url: str, statement: str, auth: tuple[str, str] | None, timeout: float) -> Answer:
    assert getattr(_ENTERED, "ns", None), "a REST call outside the namespace"
    t0 = time.monotonic()
    r = requests.post(url, data=statement.encode(), auth=auth, timeout=timeout)
    body: Any
    try:
        body = r.json()
    except ValueError:
        body = r.text
    if not isinstance(body, dict):
        body = {"text": body}
    return Answer(r.status_code, body, time.monotonic() - t0)
