"""The Automation API through the real Pulumi CLI: `examples/deploy_and_scale.py` as its docstring runs it, an
inline program (no Pulumi.<stack>.yaml) whose dynamic-provider host starts in a temporary directory, where it
finds `components` only through `automation.host_environment` (pulumi#7960). Real TDengine in real pods: the
example's 3 dnodes, then 4, with the real `show dnodes` and `show mnodes` as the judge."""

from __future__ import annotations

import subprocess

from tests.e2e.controlplane import ROOT
from tests.e2e.real import STACK_RESOURCES, RealCluster

REAL = True
NAMESPACE = "tdengine-demo"
CLUSTER_OPTIONS = {"namespace": NAMESPACE}


def test_the_example_deploys_three_dnodes_then_scales_to_four_from_another_directory(e2e: RealCluster) -> None:
    env = e2e.project.env()
    env.pop("PULUMI_BACKEND_URL")
    backend = e2e.workdir / "example-state" / "nested"  # missing: the example creates it
    argv = [str(ROOT / "venv" / "bin" / "python"), str(ROOT / "examples" / "deploy_and_scale.py")]
    argv += ["--stack", "demo", "--backend", f"file://{backend}", "--namespace", NAMESPACE, "--scale-to", "4"]
    argv += ["--cpu-request", STACK_RESOURCES["cpuRequest"], "--memory-request", STACK_RESOURCES["memoryRequest"]]
    done = subprocess.run(
        argv,
        cwd=e2e.workdir,  # not the project: the inline program's host runs in a temporary directory anyway
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert backend.is_dir() and f"created the state folder {backend}" in done.stdout
    assert "No module named 'components'" not in done.stdout + done.stderr
    e2e.tdengine.wait_healthy(4, timeout=60)  # 4 ready dnodes, 3 ready mnodes with one leader
    assert sorted(e2e.dnode_ids()) == [f"tdengine-{i}" for i in range(4)] and len(e2e.tdengine.mnodes()) == 3
    assert "tdengine-3" in done.stdout  # the topology it printed after the scale step
