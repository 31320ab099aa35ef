"""The simulator's fidelity, measured: the same statement sequences (`sequence.SEQUENCE`: the membership runbook,
the scale-in plan's reads, a restart's health reads, the error cases) against the simulator and a real 3.3.7.5
cluster (3 taosd, then 5, and a taosAdapter, `server.RealCluster`), compared statement by statement
(`compare.py`). A difference not in `known.py` fails. Runs only with `--real` (tests/conftest.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.real import server
from tests.real.compare import Observation, differences, unknown, unused
from tests.real.known import KNOWN
from tests.real.sequence import Run
from tests.real.targets import RealTarget, SimTarget

REPORT = server.CACHE.parent / "differential-report.json"


def _run_sim() -> tuple[list[Observation], dict[str, float]]:
    target = SimTarget().start()
    try:
        run = Run(target)
        return run.go(), run.seconds
    finally:
        target.close()


def test_the_simulator_answers_as_the_real_server(tmp_path: Path, property_summary: list[str]) -> None:
    if not server.available():
        pytest.skip("no real TDengine build, or not root (unshare/nsenter)")
    sim, sim_seconds = _run_sim()
    t0 = time.monotonic()
    target = RealTarget(tmp_path)
    try:
        target.start()
        run = Run(target)
        real = run.go()
    finally:
        target.close()
    wall = time.monotonic() - t0
    diffs = differences(sim, real, KNOWN)
    new = unknown(diffs)
    REPORT.write_text(
        json.dumps(
            {
                "real_start_seconds": target.cluster.start_seconds,
                "real_wall_seconds": wall,
                "real_step_seconds": run.seconds,
                "sim_step_seconds": sim_seconds,
                "differences": [d.line() for d in diffs],
                "known_not_seen": [k.why for k in unused(KNOWN, diffs)],
                "real": [{"label": o.label, **o.fields} for o in real],
                "sim": [{"label": o.label, **o.fields} for o in sim],
            },
            indent=1,
        )
    )
    property_summary.append(
        f"differential: {len(real)} observations, {len(diffs) - len(new)} known differences, {len(new)} new; "
        f"real cluster up in {target.cluster.start_seconds:.1f} s, whole real run {wall:.0f} s, simulator "
        f"{sim_seconds['total']:.1f} s (report: {REPORT})"
    )
    assert not new, "differences not in tests/real/known.py:\n" + "\n".join(d.line() for d in new)
