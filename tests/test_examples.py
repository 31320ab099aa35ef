"""examples/: the Automation API script against a fake stack, and the pull-request workflow: valid YAML,
Pulumi's official action, and commands that our CLI accepts and the README documents."""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from pulumi import automation as auto

from components.automation import PROJECT_ROOT, StackTarget
from components.cli import build_parser, stacks_to_preview
from tests.fake_pulumi import FakeFactory, FakeStack, Script

EXAMPLES = PROJECT_ROOT / "examples"
WORKFLOW = EXAMPLES / "pulumi-preview.yml"
README = (PROJECT_ROOT / "README.md").read_text()


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
    results = example.deploy_and_scale(target, "tdengine-demo", 5, factory=FakeFactory(stack), say=said.append)
    names = [c[0] for c in stack.calls]
    assert names.index("set_all_config") < names.index("up")
    assert [c for c in stack.calls if c[0] in ("up", "set_all_config")][-2:] == [
        ("set_all_config", ("replicas",), False),
        ("up",),
    ]
    assert stack.values["tdengine:rootPassword"] == ("Ex4mple-Pass.word", True)
    assert stack.values["tdengine:replicas"] == ("5", False) and len(results) == 2
    assert "up demo: 10 create" in said and any(line.startswith("dnodes: tdengine-0") for line in said)
    assert "Ex4mple-Pass.word" not in "\n".join(said)


def test_example_refuses_to_run_without_a_passphrase():
    env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "deploy_and_scale.py")], cwd="/", env=env, capture_output=True, text=True
    )
    assert done.returncode == 2 and "PULUMI_CONFIG_PASSPHRASE" in done.stderr


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
        assert f"`{secret}`" in README, f"README does not document the secret {secret}"


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
        assert command in README, f"the workflow runs `{command}`, which the README does not show"
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
