"""examples/: the Automation API script against a fake stack (and its `file://` state folder), and the
pull-request workflow: valid YAML, Pulumi's official action at a pinned CLI version, new stacks created, the
rendered manifests kept, current action majors, and commands that our CLI accepts and docs/operations.md documents."""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

from components.automation import PROJECT_ROOT, StackTarget
from components.cli.parser import build_parser
from components.cli.stacks import stacks_to_preview
from tests.fake_pulumi import FakeFactory, FakeStack, Script

EXAMPLES = PROJECT_ROOT / "examples"
CURRENT_MAJORS = {  # looked up late 2026; bump together with the workflow
    "actions/checkout": "v7",
    "actions/setup-python": "v7",
    "actions/upload-artifact": "v7",
    "pulumi/actions": "v7",
}
WORKFLOW = EXAMPLES / "pulumi-preview.yml"
OPERATIONS = (PROJECT_ROOT / "docs" / "operations.md").read_text()
"""Where the README's operations send a user for pull-request previews."""


def load_example():
    spec = importlib.util.spec_from_file_location("deploy_and_scale", EXAMPLES / "deploy_and_scale.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_deploys_then_scales_with_secrets_in_config(monkeypatch):
    example = load_example()
    monkeypatch.setenv("TDENGINE_ROOT_PASSWORD", "Ex4mple-Pass.word")
    stack = FakeStack("demo")
    topology = {"dnodes": [{"pod": f"tdengine-{i}", "id": i + 1, "status": "ready", "vnodes": 1} for i in range(5)]}
    stack.outputs_after_up = {"topology": auto.OutputValue(topology, False)}
    stack.scripts["up"] = Script(lines=["Updating (demo)"], changes={"create": 10})
    said: list[str] = []
    target = StackTarget("demo", backend_url="file:///tmp/state", secrets_provider="passphrase", passphrase="p")
    results = example.deploy_and_scale(
        target, "tdengine-demo", 5, factory=FakeFactory(stack), say=said.append, requests=("250m", "512Mi")
    )
    names = [c[0] for c in stack.calls]
    assert names.index("set_all_config") < names.index("up")
    assert [c for c in stack.calls if c[0] in ("up", "set_all_config")][-2:] == [
        ("set_all_config", ("replicas",), False),
        ("up",),
    ]
    assert stack.values["tdengine:rootPassword"] == ("Ex4mple-Pass.word", True)
    assert stack.values["tdengine:replicas"] == ("5", False) and len(results) == 2
    assert stack.values["tdengine:cpuRequest"] == ("250m", False)
    assert stack.values["tdengine:memoryRequest"] == ("512Mi", False)
    assert "up demo: 10 create" in said and any(line.startswith("dnodes: tdengine-0") for line in said)
    assert "Ex4mple-Pass.word" not in "\n".join(said)


def test_example_refuses_to_run_without_a_passphrase():
    env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "deploy_and_scale.py")], cwd="/", env=env, capture_output=True, text=True
    )
    assert done.returncode == 2 and "PULUMI_CONFIG_PASSPHRASE" in done.stderr


def test_a_missing_file_backend_folder_is_created_as_an_absolute_url(tmp_path, monkeypatch):
    example = load_example()
    said: list[str] = []
    url = example.prepare_backend(f"file://{tmp_path}/state/nested", say=said.append)
    assert url == f"file://{tmp_path}/state/nested" and (tmp_path / "state" / "nested").is_dir()
    assert said == [f"created the state folder {tmp_path}/state/nested"]
    assert example.prepare_backend(url, say=said.append) == url and len(said) == 1  # exists: nothing said
    monkeypatch.setenv("HOME", str(tmp_path))
    assert example.prepare_backend("file://~/.pulumi-state", say=said.append) == f"file://{tmp_path}/.pulumi-state"
    monkeypatch.chdir(tmp_path)
    assert example.prepare_backend("file://rel?no_tmp_dir=1", say=said.append) == f"file://{tmp_path}/rel?no_tmp_dir=1"
    assert (tmp_path / ".pulumi-state").is_dir() and (tmp_path / "rel").is_dir()
    for other in (None, "s3://acme-state", "https://api.pulumi.com"):
        assert example.prepare_backend(other, say=said.append) == other


def test_main_hands_the_prepared_backend_to_the_stack(tmp_path, monkeypatch):
    example = load_example()
    seen: list[Any] = []
    monkeypatch.setattr(example, "deploy_and_scale", lambda target, *_args, **kw: seen.append((target, kw)))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "p")
    assert example.main(["--backend", f"file://{tmp_path}/new-state", "--cpu-request", "100m"]) == 0
    target, kw = seen[0]
    assert target.backend_url == f"file://{tmp_path}/new-state" and (tmp_path / "new-state").is_dir()
    assert kw["requests"] == ("100m", "1Gi")


def test_a_backend_folder_that_cannot_be_created_is_one_error_line(tmp_path):
    (tmp_path / "file").write_text("")
    env = {"PATH": "/usr/bin:/bin", "PULUMI_CONFIG_PASSPHRASE": "p"}
    for url, reason in ((f"file://{tmp_path}/file/state", "Not a directory"), ("file://", "needs a folder")):
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / "deploy_and_scale.py"), "--backend", url],
            cwd="/",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stderr.startswith(f"error: --backend {url}: ") and reason in done.stderr


def _workflow() -> dict:
    text = WORKFLOW.read_text()
    doc = yaml.safe_load(text)
    return doc


def _steps(doc: dict) -> list[dict]:
    return [step for job in doc["jobs"].values() for step in job["steps"]]


def test_workflow_is_a_pull_request_preview_with_the_official_action():
    doc = _workflow()
    assert doc[True] == {"pull_request": doc[True]["pull_request"]}  # YAML 1.1 reads the key `on` as True
    assert doc["permissions"]["pull-requests"] == "write"
    action = next(s for s in _steps(doc) if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert action["with"]["command"] == "preview" and action["with"]["comment-on-pr"] is True
    assert "matrix.stack" in action["with"]["stack-name"]
    assert doc["jobs"]["preview"]["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    secrets = set(re.findall(r"secrets\.([A-Z0-9_]+)", WORKFLOW.read_text()))
    assert secrets == {"PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "KUBECONFIG_B64", "GITHUB_TOKEN"}
    for secret in secrets - {"GITHUB_TOKEN"}:
        assert f"`{secret}`" in OPERATIONS, f"docs/operations.md does not document the secret {secret}"


def test_workflow_uses_the_current_major_of_every_action():
    uses = {str(s["uses"]) for s in _steps(_workflow()) if "uses" in s}
    assert {u.split("@")[0]: u.split("@")[1] for u in uses} == CURRENT_MAJORS


def test_workflow_pins_the_pulumi_cli_in_one_place_not_older_than_the_sdk():
    doc = _workflow()
    version = doc["env"]["PULUMI_VERSION"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"pin an exact CLI version, not {version!r}"
    action = next(s for s in _steps(doc) if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert action["with"]["pulumi-version"] == "${{ env.PULUMI_VERSION }}"
    assert WORKFLOW.read_text().count(version) == 1  # one place to change it
    sdk = next(
        line.split("==")[1]
        for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
        if line.startswith("pulumi==")
    )
    assert tuple(map(int, version.split("."))) >= tuple(map(int, sdk.split("."))), (
        "the CLI may not be older than the SDK"
    )


def test_workflow_previews_a_new_stack_and_keeps_the_rendered_manifests():
    steps = _steps(_workflow())
    action = next(s for s in steps if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert action["with"]["upsert"] is True  # a PR adding Pulumi.<stack>.yaml: the stack does not exist yet
    render = next(s for s in steps if "components render" in str(s.get("run", "")))
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    out = render["run"].split("--out ", 1)[1].split()[0]
    assert upload["with"]["path"] == out and "matrix.stack" in upload["with"]["name"]
    assert upload["with"]["if-no-files-found"] == "error"
    assert steps.index(render) < steps.index(upload) < steps.index(action)  # kept even when the preview fails


def _our_commands() -> list[str]:
    """The `venv/bin/...` commands the workflow runs, with GitHub expressions replaced by example values."""
    commands = []
    for step in _steps(_workflow()):
        for line in str(step.get("run", "")).splitlines():
            line = line.replace("${{ matrix.stack }}", "dev").replace("${{ github.base_ref }}", "main")
            for part in re.findall(r"(?:python -m venv venv && )?venv/bin/[^\"$)]+", line):
                commands.append(part.strip())
    return commands


def test_workflow_runs_the_readmes_commands_and_our_cli_accepts_them():
    commands = _our_commands()
    assert {c.split()[3] if c.startswith("venv/bin/python -m components") else c for c in commands} >= {
        "stacks",
        "render",
    }
    for command in commands:
        assert command in OPERATIONS, f"the workflow runs `{command}`, which docs/operations.md does not show"
        if command.startswith("venv/bin/python -m components"):
            build_parser().parse_args(shlex.split(command)[3:])  # raises SystemExit on an unknown option


def test_changed_stack_selection():
    stacks = ["dev", "prod"]
    assert stacks_to_preview(["Pulumi.prod.yaml", "README.md"], stacks) == ["prod"]
    assert stacks_to_preview(["components/cluster.py"], stacks) == stacks
    assert stacks_to_preview(["Pulumi.yaml"], stacks) == stacks
    assert stacks_to_preview(["README.md", "tests/test_cli.py", "Pulumi.gone.yaml"], stacks) == []


def test_stacks_command_reads_git(tmp_path: Path):
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        (tmp_path / name).write_text("config: {}\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    (tmp_path / "Pulumi.prod.yaml").write_text("config: {tdengine:replicas: 5}\n")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "scale prod")
    argv = ["stacks", "--changed-since", "HEAD~1", "--json", "--project-dir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "components", *argv], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == '["prod"]'
    bad = subprocess.run(
        [sys.executable, "-m", "components", "stacks", "--changed-since", "nope", "--project-dir", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "git diff against 'nope' failed" in bad.stderr
