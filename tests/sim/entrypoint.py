"""The image entrypoint's part of a pod start: a non-first dnode on a fresh data dir waits for firstEp,
then runs `create dnode` for itself (through the model, not REST).

One tick tries every waiting pod in the order its taosd started, so the registration order (and with it the
dnode ids) is that order however late the tick runs, as when peers poll in step. Used by the fake Kubernetes
(`kube.py`) and by the end-to-end harness, whose pods are real (`tests/e2e/kubelet.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from tests.sim import ops
from tests.sim.clock import Scheduler
from tests.sim.model import Cluster

MAX_ATTEMPTS = 500


@dataclass(eq=False)
class _Waiting:
    endpoint: str
    still_running: Callable[[], bool]
    password: str | None
    attempts: int = 0


class Entrypoint:
    def __init__(self, cluster: Cluster, scheduler: Scheduler) -> None:
        self._c = cluster
        self._sched = scheduler
        self._lock = threading.Lock()
        self._waiting: list[_Waiting] = []

    def started(self, endpoint: str, still_running: Callable[[], bool], password: str | None = None) -> None:
        """A pod's taosd started on a fresh data dir: it joins once firstEp answers (while `still_running`),
        logging in with `password`, its TAOS_ROOT_PASSWORD (default: the simulator's)."""
        with self._lock:
            self._waiting.append(_Waiting(endpoint, still_running, password))
            first = len(self._waiting) == 1
        if first:
            self._sched.call_later(0.0, self._tick)

    def _tick(self) -> None:
        with self._lock:
            waiting = list(self._waiting)
        done = []
        for entry in waiting:
            outcome = ops.auto_join(self._c, entry.endpoint, entry.password) if entry.still_running() else "fail"
            entry.attempts += 1
            if outcome != "retry" or entry.attempts > MAX_ATTEMPTS:
                done.append(entry)
        with self._lock:
            self._waiting = [e for e in self._waiting if e not in done]
            more = bool(self._waiting)
        if more:
            self._sched.call_later(self._c.cfg.heartbeat_seconds / 2, self._tick)
