"""`python -m components render`: the objects the component applies, as YAML that applies as it is: no Secret
holding a fake password, a header that says how to create the real one and which membership steps only
`pulumi up` runs, and one clear error line when the output cannot be written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.__main__ import main
from components.render import NOTES_FILE, REDACTED
from tests.harness import ROOT, run_program, stack_config

KINDS = ["Namespace", "ConfigMap", "ConfigMap", "Service", "StatefulSet", "PodDisruptionBudget"]
CREATE_SECRET = "kubectl create secret generic tdengine-root -n tdengine-test"


def _render(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "components", "render", *argv], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def _secret_refs(obj: Any) -> set[str]:
    """Every Secret name an object refers to (secretKeyRef, secretRef, secret volumes)."""
    found: set[str] = set()
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("secretKeyRef", "secretRef") and isinstance(value, dict):
                found.add(value["name"])
            elif key == "secret" and isinstance(value, dict) and "secretName" in value:
                found.add(value["secretName"])
            else:
                found |= _secret_refs(value)
    elif isinstance(obj, list):
        for item in obj:
            found |= _secret_refs(item)
    return found


def test_render_to_stdout_in_a_fresh_process_has_every_object_but_the_secret():
    done = _render("--stack", "dev")
    assert done.returncode == 0, done.stderr
    docs = list(yaml.safe_load_all(done.stdout))
    assert [d["kind"] for d in docs] == KINDS
    assert REDACTED not in done.stdout and "stringData" not in done.stdout


def test_the_header_says_what_it_is_for_and_what_it_leaves_out():
    out = _render("--stack", "dev").stdout
    head = out.split("\n---\n", 1)[0]
    assert all(line.startswith("#") for line in head.splitlines())
    text = " ".join(line.lstrip("# ") for line in head.splitlines())
    assert "For review and GitOps diffs" in text and "the seed's manual runbook" in text
    assert CREATE_SECRET in text and '--from-literal=TAOS_ROOT_PASSWORD="$TAOS_ROOT_PASSWORD"' in text
    for step in ("`create mnode on dnode <id>` for tdengine-1 and tdengine-2", "`drop dnode <id>`", "taosdata-<pod>"):
        assert step in text, step
    assert "`pulumi up` runs" in text


def test_every_secret_the_yaml_refers_to_is_one_the_header_says_how_to_create():
    out = _render("--stack", "dev").stdout
    docs = list(yaml.safe_load_all(out))
    refs = set().union(*(_secret_refs(d) for d in docs))
    assert refs == {"tdengine-root"}  # the StatefulSet's TAOS_ROOT_PASSWORD, by name as `pulumi up` creates it
    head = out.split("\n---\n", 1)[0]
    assert all(f"kubectl create secret generic {name} " in head for name in refs)


def test_render_to_a_directory(tmp_path, capsys):
    assert main(["render", "--stack", "dev", "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0] == "01-namespace-tdengine-test.yaml" and "05-statefulset-tdengine.yaml" in names
    assert NOTES_FILE in names and not any("secret" in n for n in names)
    assert CREATE_SECRET in (tmp_path / NOTES_FILE).read_text()
    out = capsys.readouterr()
    assert str(tmp_path) in out.out and f"the Secret tdengine-root is not rendered; {tmp_path / NOTES_FILE}" in out.err


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc, where nothing can be created")
def test_an_unwritable_out_is_one_error_line_and_exit_2():
    done = _render("--stack", "dev", "--out", "/proc/nope")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: cannot write to --out /proc/nope: No such file or directory. Fix: name a directory you can create"
    ]


def test_an_out_under_a_file_is_refused_the_same_way(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(["render", "--stack", "dev", "--out", str(tmp_path / "file" / "manifests")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write to --out {tmp_path}/file/manifests: Not a directory.")
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_render_matches_what_the_program_declares():
    rendered = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(_render().stdout)}
    monitor = run_program(stack_config("dev")).monitor
    declared = {
        (r.type.rsplit(":", 1)[-1], r.inputs["metadata"]["name"])
        for r in monitor.registered
        if r.type.startswith("kubernetes:") and "metadata" in r.inputs
    }
    assert set(rendered) == declared - {("Secret", "tdengine-root")}
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
