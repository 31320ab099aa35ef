"""Timed callbacks and timestamp formatting.

One scheduler thread runs pod starts and the image's auto-join retries at their due time, so nothing
in the simulator has to be polled to make time pass.
"""

from __future__ import annotations

import heapq
import itertools
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime


def iso_ms(t: float | None) -> str:
    """taosAdapter's millisecond UTC layout; None (never happened) prints as the epoch."""
    dt = datetime.fromtimestamp(t or 0.0, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class Scheduler:
    """Runs callbacks at (or just after) their due wall-clock time, in (due, submission) order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="sim-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.time() + max(0.0, delay), next(self._seq), fn))
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.time()):
                    wait = (self._heap[0][0] - time.time()) if self._heap else None
                    self._cond.wait(timeout=wait)
                if self._stopped:
                    return
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:  # a broken callback must not stop time for the rest of the simulator
                traceback.print_exc(file=sys.stderr)
