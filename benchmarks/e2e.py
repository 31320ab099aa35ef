"""The end-to-end tier's figures, on demand (never in a test): through the real Pulumi CLI, against the local
control plane of `tests/e2e/harness.py` (build it first: scripts/e2e-tools).

    venv/bin/python benchmarks/e2e.py [--runs 3] [--migration 1.0]

- `pulumi preview` of a new dev stack against a naive program that declares just the seed's two YAML
  documents (its Service and StatefulSet) with pulumi-kubernetes: same engine, same machine; the ratio.
- `pulumi up` of a new 3-dnode stack until `topology` says 3 ready dnodes and 3 mnodes.
- a 1-dnode scale-in (4 -> 3, a replica-3 database) over the simulator's own migration time for the vnodes that
  had to leave: what the engine and the provider add.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import NAMESPACE, E2ECluster  # noqa: E402
from tests.e2e.pulumi_cli import PulumiProject  # noqa: E402

SEED = ROOT.parent / "shared" / "seed" / "tdengine-on-kubernetes.zh.md"
STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "3"}
NAIVE = """import json
import pulumi_kubernetes as k8s

docs = json.load(open("seed.json"))
for doc in docs:
    body = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind")}
    kind = {"Service": k8s.core.v1.Service, "StatefulSet": k8s.apps.v1.StatefulSet}[doc["kind"]]
    kind(doc["metadata"]["name"], **body)
"""


def naive_project(workdir: Path, kubeconfig: Path) -> PulumiProject:
    """A second project next to ours: the seed's two documents, nothing else."""
    project = PulumiProject(workdir / "naive", kubeconfig)
    (project.dir / "Pulumi.yaml").write_text(
        "name: naive\nruntime:\n  name: python\n  options:\n    virtualenv: venv\n"
    )
    (project.dir / "__main__.py").write_text(NAIVE)
    text = SEED.read_text(encoding="utf-8")
    docs = [yaml.safe_load(b) for b in re.findall(r"```YAML\n(.*?)```", text, flags=re.S)]
    seed = [d for d in docs if isinstance(d, dict) and d.get("kind") in ("Service", "StatefulSet")]
    for d in seed:
        d["metadata"]["namespace"] = "default"
    (project.dir / "seed.json").write_text(__import__("json").dumps(seed))
    shutil.rmtree(project.dir / "components", ignore_errors=True)
    (project.dir / "components").unlink(missing_ok=True)
    return project


def preview_seconds(ours: PulumiProject, naive: PulumiProject, runs: int) -> tuple[float, float]:
    """Medians, the two previews interleaved (after one warm-up each) so that load on the machine hits both."""
    ours.preview().check()
    naive.preview().check()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        times[0].append(ours.preview().check().seconds)
        times[1].append(naive.preview().check().seconds)
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--migration", type=float, default=1.0, help="simulated seconds per vnode move")
    opts = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tdengine-bench-e2e-"))
    with E2ECluster(workdir, migration_seconds=opts.migration) as e2e:
        ours = e2e.project
        ours.init(STACK)
        naive = naive_project(workdir, e2e.plane.kubeconfig)
        naive.pulumi("stack", "init", "bench").check()
        t_ours, t_naive = preview_seconds(ours, naive, opts.runs)
        print(f"preview, new stack (median of {opts.runs}): ours {t_ours:.2f} s, naive seed program {t_naive:.2f} s,")
        print(f"  ratio {t_ours / t_naive:.2f}")

        t0 = time.monotonic()
        ours.up().check()
        top = ours.outputs()["topology"]
        assert sorted(d["status"] for d in top["dnodes"]) == ["ready"] * 3 and len(top["mnodes"]) == 3
        print(f"up of a new 3-dnode stack until converged: {time.monotonic() - t0:.1f} s")

        ours.set("replicas", "4")
        ours.up().check()
        e2e.sim.create_database("bench", replica=3, vgroups=4)
        departing = next(d for d in e2e.sim.dnodes() if d["endpoint"].startswith("tdengine-3."))
        moves = int(departing["vnodes"])
        ours.set("replicas", "3")
        t0 = time.monotonic()
        run = ours.up().check()
        wall = time.monotonic() - t0
        floor = moves * opts.migration  # the simulator moves a dropped dnode's vnodes one after another
        print(
            f"scale-in 4 -> 3: {moves} vnodes moved, simulator's own migration {floor:.1f} s, pulumi up {wall:.1f} s "
            f"({wall / floor:.2f}x; the whole up, engine and StatefulSet included; drain itself in the log: "
            f"{next((m.group(0) for m in [re.search(r'drained in [0-9.]+s', run.output)] if m), '?')})"
        )
    print(f"(work directory {workdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
