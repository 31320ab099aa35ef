"""The two targets of the differential test behind one interface (`sequence.Target`): the simulator, with its
times scaled down but its order of events kept, and the real cluster (`server.RealCluster`)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from tests.real.server import FQDN, RealCluster
from tests.sim import SimCluster

Reply = dict[str, Any]


class SimTarget:
    """The simulator as the fast tier runs it, its pods' taosd started without the image's auto-join (the
    sequence sends `create dnode`); times are ~1/10 of the real ones so polls still see every state."""

    name = "simulator"
    poll = 0.05
    timeout = 20.0

    def __init__(self) -> None:
        self.sim = SimCluster(
            auto_join=False,
            heartbeat_seconds=0.1,
            offline_after_seconds=0.5,
            migration_seconds=0.5,
            mnode_create_seconds=0.2,
            mnode_settle_seconds=0.2,
            db_create_seconds=0.1,
            election_seconds=0.2,
            catchup_seconds=0.2,
        )
        self._pool = ThreadPoolExecutor(max_workers=4)

    def start(self, n: int = 3) -> SimTarget:
        self.sim.start()
        self.sim.kube.scale(n)
        first = self.sim.endpoint(0)
        self.sim.wait_until(
            lambda s: (s.dnode(first) or {}).get("status") == "ready" and sum(p.ready for p in s.pods) == n
        )
        return self

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.sim.stop()

    def endpoint(self, ordinal: int) -> str:
        return self.sim.endpoint(ordinal)

    def start_dnode(self, ordinal: int) -> None:
        if ordinal >= self.sim.kube.replicas:
            self.sim.kube.scale(ordinal + 1)
        else:
            self.sim.kube.restart_pod(ordinal)

    def stop_dnode(self, ordinal: int) -> None:
        self.sim.kube.crash_pod(ordinal)

    def submit(self, sql: str, password: str | None) -> Callable[[], Reply]:
        auth = None if password is None else ("root", password)
        future = self._pool.submit(requests.post, f"{self.sim.url}/rest/sql", data=sql.encode(), auth=auth, timeout=60)

        def wait() -> Reply:
            r = future.result()
            return {"http": r.status_code, "body": r.json()}

        return wait


class RealTarget:
    """The real 3.3.7.5 build: 3 taosd (one more per `start_dnode`), one taosAdapter, in a namespace."""

    name = "real"
    poll = 0.5
    timeout = 120.0

    def __init__(self, workdir: Path) -> None:
        self.cluster = RealCluster(workdir)

    def start(self, n: int = 3) -> RealTarget:
        self.cluster.start(n, join=False)
        return self

    def close(self) -> None:
        self.cluster.close()

    def endpoint(self, ordinal: int) -> str:
        return f"{FQDN}:{6030 + 100 * ordinal}"

    def start_dnode(self, ordinal: int) -> None:
        self.cluster.start_dnode(ordinal)

    def stop_dnode(self, ordinal: int) -> None:
        self.cluster.stop_dnode(ordinal)

    def submit(self, sql: str, password: str | None) -> Callable[[], Reply]:
        wait = self.cluster.submit(sql, password)

        def reply() -> Reply:
            a = wait()
            return {"http": a.http, "body": a.body}

        return reply
