"""Wall time and peak memory of evaluating the whole program under mocks (the work `pulumi preview`
spends in our code), against `python -c "import pulumi"` as the baseline. Run on demand:

    venv/bin/python benchmarks/program_eval.py [--runs 5]

Each measurement is a fresh interpreter, so imports are counted as a real preview pays them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, resource, sys, time
t0 = time.perf_counter()
{body}
elapsed = time.perf_counter() - t0
print(json.dumps({{"seconds": elapsed, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""

BASELINE = "import pulumi"
PROGRAM = f"""
sys.path.insert(0, {str(ROOT)!r})
from tests.harness import run_program, stack_config
run = run_program(stack_config("dev"))
assert len(run.monitor.registered) >= 8
"""


def measure(body: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(body=body)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    base = [measure(BASELINE) for _ in range(runs)]
    prog = [measure(PROGRAM) for _ in range(runs)]
    b_t = statistics.median(r["seconds"] for r in base)
    p_t = statistics.median(r["seconds"] for r in prog)
    b_m = max(r["peak_kib"] for r in base) / 1024
    p_m = max(r["peak_kib"] for r in prog) / 1024
    print(f"runs per case: {runs} (median time, max peak RSS)")
    print(f"baseline  import pulumi          : {b_t:6.3f} s  {b_m:6.1f} MiB")
    print(f"program   dev stack under mocks  : {p_t:6.3f} s  {p_m:6.1f} MiB")
    print(f"ratio     program / baseline     : {p_t / b_t:6.2f}x time  {p_m / b_m:6.2f}x memory")


if __name__ == "__main__":
    main()
