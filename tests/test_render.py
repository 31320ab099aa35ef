"""`python -m components render`: the same objects the component applies, secrets redacted."""

from __future__ import annotations

import subprocess
import sys

import yaml

from components.__main__ import main
from components.render import REDACTED
from tests.harness import ROOT, run_program, stack_config


def test_render_to_stdout_in_a_fresh_process_has_every_object_and_no_secret():
    out = subprocess.run(
        [sys.executable, "-m", "components", "render", "--stack", "dev"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    docs = list(yaml.safe_load_all(out))
    assert [d["kind"] for d in docs] == [
        "Namespace",
        "Secret",
        "ConfigMap",
        "Service",
        "StatefulSet",
        "PodDisruptionBudget",
    ]
    assert docs[1]["stringData"] == {"TAOS_ROOT_PASSWORD": REDACTED}


def test_render_to_a_directory(tmp_path, capsys):
    assert main(["render", "--stack", "dev", "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0] == "01-namespace-tdengine-test.yaml" and "05-statefulset-tdengine.yaml" in names
    assert str(tmp_path) in capsys.readouterr().out


def test_render_matches_what_the_program_declares():
    rendered = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(_render_stdout())}
    monitor = run_program(stack_config("dev")).monitor
    sts = monitor.one("kubernetes:apps/v1:StatefulSet").inputs
    assert {k: sts[k] for k in ("metadata", "spec")} == {
        k: rendered[("StatefulSet", "tdengine")][k] for k in ("metadata", "spec")
    }
    svc = monitor.of_type("kubernetes:core/v1:Service")[0].inputs
    assert svc["spec"] == rendered[("Service", "taosd")]["spec"]


def test_unknown_stack_and_bad_config_exit_2(tmp_path, capsys):
    assert main(["render", "--stack", "nosuch"]) == 2
    assert "no stack file Pulumi.nosuch.yaml" in capsys.readouterr().err


def test_configured_secret_is_not_rendered(tmp_path, monkeypatch):
    project = tmp_path / "p"
    project.mkdir()
    (project / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (project / "Pulumi.prod.yaml").write_text(
        "config:\n  tdengine:replicas: 5\n  tdengine:rootPassword:\n    secure: AAABAJ0dGVzdA==\n"
    )
    from components import render

    values = render.stack_values("prod", project)
    assert values == {"replicas": 5}


def _render_stdout() -> str:
    return subprocess.run(
        [sys.executable, "-m", "components", "render"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout
