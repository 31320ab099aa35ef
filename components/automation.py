"""Run the TDengine program through the Pulumi Automation API, for embedders and for `python -m components`.

Everything that needs the Pulumi CLI sits behind one seam, `StackFactory`, so tests inject a fake stack. Inline
programs break when the provider host, which the CLI starts in a temporary directory, cannot import
`components.membership.provider` (pulumi#7960): `host_environment` puts this project on PYTHONPATH and points
the host at this interpreter. The engine's events: `events.py`; settings as stack config: `stack_config.py`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pulumi import automation as auto

from components import program, stack_file
from components.args import ClusterArgs
from components.events import Progress, command_cause, heartbeat
from components.stack_config import config_values, stale_keys

PROJECT_NAME = "tdengine"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The directory holding the `components` package: what the provider host must have on sys.path."""
SECRET_MASK = "[secret]"
INSTALL_HINT = (
    "install the Pulumi CLI (https://www.pulumi.com/docs/install/, e.g. `curl -fsSL https://get.pulumi.com | sh`) "
    "and put it on PATH, or pass its install directory (the one holding bin/pulumi) as pulumi_root / --pulumi-root"
)


class AutomationError(Exception):
    """A stack operation failed. `cause` is what Pulumi reported; `hint` is what to do about it."""

    def __init__(self, operation: str, stack: str, cause: str, hint: str = "") -> None:
        self.operation = operation
        self.stack = stack
        self.cause = cause
        self.hint = hint
        text = f"{operation} of stack {stack!r} failed: {cause}"
        super().__init__(text + (f"\n  fix: {hint}" if hint else ""))


class PulumiCliMissing(AutomationError):
    """The Pulumi CLI is not installed where we looked; nothing was run."""


@dataclass(frozen=True)
class StackTarget:
    """Which stack to operate, where its state lives and how its secrets are encrypted."""

    stack: str
    project_dir: Path | None = None
    """Run this project directory as `pulumi up` would (its Pulumi.<stack>.yaml), or None for an inline program."""
    backend_url: str | None = None
    """`file:///path`, `s3://bucket`, `https://api.pulumi.com`...; None uses the CLI's current login."""
    secrets_provider: str | None = None
    """`passphrase`, `awskms://...` and so on, used when the stack is created; None = the backend's default."""
    passphrase: str | None = field(default=None, repr=False)
    pulumi_root: Path | None = None
    """A Pulumi CLI install directory (holding bin/pulumi); None = `pulumi` on PATH."""
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Extra environment for the CLI and the providers it starts (PULUMI_ACCESS_TOKEN, KUBECONFIG...)."""


@dataclass(frozen=True)
class OperationResult:
    """What one preview/up/refresh/destroy did, in plain values (secret outputs masked)."""

    operation: str
    stack: str
    changes: dict[str, int]
    outputs: dict[str, Any]
    topology: dict[str, Any] | None
    stdout: str

    @property
    def changed(self) -> bool:
        return any(n for op, n in self.changes.items() if op != "same")

    def summary_line(self) -> str:
        counts = ", ".join(f"{n} {op}" for op, n in sorted(self.changes.items()) if n) or "no changes"
        return f"{self.operation} {self.stack}: {counts}"


Output = Callable[[str], Any] | None
Events = Callable[[auto.EngineEvent], Any] | None


class StackLike(Protocol):
    """The part of `pulumi.automation.Stack` we use; a fake implements it in tests."""

    def preview(self, *, on_output: Output = ..., on_event: Events = ..., color: str | None = ...) -> Any: ...
    def up(self, *, on_output: Output = ..., on_event: Events = ..., color: str | None = ...) -> Any: ...
    def refresh(self, *, on_output: Output = ..., on_event: Events = ..., color: str | None = ...) -> Any: ...
    def destroy(self, *, on_output: Output = ..., on_event: Events = ..., color: str | None = ...) -> Any: ...
    def outputs(self) -> Mapping[str, auto.OutputValue]: ...
    def get_all_config(self) -> Mapping[str, auto.ConfigValue]: ...
    def set_all_config(self, config: dict[str, auto.ConfigValue], *, path: bool = False) -> None: ...
    def remove_all_config(self, keys: list[str], *, path: bool = False) -> None: ...


StackFactory = Callable[[StackTarget, Callable[[], None] | None, auto.LocalWorkspaceOptions], StackLike]


def host_environment(
    base: Mapping[str, str],
    python: str = sys.executable,
    root: Path = PROJECT_ROOT,
    in_virtualenv: bool = sys.prefix != sys.base_prefix,
) -> dict[str, str]:
    """Environment that lets the dynamic-provider host unpickle our providers wherever the CLI starts it.

    The interpreter is named only outside a virtualenv: inside one, the runtime's `virtualenv` option (ours for
    an inline program, Pulumi.yaml's for a local one) already picks it, and a language host of before 3.100
    joins `PULUMI_PYTHON_CMD` onto that virtualenv's bin folder (seen in the end-to-end tier)."""
    existing = [p for p in base.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(root)]
    env = {"PYTHONPATH": os.pathsep.join([str(root), *existing])}
    if not in_virtualenv:
        env["PULUMI_PYTHON_CMD"] = python
    return env


def cli_environment(target: StackTarget, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Everything the CLI process gets on top of ours (it passes it on to the language and provider hosts)."""
    base = os.environ if base is None else base
    env = {**target.env, **host_environment({**base, **target.env})}
    if target.backend_url:
        env["PULUMI_BACKEND_URL"] = target.backend_url
    if target.passphrase is not None:
        env["PULUMI_CONFIG_PASSPHRASE"] = target.passphrase
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    return env


def project_settings(prefix: str = sys.prefix, base_prefix: str = sys.base_prefix) -> auto.ProjectSettings:
    """Project settings for an inline program: the runtime is this interpreter's virtualenv, if it is one."""
    options = {"virtualenv": prefix} if prefix != base_prefix else {}
    return auto.ProjectSettings(
        name=PROJECT_NAME,
        runtime=auto.ProjectRuntimeInfo(name="python", options=options),
        description="A highly available TDengine 3.x cluster on Kubernetes (embedded).",
    )


def workspace_options(target: StackTarget, inline: bool) -> auto.LocalWorkspaceOptions:
    return auto.LocalWorkspaceOptions(
        work_dir=None if inline else str(target.project_dir),
        env_vars=cli_environment(target),
        secrets_provider=target.secrets_provider,
        # Never written into a local program's directory: its own Pulumi.yaml stays authoritative.
        project_settings=project_settings() if inline else None,
    )


def open_stack(target: StackTarget, inline: Callable[[], None] | None, opts: auto.LocalWorkspaceOptions) -> auto.Stack:
    """The real factory: find the CLI, then create or select the stack."""
    try:
        opts.pulumi_command = auto.PulumiCommand(root=str(target.pulumi_root) if target.pulumi_root else None)
    except FileNotFoundError as err:
        where = f"{target.pulumi_root}/bin/pulumi" if target.pulumi_root else "`pulumi` on PATH"
        raise PulumiCliMissing("open", target.stack, f"the Pulumi CLI was not found ({where})", INSTALL_HINT) from err
    if inline is not None:
        return auto.create_or_select_stack(target.stack, project_name=PROJECT_NAME, program=inline, opts=opts)
    return auto.create_or_select_stack(target.stack, work_dir=str(target.project_dir), opts=opts)


def inline_program() -> None:
    """The inline program: exactly what `__main__.py` runs, reading the stack config we set."""
    program.main(inline=True)


class ClusterStack:
    """One stack of the TDengine program: its config, operations and typed results."""

    def __init__(
        self,
        target: StackTarget,
        stack: StackLike,
        on_output: Callable[[str], None] | None = None,
        heartbeat_seconds: float = 30.0,
    ) -> None:
        self.target = target
        self.stack = stack
        self.on_output = on_output
        self.heartbeat_seconds = heartbeat_seconds

    @classmethod
    def open(
        cls,
        target: StackTarget,
        args: ClusterArgs | Mapping[str, Any] | None = None,
        factory: StackFactory = open_stack,
        on_output: Callable[[str], None] | None = None,
    ) -> ClusterStack:
        """Create or select the stack; with `args`, write them to its config (secrets encrypted)."""
        inline = inline_program if target.project_dir is None else None
        if inline is not None and args is None:
            raise ValueError("an inline stack needs its settings: pass args (a ClusterArgs or a dict of config keys)")
        parsed = ClusterArgs.of(args) if args is not None else None  # bad input fails here, before any CLI call
        path = target.project_dir / f"Pulumi.{target.stack}.yaml" if target.project_dir is not None else None
        before = path.read_text() if path is not None and path.is_file() else None
        try:
            stack = factory(target, inline, workspace_options(target, inline is not None))
        except FileNotFoundError as err:  # a factory that did not check for the CLI itself
            raise PulumiCliMissing("open", target.stack, f"the Pulumi CLI was not found ({err})", INSTALL_HINT) from err
        except auto.CommandError as err:
            raise AutomationError("open", target.stack, command_cause(err, [])) from err
        if path is not None and before is not None and path.is_file():  # a new stack: the CLI added its salt
            kept = stack_file.restore(before, path.read_text())
            if kept is not None:
                path.write_text(kept)
        opened = cls(target, stack, on_output)
        if parsed is not None:
            opened.set_config(parsed)
        return opened

    # -- config -------------------------------------------------------------------------------------------
    def set_config(self, args: ClusterArgs) -> None:
        """Make the stack config say exactly `args`: stale project keys removed, then non-defaults set."""
        desired = config_values(args)
        prefix = f"{PROJECT_NAME}:"
        current = [k[len(prefix) :] for k in self._call("config", self.stack.get_all_config) if k.startswith(prefix)]
        stale = stale_keys(current, desired)
        if stale:
            self._call("config", lambda: self.stack.remove_all_config(stale))
        self._call("config", lambda: self.stack.set_all_config(desired, path=True))

    def set_replicas(self, replicas: int) -> None:
        """In a project directory, in its stack file as a YAML integer (the CLI would write every value of the
        file back as a string); for an inline program, in the stack's config."""
        path = self.target.project_dir / f"Pulumi.{self.target.stack}.yaml" if self.target.project_dir else None
        if path is not None and path.is_file():
            path.write_text(stack_file.set_value(path.read_text(), PROJECT_NAME, "replicas", replicas))
            return
        self._call("config", lambda: self.stack.set_all_config({"replicas": auto.ConfigValue(str(replicas))}))

    def config_value(self, key: str) -> str | None:
        """A project config value as stored (secrets come back decrypted: do not print them)."""
        value = self._call("config", self.stack.get_all_config).get(f"{PROJECT_NAME}:{key}")
        return None if value is None else str(value.value)

    def outputs(self) -> dict[str, auto.OutputValue]:
        return dict(self._call("outputs", self.stack.outputs))

    def deployed_replicas(self) -> int | None:
        """How many dnodes the last successful `up` left (its podFqdns output), None before the first."""
        fqdns = self.outputs().get("podFqdns")
        return len(fqdns.value) if fqdns is not None and isinstance(fqdns.value, list) else None

    # -- operations ---------------------------------------------------------------------------------------
    def preview(self) -> OperationResult:
        return self._operate("preview")

    def up(self) -> OperationResult:
        return self._operate("up")

    def refresh(self) -> OperationResult:
        return self._operate("refresh")

    def destroy(self) -> OperationResult:
        return self._operate("destroy")

    def scale(self, replicas: int) -> OperationResult:
        """The seed's scale-out/scale-in as one step: set `replicas`, then `up` (the providers do the rest)."""
        self.set_replicas(replicas)
        return self.up()

    def _operate(self, operation: str) -> OperationResult:
        progress = Progress()
        method = getattr(self.stack, operation)
        with heartbeat(progress, self.heartbeat_seconds if self.on_output else 0, self._output):
            result = self._call(
                operation, lambda: method(on_output=self._output, on_event=progress.on_event, color="never"), progress
            )
        return self._result(operation, result, progress)

    def _result(self, operation: str, result: Any, progress: Progress) -> OperationResult:
        if operation == "preview":
            changes = {str(k): int(v) for k, v in (result.change_summary or {}).items()}
        else:
            summary = getattr(result, "summary", None)
            changes = {str(k): int(v) for k, v in ((summary and summary.resource_changes) or {}).items()}
        changes = changes or progress.changes
        if operation == "up":
            raw = dict(result.outputs or {})
        elif operation == "refresh":
            raw = self.outputs()
        else:
            raw = {}
        outputs = {k: SECRET_MASK if v.secret else v.value for k, v in raw.items()}
        topology = outputs.get("topology")
        return OperationResult(
            operation=operation,
            stack=self.target.stack,
            changes=changes,
            outputs=outputs,
            topology=topology if isinstance(topology, dict) else None,
            stdout=str(getattr(result, "stdout", "") or ""),
        )

    def _output(self, line: str) -> None:
        if self.on_output is not None:
            self.on_output(line)

    def _call(self, operation: str, fn: Callable[[], Any], progress: Progress | None = None) -> Any:
        """Run one CLI-backed call, turning its failures into an AutomationError that names the cause."""
        stack = self.target.stack
        try:
            return fn()
        except FileNotFoundError as err:
            raise PulumiCliMissing(operation, stack, f"the Pulumi CLI was not found ({err})", INSTALL_HINT) from err
        except auto.ConcurrentUpdateError as err:
            hint = "another update of this stack is running: wait for it, or `pulumi cancel` if it died"
            raise AutomationError(operation, stack, command_cause(err, []), hint) from err
        except auto.CommandError as err:
            raise AutomationError(operation, stack, command_cause(err, progress.errors if progress else [])) from err
