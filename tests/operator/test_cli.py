"""`python -m components`: arguments, --help (the README's table of commands, docs/operations.md's exit codes), missing
prerequisites (all reported at once), confirmations and exit codes, with the Pulumi CLI replaced at the
Automation API seam; `status` reads live topology from the simulator.

Over 300 lines: every command and exit code of the CLI, with the one fake runtime they share.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pulumi import automation as auto

from components.automation import PROJECT_ROOT, open_stack
from components.cli import runtime
from components.cli.app import main
from components.cli.runtime import DECLINED, FAILED, MISSING, OK, USAGE, Runtime
from tests.fake_pulumi import FakeFactory, FakeStack, Script, command_error, error_event
from tests.harness import SEED_STACK
from tests.sim import SimCluster
from tests.verify.test_verify_sim import PW as VERIFY_PW
from tests.verify.test_verify_sim import healthy

PASSWORD = "Cl1-R00t.pw-9e2d"
README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
OPERATIONS = (PROJECT_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
COMMAND_NAMES = ("preview", "up", "scale", "status", "verify", "destroy", "render", "stacks", "init")


class Terminal(io.StringIO):
    """stdin that says whether it is a terminal, with the operator's answers pre-typed."""

    def __init__(self, answers: str = "", tty: bool = True) -> None:
        super().__init__(answers)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def kubeconfig(
    tmp_path: Path, contexts: tuple[str, ...] = ("kind-dev",), current: str = "kind-dev", name: str = "kubeconfig"
) -> Path:
    path = tmp_path / name
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": current,
                "contexts": [{"name": c, "context": {"cluster": c, "user": c}} for c in contexts],
            }
        )
    )
    return path


def deployed(replicas: int) -> dict[str, auto.OutputValue]:
    return {
        "namespace": auto.OutputValue("tdengine-test", False),
        "podFqdns": auto.OutputValue([f"tdengine-{i}.taosd" for i in range(replicas)], False),
        "rootPassword": auto.OutputValue(PASSWORD, True),
    }


class Run:
    def __init__(self, tmp_path: Path, stack: FakeStack | None = None, stdin: Terminal | None = None, **env: str):
        self.stack = stack or FakeStack("dev")
        self.factory = FakeFactory(self.stack)
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        self.runtime = Runtime(
            factory=self.factory,
            pulumi_cli=lambda _root, _env: None,  # the CLI is "installed"; tests that need it missing say so
            env={"KUBECONFIG": str(kubeconfig(tmp_path)), **env},
            home=tmp_path,
            stdin=stdin or Terminal(tty=False),
            stdout=self.stdout,
            stderr=self.stderr,
            heartbeat_seconds=0,
        )

        self.project = tmp_path / "project"  # a copy: the working tree's Pulumi.dev.yaml is the user's
        self.project.mkdir(exist_ok=True)
        shutil.copy(PROJECT_ROOT / "Pulumi.yaml", self.project / "Pulumi.yaml")
        if not (self.project / "Pulumi.dev.yaml").exists():
            (self.project / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": SEED_STACK}))

    def __call__(self, *argv: str) -> int:
        args = list(argv)
        if "--stack" in args and "--project-dir" not in args:
            args += ["--project-dir", str(self.project)]
        return main(args, self.runtime)

    def replicas_in_stack_file(self) -> object:
        return yaml.safe_load((self.project / "Pulumi.dev.yaml").read_text())["config"]["tdengine:replicas"]

    @property
    def out(self) -> str:
        return self.stdout.getvalue()

    @property
    def err(self) -> str:
        return self.stderr.getvalue()


# -- arguments and --help -------------------------------------------------------------------------------------------
def test_help_names_every_command_and_the_exit_codes(capsys):
    assert main(["--help"]) == OK
    text = capsys.readouterr().out
    for name in COMMAND_NAMES:
        assert f"\n    {name} " in text
    for code, meaning in runtime.EXIT_CODES.items():
        assert f"  {code}  {meaning}" in text
    assert "PULUMI_CONFIG_PASSPHRASE" in text


def _section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_documented_exit_codes_are_the_ones_help_prints():
    section = _section(OPERATIONS, "The operator command line")
    documented = [line for line in section.splitlines() if re.match(r"\| \d \|", line)]
    assert documented == [f"| {code} | {meaning} |" for code, meaning in runtime.EXIT_CODES.items()]


def test_the_readme_command_table_names_every_command():
    section = _section(README, "Operations")
    documented = [m.group(1) for m in re.finditer(r"^\| `(\w+)", section, flags=re.M)]
    assert documented == list(COMMAND_NAMES)


def test_scale_help_explains_the_scale_in_order(capsys):
    assert main(["scale", "--help"]) == OK
    text = " ".join(capsys.readouterr().out.split())
    assert "highest ordinal first" in text and "--yes" in text and "--stack NAME" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["up"], "the following arguments are required: --stack"),
        (["scale", "--stack", "dev"], "the following arguments are required: N"),
        (["scale", "three", "--stack", "dev"], "'three' is not a whole number"),
        (["scale", "0", "--stack", "dev"], "a cluster needs at least 1"),
        (["upgrade", "--stack", "dev"], "invalid choice: 'upgrade'"),
    ],
)
def test_argument_errors_exit_2_with_the_reason(tmp_path, capsys, argv, message):
    run = Run(tmp_path)
    assert run(*argv) == USAGE
    assert message in capsys.readouterr().err
    assert run.factory.opened == []


def test_an_unknown_stack_lists_the_known_ones(tmp_path):
    run = Run(tmp_path)
    assert run("up", "--stack", "prod") == USAGE
    assert "no stack file Pulumi.prod.yaml" in run.err and "(stacks: dev)" in run.err
    assert run.factory.opened == []


def test_invalid_stack_config_is_reported_before_anything_runs(tmp_path):
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.bad.yaml").write_text("config:\n  tdengine:replicas: many\n  tdengine:storageSize: lots\n")
    run = Run(tmp_path)
    assert run("preview", "--stack", "bad", "--project-dir", str(tmp_path)) == USAGE
    assert "replicas: 'many' is not an integer" in run.err and "storageSize" in run.err
    assert run.factory.opened == []


# -- missing prerequisites --------------------------------------------------------------------------------------------
def test_missing_pulumi_cli_exits_3_with_how_to_install(tmp_path):
    run = Run(tmp_path)
    run.runtime.pulumi_cli = runtime.pulumi_cli_problem  # the real check, pointed at a directory without bin/pulumi
    assert run("preview", "--stack", "dev", "--pulumi-root", str(tmp_path)) == MISSING
    assert f"the Pulumi CLI was not found ({tmp_path}/bin/pulumi)" in run.err
    assert "https://www.pulumi.com/docs/install/" in run.err and run.factory.opened == []


def test_a_cli_that_vanishes_after_the_preflight_is_still_exit_3(tmp_path):
    run = Run(tmp_path)
    run.runtime.factory = open_stack  # the real factory, pointed at a directory without bin/pulumi
    assert run("preview", "--stack", "dev", "--pulumi-root", str(tmp_path)) == MISSING
    assert f"the Pulumi CLI was not found ({tmp_path}/bin/pulumi)" in run.err


def test_the_cli_check_looks_where_the_automation_api_will(tmp_path):
    assert runtime.pulumi_cli_problem(None, {"PATH": str(tmp_path)}).startswith(
        "the Pulumi CLI was not found (`pulumi`"
    )
    (tmp_path / "bin").mkdir()
    pulumi = tmp_path / "bin" / "pulumi"
    pulumi.write_text("#!/bin/sh\n")
    assert "not found" in runtime.pulumi_cli_problem(
        tmp_path, {}
    )  # not executable: the Automation API could not run it
    pulumi.chmod(0o755)
    assert runtime.pulumi_cli_problem(tmp_path, {}) is None
    assert runtime.pulumi_cli_problem(None, {"PATH": f"/nonexistent:{tmp_path / 'bin'}"}) is None


def test_every_missing_piece_is_reported_at_once(tmp_path):
    """No stack file, no Pulumi CLI, no kubeconfig: one run names all three fixes; the code is the first one's."""
    run = Run(tmp_path, KUBECONFIG=str(tmp_path / "nope.yaml"))
    run.runtime.pulumi_cli = runtime.pulumi_cli_problem
    assert run("up", "--stack", "prod", "--pulumi-root", str(tmp_path)) == USAGE
    lines = run.err.splitlines()
    assert lines[0] == "error: 3 problems; nothing was run:"
    assert lines[1].startswith("  - no stack file Pulumi.prod.yaml") and "(stacks: dev)" in lines[1]
    assert lines[2].startswith(f"  - the Pulumi CLI was not found ({tmp_path}/bin/pulumi)")
    assert lines[3].startswith("  - no kubeconfig found") and "export KUBECONFIG" in lines[3]
    assert run.factory.opened == []


def test_invalid_settings_a_missing_cli_and_an_unknown_context_at_once(tmp_path):
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  tdengine:replicas: many\n  tdengine:storageSize: lots\n  tdengine:kubeContext: prod-eu\n"
    )
    run = Run(tmp_path)
    run.runtime.pulumi_cli = lambda _root, _env: "the Pulumi CLI was not found (`pulumi` on PATH). Fix: install it"
    assert run("destroy", "--stack", "bad", "--project-dir", str(tmp_path), "--yes") == USAGE
    assert run.err.startswith("error: 3 problems; nothing was run:\n  - Pulumi.bad.yaml: invalid TDengine cluster")
    assert "\n      - replicas: 'many' is not an integer" in run.err and "storageSize" in run.err  # nested, indented
    assert "the Pulumi CLI was not found" in run.err and "kube context 'prod-eu'" in run.err
    assert run.factory.opened == []


def test_only_prerequisites_missing_is_exit_3(tmp_path):
    run = Run(tmp_path, KUBECONFIG=str(tmp_path / "nope.yaml"))
    run.runtime.pulumi_cli = lambda _root, _env: "the Pulumi CLI was not found (`pulumi` on PATH). Fix: install it"
    assert run("verify", "--stack", "dev") == MISSING
    assert "2 problems" in run.err and "Pulumi CLI" in run.err and "no kubeconfig found" in run.err


def test_a_scale_below_three_and_a_missing_cli_are_reported_together(tmp_path):
    run = Run(tmp_path, FakeStack("dev", outputs=deployed(3)))
    run.runtime.pulumi_cli = lambda _root, _env: "the Pulumi CLI was not found (`pulumi` on PATH). Fix: install it"
    assert run("scale", "2", "--stack", "dev", "--yes") == USAGE
    assert "2 problems" in run.err and "allowFewerThanThreeDnodes" in run.err and "Pulumi CLI" in run.err


def test_missing_kubeconfig_exits_3_before_pulumi_is_started(tmp_path):
    run = Run(tmp_path, KUBECONFIG=str(tmp_path / "nope.yaml"))
    assert run("up", "--stack", "dev") == MISSING
    assert "no kubeconfig found" in run.err and "export KUBECONFIG" in run.err
    assert "pulumi config set --secret kubeconfig" in run.err and run.factory.opened == []


def test_unknown_kube_context_names_the_known_ones(tmp_path):
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.prod.yaml").write_text("config:\n  tdengine:kubeContext: prod-eu\n")
    run = Run(tmp_path)
    assert run("up", "--stack", "prod", "--project-dir", str(tmp_path)) == MISSING
    assert "kube context 'prod-eu'" in run.err and "(contexts: kind-dev)" in run.err
    assert "pulumi config set kubeContext NAME --stack prod" in run.err


def test_no_current_context_is_missing_too(tmp_path):
    run = Run(tmp_path, KUBECONFIG=str(kubeconfig(tmp_path, current="", name="no-current")))
    assert run("destroy", "--stack", "dev", "--yes") == MISSING
    assert "no current-context" in run.err and "kubectl config use-context" in run.err


def test_preview_needs_no_cluster(tmp_path):
    stack = FakeStack("dev")
    stack.scripts["preview"] = Script(lines=["Previewing update (dev)"], changes={"create": 10})
    run = Run(tmp_path, stack, KUBECONFIG=str(tmp_path / "nope.yaml"))
    assert run("preview", "--stack", "dev") == OK
    assert "Previewing update (dev)" in run.out and "preview dev: 10 create" in run.out


def test_in_cluster_credentials_are_enough(tmp_path):
    run = Run(tmp_path, KUBECONFIG=str(tmp_path / "nope.yaml"), KUBERNETES_SERVICE_HOST="10.0.0.1")
    assert run("up", "--stack", "dev") == OK


# -- scale and confirmations ------------------------------------------------------------------------------------------
def test_scale_down_asks_and_a_no_changes_nothing(tmp_path):
    stack = FakeStack("dev", outputs=deployed(5))
    run = Run(tmp_path, stack, stdin=Terminal("n\n"))
    assert run("scale", "3", "--stack", "dev") == DECLINED
    assert "drains and removes tdengine-4, tdengine-3" in run.err and "Continue? [y/N]" in run.err
    assert stack.operations() == [] and not any(c[0] == "set_all_config" for c in stack.calls)


def test_scale_down_without_a_terminal_needs_yes(tmp_path):
    stack = FakeStack("dev", outputs=deployed(5))
    run = Run(tmp_path, stack, stdin=Terminal(tty=False))
    assert run("scale", "4", "--stack", "dev") == DECLINED
    assert "stdin is not a terminal. Re-run with --yes" in run.err and stack.operations() == []


def test_scale_down_confirmed_sets_replicas_then_runs_up(tmp_path):
    stack = FakeStack("dev", outputs=deployed(5))
    stack.scripts["up"] = Script(lines=["[tdengine] drain tdengine-4: 2 vnodes left"], changes={"update": 3})
    run = Run(tmp_path, stack, stdin=Terminal("y\n"))
    assert run("scale", "3", "--stack", "dev") == OK
    assert run.replicas_in_stack_file() == 3  # a YAML integer, as the user wrote it
    assert "[tdengine] drain tdengine-4: 2 vnodes left" in run.out and "up dev: 3 update" in run.out


def test_scale_down_with_yes_does_not_ask(tmp_path):
    stack = FakeStack("dev", outputs=deployed(4))
    run = Run(tmp_path, stack)
    assert run("scale", "3", "--stack", "dev", "--yes") == OK
    assert "Continue?" not in run.err and stack.operations() == ["up"]


def test_scale_up_does_not_ask(tmp_path):
    stack = FakeStack("dev", outputs=deployed(3))
    run = Run(tmp_path, stack)
    assert run("scale", "5", "--stack", "dev") == OK
    assert run.replicas_in_stack_file() == 5 and stack.operations() == ["up"]


def test_scale_below_three_needs_the_acknowledgement_setting(tmp_path):
    run = Run(tmp_path, FakeStack("dev", outputs=deployed(3)))
    assert run("scale", "2", "--stack", "dev", "--yes") == USAGE
    assert "allowFewerThanThreeDnodes" in run.err and run.factory.opened == []


def test_up_that_lowers_replicas_asks_like_scale(tmp_path):
    stack = FakeStack("dev", outputs=deployed(5))  # Pulumi.dev.yaml says 3
    run = Run(tmp_path, stack, stdin=Terminal("no\n"))
    assert run("up", "--stack", "dev") == DECLINED
    assert "from 5 to 3 dnodes" in run.err and stack.operations() == []


def test_destroy_asks_and_says_whether_data_is_kept(tmp_path):
    stack = FakeStack("dev", outputs=deployed(3))
    run = Run(tmp_path, stack, stdin=Terminal("n\n"))
    assert run("destroy", "--stack", "dev") == DECLINED
    assert "(the data volumes are kept)" in run.err and stack.operations() == []
    kept = "destroy kept the data (deleteDataOnDestroy is false): namespace tdengine-test (retained), its PVCs"
    stack.scripts["destroy"] = Script(
        lines=[f"    pulumi:pulumi:Stack tdengine-dev  [tdengine] {kept} (...)", "Resources:", "    - 13 deleted"],
        changes={"delete": 13},
    )
    done = Run(tmp_path, stack)
    assert done("destroy", "--stack", "dev", "--yes") == OK
    assert stack.operations() == ["destroy"]
    assert done.out.strip().splitlines()[-1] == f"{kept} (...)"  # what was kept is the last line, after the summary


# -- failures and machine-readable output ------------------------------------------------------------------------------
def test_a_refused_scale_down_exits_1_with_the_reason_and_how_to_resume(tmp_path):
    stack = FakeStack("dev", outputs=deployed(4))
    reason = "scale-down refused: dnode 3 (tdengine-2) is offline. Fix: bring it back, or set forceDropOffline"
    stack.scripts["up"] = Script(events=[error_event(reason)], raises=command_error("error: update failed"))
    run = Run(tmp_path, stack)
    assert run("scale", "3", "--stack", "dev", "--yes") == FAILED
    assert reason in run.err and "replicas is now 3" in run.err
    assert "python -m components up --stack dev` to finish" in run.err and "`scale 4` restores" in run.err


def test_json_output_is_the_typed_result_and_hides_secrets(tmp_path):
    stack = FakeStack("dev")
    stack.outputs_after_up = deployed(3)
    stack.scripts["up"] = Script(lines=["Updating (dev)"], changes={"create": 10})
    run = Run(tmp_path, stack)
    assert run("up", "--stack", "dev", "--json") == OK
    result = json.loads(run.out)
    assert result["operation"] == "up" and result["changes"] == {"create": 10}
    assert result["outputs"]["rootPassword"] == "[secret]" and PASSWORD not in run.out + run.err
    assert "Updating (dev)" in run.err  # Pulumi's own output goes to stderr with --json


def test_status_offline_shows_outputs_and_hides_the_password(tmp_path):
    outputs = deployed(3)
    outputs["topology"] = auto.OutputValue(
        {"dnodes": [{"pod": "tdengine-0", "id": 1, "status": "ready", "vnodes": 4}], "mnodes": []}, False
    )
    run = Run(tmp_path, FakeStack("dev", outputs=outputs))
    assert run("status", "--stack", "dev", "--offline") == OK
    assert "namespace: tdengine-test" in run.out and "topology (at the last up)" in run.out
    assert "tdengine-0 (id 1, ready, 4 vnodes)" in run.out and PASSWORD not in run.out


def test_status_of_an_undeployed_stack_says_so(tmp_path):
    run = Run(tmp_path, FakeStack("dev"))
    assert run("status", "--stack", "dev", "--offline") == FAILED
    assert "has not been deployed" in run.err


def test_status_reads_the_live_topology_from_the_cluster(tmp_path):
    with SimCluster(root_password=PASSWORD) as sim:
        sim.bootstrap(3)
        shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
        (tmp_path / "Pulumi.sim.yaml").write_text(
            f"config:\n  tdengine:namespace: tdengine-test\n  tdengine:adminUrl: {sim.url}\n"
        )
        run = Run(tmp_path, FakeStack("sim", outputs=deployed(3)))
        assert run("status", "--stack", "sim", "--project-dir", str(tmp_path), "--json") == OK
    report = json.loads(run.out)
    live = report["live"]
    assert sorted(d["pod"] for d in live["dnodes"]) == ["tdengine-0", "tdengine-1", "tdengine-2"]
    assert [m["role"] for m in live["mnodes"]] == ["leader"]  # a fresh cluster: the mnodes are ClusterMembership's job
    assert report["outputs"]["rootPassword"] == "[secret]" and PASSWORD not in run.out


def test_status_with_a_wrong_password_fails_with_the_cause(tmp_path):
    with SimCluster(root_password=PASSWORD) as sim:
        sim.bootstrap(1)
        shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
        (tmp_path / "Pulumi.sim.yaml").write_text(f"config:\n  tdengine:adminUrl: {sim.url}\n")
        outputs = {**deployed(1), "rootPassword": auto.OutputValue("Wr0ng-pass.word", True)}
        run = Run(tmp_path, FakeStack("sim", outputs=outputs))
        assert run("status", "--stack", "sim", "--project-dir", str(tmp_path)) == FAILED
    assert "error:" in run.err and "Wr0ng-pass.word" not in run.err


def test_the_module_entry_point_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "components", "scale", "--stack", "dev", "x"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == USAGE and "'x' is not a whole number" in done.stderr


# -- verify ------------------------------------------------------------------------------------------------------------
def _verify_run(tmp_path: Path, sim: SimCluster, password: str) -> Run:
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.sim.yaml").write_text(
        f"config:\n  tdengine:namespace: tdengine-test\n  tdengine:adminUrl: {sim.url}\n"
    )
    run = Run(tmp_path, FakeStack("sim", outputs={**deployed(3), "rootPassword": auto.OutputValue(password, True)}))
    run.runtime.verify_kube = lambda _args, _kubeconfig: sim.kube
    return run


def test_verify_reports_the_cluster_and_hides_the_password(tmp_path):
    sim = healthy()
    try:
        run = _verify_run(tmp_path, sim, VERIFY_PW)
        argv = ("verify", "--stack", "sim", "--project-dir", str(tmp_path), "--tables", "3", "--rows", "5")
        assert run(*argv) == OK
    finally:
        sim.stop()
    assert "tdengine-0" in run.out and "15" in run.out  # 3 tables x 5 rows counted
    assert "[tdengine] verify:" in run.err and VERIFY_PW not in run.out + run.err


def test_verify_failover_is_refused_on_two_dnodes_with_exit_2(tmp_path):
    sim = healthy(replicas=2)
    try:
        run = _verify_run(tmp_path, sim, VERIFY_PW)
        assert run("verify", "--stack", "sim", "--project-dir", str(tmp_path), "--failover", "--json") == USAGE
    finally:
        sim.stop()
    result = json.loads(run.out)
    assert result["exitCode"] == USAGE and result["rows"] is None  # refused before anything was written
    assert result["problems"][0].startswith("failover refused: the cluster has 2 dnode(s)")
    assert "Fix: scale to 3 or more dnodes" in result["problems"][0]


REAL_SALT = "v1:b11OAGZmjtw=:v1:6A+yJgrYkCqCNwxj:GauubB6NzB9mlfCoIU6w+Ny74I7nEA=="
"""What the real Pulumi CLI (v3.274.1, `pulumi stack init` with PULUMI_CONFIG_PASSPHRASE='correct horse') wrote."""


def test_a_passphrase_stack_without_its_passphrase_is_refused_before_the_cli_runs(tmp_path):
    """Without it, the CLI failed minutes later with a raw "outputs of stack 'dev' failed: ... passphrase"."""
    run = Run(tmp_path)
    stack_file = run.project / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text() + f"encryptionsalt: {REAL_SALT}\n")
    assert run("preview", "--stack", "dev") == MISSING
    assert "PULUMI_CONFIG_PASSPHRASE" in run.err and run.factory.opened == []
    assert Run(tmp_path, PULUMI_CONFIG_PASSPHRASE="correct horse")("preview", "--stack", "dev") == OK


def test_a_wrong_passphrase_is_refused_before_the_cli_runs(tmp_path):
    """It surfaced as a raw "outputs of stack 'dev' failed: code: 1 ... incorrect passphrase"."""
    run = Run(tmp_path, PULUMI_CONFIG_PASSPHRASE="correct horse battery")
    stack_file = run.project / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text() + f"encryptionsalt: {REAL_SALT}\n")
    assert run("preview", "--stack", "dev") == MISSING and run.factory.opened == []
    assert "the passphrase in PULUMI_CONFIG_PASSPHRASE does not open stack dev's secrets" in run.err
    assert "correct horse" not in run.err
    phrase = tmp_path / "phrase"
    phrase.write_text("correct horse\n")
    assert Run(tmp_path, PULUMI_CONFIG_PASSPHRASE_FILE=str(phrase))("preview", "--stack", "dev") == OK
