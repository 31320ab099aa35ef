"""Scale-down overhead: the provider's drain time over the simulator's own migration time, and the
number of REST requests, for draining k dnodes. Run on demand:

    venv/bin/python benchmarks/drain.py [--k 1 2 4] [--migration 0.05] [--poll 0.05]

The simulator moves one vnode per `--migration` seconds, serially, so the least a drain can take is
(vnodes on the departing dnodes) x migration. Overhead = provider time / that minimum.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engine import Engine, props
from tests.sim import SimCluster


def run(k: int, migration: float, poll: float, vgroups_per_dnode: int = 2) -> tuple[float, float, int, int]:
    n = 3 + k
    with SimCluster(migration_seconds=migration, support_vnodes=64) as sim:
        sim.bootstrap(n)
        engine = Engine(sim)
        with contextlib.redirect_stderr(io.StringIO()):
            engine.up(n)
            sim.create_database("bench", replica=3, vgroups=vgroups_per_dnode * n)
            leaving = sum(d["vnodes"] for d in sim.dnodes() if int(d["endpoint"].split(".")[0].rsplit("-", 1)[1]) >= 3)
            before = len(sim.requests)
            start = time.perf_counter()
            engine.decommission_outs = engine.decommission.update(
                "id", engine.decommission_outs, props(sim, 3, pollIntervalSeconds=poll, statementTimeoutSeconds=60.0)
            ).outs
            elapsed = time.perf_counter() - start
        assert not sim.violations, sim.violations
        return elapsed, leaving * migration, len(sim.requests) - before, leaving


def main() -> None:
    parser = argparse.ArgumentParser(description="drain overhead against the simulator")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--migration", type=float, default=0.05, help="simulated seconds per vnode move")
    parser.add_argument("--poll", type=float, default=0.05, help="provider poll interval")
    a = parser.parse_args()
    print(f"migration {a.migration}s per vnode, poll {a.poll}s")
    print(f"{'k':>3} {'vnodes':>6} {'sim min (s)':>11} {'provider (s)':>12} {'overhead':>8} {'requests':>8}")
    for k in a.k:
        elapsed, minimum, requests, vnodes = run(k, a.migration, a.poll)
        print(f"{k:>3} {vnodes:>6} {minimum:>11.2f} {elapsed:>12.2f} {elapsed / minimum:>7.2f}x {requests:>8}")


if __name__ == "__main__":
    main()
