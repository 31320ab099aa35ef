"""The ways users run the program, through the real Pulumi CLI and a real control plane: the operator command
line (`python -m components`), and the pull-request workflow's commands as examples/pulumi-preview.yml runs
them (`stacks`, `render`, then `pulumi preview`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tests.e2e.controlplane import E2E_DIR, ROOT
from tests.e2e.harness import NAMESPACE, STATEFULSET
from tests.e2e.real import STACK_RESOURCES, RealCluster
from tests.e2e.watch import ApiWatcher

REAL = True
STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "3", **STACK_RESOURCES}


def operator(e2e: RealCluster, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return e2e.project.operator(*args, timeout=timeout)


def test_operator_cli_up_status_scale_and_destroy(e2e: RealCluster, watcher: ApiWatcher) -> None:
    e2e.project.init(STACK)
    root = str(E2E_DIR)
    up = operator(e2e, "up", "--stack", "e2e", "--yes", "--pulumi-root", root)
    assert up.returncode == 0, up.stdout + up.stderr
    status = operator(e2e, "status", "--stack", "e2e", "--json", "--pulumi-root", root)
    assert status.returncode == 0, status.stderr
    live = json.loads(status.stdout)
    assert sorted(d["status"] for d in live["live"]["dnodes"]) == ["ready"] * 3, live
    assert len(live["live"]["mnodes"]) == 3

    grow = operator(e2e, "scale", "4", "--stack", "e2e", "--yes", "--pulumi-root", root)
    assert grow.returncode == 0, grow.stdout + grow.stderr
    assert len(e2e.tdengine.dnodes()) == 4
    declined = operator(e2e, "scale", "3", "--stack", "e2e", "--pulumi-root", root)  # no terminal, no --yes
    assert declined.returncode == 4 and len(e2e.tdengine.dnodes()) == 4
    shrink = operator(e2e, "scale", "3", "--stack", "e2e", "--yes", "--pulumi-root", root)
    assert shrink.returncode == 0, shrink.stdout + shrink.stderr
    assert "drop dnode" in shrink.stderr + shrink.stdout
    assert len(e2e.tdengine.dnodes()) == 3 and watcher.violations() == []

    gone = operator(e2e, "destroy", "--stack", "e2e", "--yes", "--pulumi-root", root)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not e2e.plane.get("statefulsets", "-n", NAMESPACE)["items"]


def test_the_pull_request_workflow_commands(e2e: RealCluster, tmp_path: Path) -> None:
    """What examples/pulumi-preview.yml runs: the stacks a change touches, their render, then the preview."""
    workflow = yaml.safe_load((ROOT / "examples" / "pulumi-preview.yml").read_text())
    steps = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert any("components render --stack" in s for s in steps) and any("components stacks" in s for s in steps)
    listed = operator(e2e, "stacks", "--json")
    assert listed.returncode == 0 and "e2e" in json.loads(listed.stdout), listed.stdout + listed.stderr
    out = tmp_path / "manifests"
    rendered = operator(e2e, "render", "--stack", "e2e", "--out", str(out))
    assert rendered.returncode == 0, rendered.stderr
    files = sorted(p.name for p in out.iterdir())
    assert "README.txt" in files and any("-statefulset-" in f for f in files), files
    # The render applies as it says: kubectl's server-side dry run on the real API server accepts every object
    # (the Secret it leaves out is made as its header says).
    objects = [p for p in sorted(out.iterdir()) if p.suffix == ".yaml"]
    done = e2e.plane.kubectl("apply", "--dry-run=server", *[a for p in objects for a in ("-f", str(p))], check=False)
    assert "created (server dry run)" in done, done
    preview = e2e.project.preview().check()  # the action's `command: preview` on the same stack
    assert "to create" in preview.stdout and STATEFULSET in preview.stdout
