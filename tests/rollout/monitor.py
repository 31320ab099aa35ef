"""A watcher of the simulated cluster during a run: how many dnodes were down at once, and which pods restarted.

"Down" is a dnode neither `ready` nor `dropping` (offline, or its taosd stopped) or a member pod not Ready,
counted only for dnodes and pods that were ready when the watch began and not crashed on purpose by the test (a
fault is not "because of us"). Sampled every few milliseconds under the simulator's lock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from tests.sim import SimCluster


@dataclass
class DownWatch:
    sim: SimCluster
    excused: set[int] = field(default_factory=set)
    """Ordinals whose downtime the test caused (crashed pods)."""
    most: int = 0
    seen: list[tuple[float, tuple[int, ...]]] = field(default_factory=list)
    """(time, ordinals down) at every change."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> DownWatch:
        self._ready = {d["id"] for d in self.sim.dnodes() if d["status"] == "ready"}
        self._ready_pods = {p.ordinal for p in self.sim.kube.pods() if p.ready}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=5)

    def _run(self) -> None:
        last: tuple[int, ...] = ()
        while not self._stop.is_set():
            snap = self.sim.snapshot()
            down = set()
            for d in snap.dnodes:
                ordinal = int(d["endpoint"].split(".", 1)[0].rsplit("-", 1)[1])
                serving = d["status"] in ("ready", "dropping")  # a draining dnode still serves
                if d["id"] in self._ready and not serving and ordinal not in self.excused:
                    down.add(ordinal)
            member = set(range(self.sim.kube.replicas))  # a pod a scale-in removes has been drained first
            for p in snap.pods:
                if not p.ready and p.ordinal in member - self.excused and p.ordinal in self._ready_pods:
                    down.add(p.ordinal)
            shown = tuple(sorted(down))
            if shown != last:
                self.seen.append((time.monotonic(), shown))
                last = shown
            self.most = max(self.most, len(down))
            time.sleep(0.002)
