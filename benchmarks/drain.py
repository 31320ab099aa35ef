"""Scale-in of k dnodes from 3+k against the simulator: vnode moves and wall time of the plan, against two
references measured in the same run. Run on demand:

    venv/bin/python benchmarks/drain.py [--k 1 2 4] [--fixed 0.05] [--small 0.1] [--large 4] [--runs 3]

The layout: a replica-3 database with 2 vgroups per dnode and a replica-1 database with 1 vgroup per dnode
(7 vnodes on each dnode). A move takes a fixed part (`--fixed` seconds, the simulator's `migration_seconds`;
about 20 s on the real cluster) plus its copy; the copies of one transaction share the bandwidth (1024 KB/s).
Every vnode copies in `--small` or `--large` times the fixed part. For each k and size, three scale-ins of the
same layout, each on a fresh simulator:

- drop-only: today's plan before this one (`drop dnode` each departing dnode, highest ordinal first, TDengine
  placing the vnodes): the provider with a fixed part so large that no vnode counts as worth a redistribute;
- plan: the provider as it is (its costs set to the simulator's);
- minimum: every departing vnode moved once, in parallel drops: `drop dnode` with the departing dnodes'
  `supportVnodes` at 0 first (the enterprise build's `alter dnode`, which the simulator allows on request),
  so TDengine never places a vnode on one. The least any plan can move, and as fast as drops can move it.

Wall time is the DnodeDecommission update (preflight, plan, every statement and wait); the median of `--runs`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engine import Engine, props
from tests.sim import SimCluster

RATE_KB = 1024.0
"""The simulator's copy bandwidth per transaction (KB/s): the plan is told 1 MB/s."""
VARIANTS = ("drop-only", "plan", "minimum")


@dataclass(frozen=True)
class Result:
    leaving: int
    moves: int
    seconds: float
    requests: int


def run(k: int, fixed: float, size_kb: int, variant: str, poll: float) -> Result:
    n = 3 + k
    with SimCluster(migration_seconds=fixed, copy_kb_per_second=RATE_KB, support_vnodes=64, enterprise=True) as sim:
        sim.bootstrap(n)
        engine = Engine(sim)
        with contextlib.redirect_stderr(io.StringIO()):
            engine.up(n)
            sim.create_database("r3", replica=3, vgroups=2 * n)
            sim.create_database("r1", replica=1, vgroups=n)
            sim.set_size("r3", size_kb)
            sim.set_size("r1", size_kb)
            departing = [sim.dnode_id(o) for o in range(3, n)]
            leaving = sum(d["vnodes"] for d in sim.dnodes() if d["id"] in departing)
            if variant == "minimum":
                for dnode in departing:
                    sim.cluster.dnodes[dnode].support_vnodes = 0  # `alter dnode <id> 'supportVnodes' '0'`
            costs = {"moveFixedSeconds": fixed if variant == "plan" else 1e9, "vnodeCopyMBps": RATE_KB / 1024}
            news = props(sim, 3, pollIntervalSeconds=poll, statementTimeoutSeconds=600.0, **costs)
            before = len(sim.requests)
            start = time.perf_counter()
            engine.decommission_outs = engine.decommission.update("id", engine.decommission_outs, news).outs
            elapsed = time.perf_counter() - start
        assert not sim.violations, sim.violations
        assert all(d["id"] not in departing for d in sim.dnodes())
        return Result(leaving, len(sim.moves()), elapsed, len(sim.requests) - before)


def median(results: list[Result]) -> Result:
    return Result(
        results[0].leaving,
        int(statistics.median(r.moves for r in results)),
        statistics.median(r.seconds for r in results),
        int(statistics.median(r.requests for r in results)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="scale-in moves and wall time against the simulator")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--fixed", type=float, default=0.05, help="simulated fixed part of a move (s)")
    parser.add_argument("--small", type=float, default=0.1, help="a small vnode's copy, in fixed parts")
    parser.add_argument("--large", type=float, default=4.0, help="a large vnode's copy, in fixed parts")
    parser.add_argument("--poll", type=float, default=0.02, help="provider poll interval (s)")
    parser.add_argument("--runs", type=int, default=3)
    a = parser.parse_args()
    print(f"fixed part {a.fixed}s per move, copies {a.small}x (small) / {a.large}x (large) of it; median of {a.runs}")
    print(
        "| k | size | leaving | moves: drop-only / plan / minimum | wall: drop-only / plan / minimum "
        "| plan / drop-only | moves / leaving | requests (plan) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, ratio in (("small", a.small), ("large", a.large)):
        size_kb = round(ratio * a.fixed * RATE_KB)
        for k in a.k:
            got: dict[str, Result] = {}
            for variant in VARIANTS:  # interleaved would be fairer on a loaded machine; each run is fresh anyway
                got[variant] = median([run(k, a.fixed, size_kb, variant, a.poll) for _ in range(a.runs)])
            d, p, m = (got[v] for v in VARIANTS)
            print(
                f"| {k} | {label} | {p.leaving} | {d.moves} / {p.moves} / {m.moves} "
                f"| {d.seconds:.2f} / {p.seconds:.2f} / {m.seconds:.2f} s | {p.seconds / d.seconds:.2f} "
                f"| {p.moves / p.leaving:.2f} | {p.requests} |"
            )  # fmt: skip


if __name__ == "__main__":
    main()
