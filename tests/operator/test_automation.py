"""The Automation API layer with the Pulumi CLI replaced at its seam (a fake stack), plus the two things a
fake cannot show: the inline program under mocks, and the real provider host importing our providers
from a foreign working directory with the environment we hand the CLI (pulumi#7960).

Over 300 lines: one seam (the fake stack) and its every operation, kept with the two real-host checks.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import grpc
import pytest
from pulumi import automation as auto

from components import automation
from components.args import ClusterArgs, ConfigError
from components.automation import (
    PROJECT_ROOT,
    AutomationError,
    ClusterStack,
    PulumiCliMissing,
    StackTarget,
    host_environment,
)
from components.membership.provider import DnodeDecommissionProvider
from components.stack_config import config_values
from tests.fake_pulumi import (
    DECOMMISSION_URN,
    FakeFactory,
    FakeStack,
    Script,
    command_error,
    error_event,
    outputs_event,
    pre_event,
)
from tests.harness import run_program, seed_settings, stack_config
from tests.host import ProviderHost, provider_blob

PASSWORD = "Emb3dded-Pass.word"
KUBECONFIG = "apiVersion: v1\nkind: Config\n# kubeconfig-marker-7f3a\n"
ARGS = ClusterArgs(
    namespace="tdengine-prod",
    replicas=5,
    storage_size="20Gi",
    pod_disruption_budget=False,
    taos_settings={"TAOS_NUM_OF_RPC_THREADS": "4", "TAOS_DEBUG_FLAG": "131"},
    labels={"team": "iot"},
    root_password=PASSWORD,
    kubeconfig=KUBECONFIG,
)


def open_inline(args=ARGS, stack: FakeStack | None = None, **target) -> tuple[ClusterStack, FakeStack, FakeFactory]:
    fake = stack or FakeStack("prod")
    factory = FakeFactory(fake)
    lines: list[str] = []
    opened = ClusterStack.open(StackTarget("prod", **target), args, factory=factory, on_output=lines.append)
    opened.lines = lines  # type: ignore[attr-defined]
    return opened, fake, factory


# -- config --------------------------------------------------------------------------------------------------------
def test_config_round_trips_through_the_stack_and_secrets_are_marked_secret():
    _opened, fake, _ = open_inline()
    config, secret_keys = fake.engine_config()
    assert sorted(secret_keys) == ["tdengine:kubeconfig", "tdengine:rootPassword"]
    assert config["tdengine:replicas"] == "5" and config["tdengine:podDisruptionBudget"] == "false"
    assert json.loads(config["tdengine:taosSettings"]) == ["TAOS_NUM_OF_RPC_THREADS=4", "TAOS_DEBUG_FLAG=131"]
    assert "tdengine:namespace" in config and "tdengine:image" not in config  # defaults are left to Pulumi.yaml
    # What the program reads back is exactly what was asked for.
    parsed = ClusterArgs.from_config(lambda key: config.get(f"tdengine:{key}"))
    assert parsed == ARGS and parsed.root_password == PASSWORD and parsed.kubeconfig == KUBECONFIG


def test_only_secret_values_are_marked_secret():
    values = config_values(ARGS)
    assert {k for k, v in values.items() if v.secret} == {"rootPassword", "kubeconfig"}
    assert PASSWORD not in repr({k: v for k, v in values.items() if not v.secret})


def test_set_config_removes_stale_keys_and_rewrites_lists():
    opened, fake, _ = open_inline()
    smaller = ClusterArgs(namespace="tdengine-prod", taos_settings={"TAOS_DEBUG_FLAG": "135"})
    opened.set_config(smaller)
    config, secret_keys = fake.engine_config()
    assert json.loads(config["tdengine:taosSettings"]) == ["TAOS_DEBUG_FLAG=135"]  # not appended to the old list
    assert "tdengine:replicas" not in config and "tdengine:labels" not in config and not secret_keys
    assert ClusterArgs.from_config(lambda key: config.get(f"tdengine:{key}")) == smaller
    removed = [c for c in fake.calls if c[0] == "remove_all_config"][-1]
    assert {"replicas", "taosSettings", "labels", "rootPassword", "kubeconfig"} <= set(removed[1])


def test_a_plain_dict_is_accepted_and_bad_input_fails_before_any_cli_call():
    opened, fake, _ = open_inline({"namespace": "tdengine-prod", "replicas": "4"})
    assert fake.engine_config()[0]["tdengine:replicas"] == "4"
    assert opened.config_value("replicas") == "4"
    empty = FakeStack("prod")
    factory = FakeFactory(empty)
    with pytest.raises(ConfigError, match="replicas"):
        ClusterStack.open(StackTarget("prod"), {"replicas": "many"}, factory=factory)
    assert factory.opened == [] and empty.calls == []


def test_an_inline_stack_needs_its_settings():
    with pytest.raises(ValueError, match="needs its settings"):
        ClusterStack.open(StackTarget("prod"), None, factory=FakeFactory(FakeStack("prod")))


# -- the workspace the CLI gets --------------------------------------------------------------------------------------
def test_inline_workspace_makes_the_provider_importable_and_carries_backend_and_secrets():
    target = dict(
        backend_url="file:///srv/state",
        secrets_provider="passphrase",
        passphrase="correct horse",
        env={"PYTHONPATH": "/opt/site", "PULUMI_ACCESS_TOKEN": "tok"},
    )
    _opened, _fake, factory = open_inline(**target)
    (target_used, inline, opts) = factory.opened[0]
    assert inline is automation.inline_program and opts.work_dir is None
    env = dict(opts.env_vars or {})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(PROJECT_ROOT), "/opt/site"]
    assert env.get("PULUMI_PYTHON_CMD") == (None if sys.prefix != sys.base_prefix else sys.executable)
    assert env["PULUMI_BACKEND_URL"] == "file:///srv/state"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "correct horse" and env["PULUMI_ACCESS_TOKEN"] == "tok"
    assert opts.secrets_provider == "passphrase"
    settings = opts.project_settings
    assert settings is not None and settings.name == "tdengine" and settings.runtime.name == "python"
    if sys.prefix != sys.base_prefix:  # running in a virtualenv: the shim must use the same one
        assert settings.runtime.options == {"virtualenv": sys.prefix}
    assert "correct horse" not in repr(target_used)


def test_local_program_workspace_uses_the_project_and_never_rewrites_its_pulumi_yaml():
    fake = FakeStack("dev")
    factory = FakeFactory(fake)
    ClusterStack.open(StackTarget("dev", project_dir=PROJECT_ROOT), factory=factory)
    (_target, inline, opts) = factory.opened[0]
    assert inline is None and opts.work_dir == str(PROJECT_ROOT) and opts.project_settings is None
    assert fake.calls == []  # opening a local program changes no config


def test_host_environment_puts_the_project_first_once():
    base = {"PYTHONPATH": os.pathsep.join(["/a", str(PROJECT_ROOT), "/b"])}
    env = host_environment(base, python="/py", in_virtualenv=False)
    assert env == {"PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), "/a", "/b"]), "PULUMI_PYTHON_CMD": "/py"}
    # in a virtualenv, the runtime's virtualenv option names the interpreter: nothing to add
    assert host_environment(base, python="/py", in_virtualenv=True) == {"PYTHONPATH": env["PYTHONPATH"]}


def _check_with_host(env: dict[str, str], cwd: Path, python: str = sys.executable) -> str:
    """Ask a real `python -m pulumi.dynamic` to Check a DnodeDecommission; '' on success, else the error."""
    news = {"__provider": provider_blob(DnodeDecommissionProvider()), "members": ["tdengine-0"]}
    with ProviderHost(env=env, cwd=cwd, python=python) as host:
        try:
            host.check("DnodeDecommission", "tdengine", {}, news)
        except grpc.RpcError as err:
            return str(err.details())
    return ""


def test_the_provider_host_imports_our_providers_from_a_temporary_work_dir_only_with_our_environment(tmp_path):
    bare = {"PYTHONPATH": ""}  # what an inline program's host sees without our environment (cwd = a temp dir)
    assert "No module named 'components'" in _check_with_host(bare, tmp_path)
    env = host_environment({}, in_virtualenv=False)
    assert _check_with_host(env, tmp_path, python=env["PULUMI_PYTHON_CMD"]) == ""


# -- the inline program ----------------------------------------------------------------------------------------------
def _resources(run) -> list[tuple[str, str, str, str]]:
    return sorted(
        (r.type, r.name, r.parent.rsplit("::", 1)[-1], json.dumps(r.inputs, sort_keys=True, default=str))
        for r in run.monitor.registered
        if r.type != "pulumi:pulumi:Stack"  # registered once per process, by whichever run comes first
    )


def test_inline_program_declares_what_main_py_declares_for_the_dev_stack():
    """The dev stack's file through the CLI path versus the same settings set by the embedding API."""
    fake = FakeStack("dev")
    ClusterStack.open(StackTarget("dev"), ClusterArgs.from_mapping(seed_settings()), factory=FakeFactory(fake))
    config, secret_keys = fake.engine_config()
    inline = run_program(config, tuple(secret_keys), program=automation.inline_program)
    cli = run_program(stack_config("dev"))
    assert _resources(inline) == _resources(cli)
    assert len(_resources(inline)) >= 9 and inline.resolved.keys() == cli.resolved.keys()


def test_inline_program_with_secrets_matches_main_py_with_the_same_config():
    _opened, fake, _ = open_inline()
    config, secret_keys = fake.engine_config()
    inline = run_program(config, tuple(secret_keys), program=automation.inline_program)
    cli = run_program(config, tuple(secret_keys))
    assert _resources(inline) == _resources(cli)
    statefulset = next(r for r in inline.monitor.registered if r.type == "kubernetes:apps/v1:StatefulSet")
    assert statefulset.inputs["spec"]["replicas"] == 5


# -- operations --------------------------------------------------------------------------------------------------------
def _outputs() -> dict[str, auto.OutputValue]:
    topology = {
        "dnodes": [{"pod": "tdengine-0", "id": 1, "endpoint": "e0", "status": "ready", "vnodes": 2}],
        "mnodes": [{"id": 1, "endpoint": "e0", "role": "leader", "status": "ready"}],
    }
    return {
        "namespace": auto.OutputValue("tdengine-prod", False),
        "podFqdns": auto.OutputValue(["a", "b", "c"], False),
        "rootPassword": auto.OutputValue(PASSWORD, True),
        "topology": auto.OutputValue(topology, False),
    }


def test_operations_run_in_order_stream_output_and_return_typed_results():
    fake = FakeStack("prod")
    fake.scripts["preview"] = Script(lines=["Previewing update (prod)"], changes={"create": 9})
    fake.scripts["up"] = Script(lines=["Updating (prod)", "[tdengine] dnode 2 ready"], changes={"create": 9})
    fake.outputs_after_up = _outputs()
    fake.scripts["refresh"] = Script(changes={"same": 9})
    fake.scripts["destroy"] = Script(changes={"delete": 9})
    opened, _, _ = open_inline(stack=fake)
    preview = opened.preview()
    up = opened.up()
    refresh = opened.refresh()
    destroy = opened.destroy()
    assert fake.operations() == ["preview", "up", "refresh", "destroy"]
    names = [c[0] for c in fake.calls]
    assert names.index("set_all_config") < names.index("preview")  # config is written before any operation
    assert opened.lines == ["Previewing update (prod)", "Updating (prod)", "[tdengine] dnode 2 ready"]
    assert preview.changes == {"create": 9} and preview.outputs == {} and preview.changed
    assert up.outputs["rootPassword"] == "[secret]" and PASSWORD not in json.dumps(up.outputs)
    assert up.topology is not None and up.topology["mnodes"][0]["role"] == "leader"
    assert up.summary_line() == "up prod: 9 create"
    assert refresh.outputs["namespace"] == "tdengine-prod" and not refresh.changed
    assert destroy.changes == {"delete": 9} and destroy.topology is None


def test_scale_sets_replicas_then_runs_up():
    fake = FakeStack("prod")
    opened, _, _ = open_inline(stack=fake)
    fake.calls.clear()
    opened.scale(7)
    assert fake.calls[0] == ("set_all_config", ("replicas",), False) and fake.operations() == ["up"]
    assert opened.config_value("replicas") == "7"


def test_a_failed_update_names_the_provider_error_not_the_cli_noise():
    fake = FakeStack("prod")
    refusal = (
        "scale-down refused: database 'metrics' has replica 3, it needs at least 3 dnodes. Fix: keep replicas >= 3"
    )
    fake.scripts["up"] = Script(
        events=[pre_event(DECOMMISSION_URN), error_event(refusal, DECOMMISSION_URN)],
        raises=command_error("error: update failed\n"),
    )
    opened, _, _ = open_inline(stack=fake)
    with pytest.raises(AutomationError) as caught:
        opened.up()
    assert caught.value.operation == "up" and caught.value.stack == "prod"
    assert caught.value.cause == f"DnodeDecommission tdengine: {refusal}"
    assert isinstance(caught.value.__cause__, auto.CommandError)


def test_a_failure_without_diagnostics_keeps_the_cli_error_lines():
    fake = FakeStack("prod")
    fake.scripts["preview"] = Script(raises=command_error("warning: x\nerror: could not load plugin kubernetes\n"))
    opened, _, _ = open_inline(stack=fake)
    with pytest.raises(AutomationError, match="could not load plugin kubernetes"):
        opened.preview()


def test_a_concurrent_update_says_what_to_do():
    fake = FakeStack("prod")
    fake.scripts["up"] = Script(raises=command_error("error: [409] Conflict", auto.ConcurrentUpdateError))
    opened, _, _ = open_inline(stack=fake)
    with pytest.raises(AutomationError, match="pulumi cancel") as caught:
        opened.up()
    assert "409" in caught.value.cause


def test_a_missing_cli_is_reported_with_how_to_install_it(tmp_path):
    with pytest.raises(PulumiCliMissing) as caught:
        ClusterStack.open(StackTarget("prod", pulumi_root=tmp_path), ARGS)
    assert str(tmp_path / "bin" / "pulumi") in str(caught.value) and "get.pulumi.com" in caught.value.hint


def test_long_steps_get_a_heartbeat_naming_what_is_still_running():
    fake = FakeStack("prod")
    release = threading.Event()
    opened, _, _ = open_inline(stack=fake)
    opened.heartbeat_seconds = 0.05

    def wait_for_heartbeats() -> None:
        for _ in range(200):
            if sum("still running" in line for line in opened.lines) >= 2:
                break
            release.wait(0.01)

    fake.scripts["up"] = Script(events=[pre_event(DECOMMISSION_URN)], during=wait_for_heartbeats)
    opened.up()
    beats = [line for line in opened.lines if "still running" in line]
    assert len(beats) >= 2 and beats[0].startswith("[tdengine] still running: update DnodeDecommission tdengine (")


def test_finished_steps_stop_the_heartbeat():
    progress = automation.Progress(clock=iter([0.0, 100.0, 200.0]).__next__)
    progress.on_event(pre_event(DECOMMISSION_URN))  # started at 0
    assert progress.waiting(30) == ["update DnodeDecommission tdengine (1m40s)"]
    progress.on_event(outputs_event(DECOMMISSION_URN))
    assert progress.waiting(30) == []
