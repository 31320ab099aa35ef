"""A stand-in for the Pulumi CLI at the Automation API seam (`StackFactory`): no process, no network.

`FakeStack` keeps config the way the CLI stores it (path keys build lists; values come back as strings,
lists as JSON), records every call in order, and plays scripted engine events and results per operation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pulumi import automation as auto

from components.automation import PROJECT_NAME, StackTarget

_PATH_KEY = re.compile(r"(?P<key>[A-Za-z0-9_]+)\[(?P<index>\d+)\]")
DECOMMISSION_URN = (
    "urn:pulumi:dev::tdengine::tdengine:index:Cluster$pulumi-python:dynamic/tdengine:DnodeDecommission::tdengine"
)


def pre_event(urn: str, op: str = "update") -> auto.EngineEvent:
    meta = auto.StepEventMetadata(op=auto.OpType(op), urn=urn, type="t", provider="p")
    return auto.EngineEvent(sequence=0, timestamp=0, resource_pre_event=auto.ResourcePreEvent(meta))


def outputs_event(urn: str, op: str = "update") -> auto.EngineEvent:
    meta = auto.StepEventMetadata(op=auto.OpType(op), urn=urn, type="t", provider="p")
    return auto.EngineEvent(sequence=0, timestamp=0, res_outputs_event=auto.ResOutputsEvent(meta))


def error_event(message: str, urn: str | None = None) -> auto.EngineEvent:
    diag = auto.DiagnosticEvent(message=message, color="never", severity="error", urn=urn)
    return auto.EngineEvent(sequence=0, timestamp=0, diagnostic_event=diag)


def command_error(stderr: str, kind: type[auto.CommandError] = auto.CommandError) -> auto.CommandError:
    return kind(auto.CommandResult(stdout="", stderr=stderr, code=255))


@dataclass
class Script:
    """What one operation does: lines on stdout, engine events, then a result or an exception."""

    lines: list[str] = field(default_factory=list)
    events: list[auto.EngineEvent] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)
    raises: Exception | None = None
    during: Callable[[], None] | None = None
    """Runs between the events and the result (e.g. to let a heartbeat fire)."""


class FakeStack:
    """Implements `automation.StackLike`."""

    def __init__(self, name: str, outputs: Mapping[str, auto.OutputValue] | None = None) -> None:
        self.name = name
        self.calls: list[tuple[Any, ...]] = []
        self.values: dict[str, tuple[Any, bool]] = {}
        self.stored_outputs: dict[str, auto.OutputValue] = dict(outputs or {})
        self.scripts: dict[str, Script] = {}
        self.outputs_after_up: dict[str, auto.OutputValue] | None = None

    # -- config, stored as the CLI stores it --------------------------------------------------------------------
    def get_all_config(self) -> dict[str, auto.ConfigValue]:
        self.calls.append(("get_all_config",))
        return {
            k: auto.ConfigValue(json.dumps(v) if isinstance(v, list) else str(v), secret=s)
            for k, (v, s) in self.values.items()
        }

    def set_all_config(self, config: Mapping[str, auto.ConfigValue], *, path: bool = False) -> None:
        self.calls.append(("set_all_config", tuple(sorted(config)), path))
        for key, value in config.items():
            match = _PATH_KEY.fullmatch(key) if path else None
            if match:
                full = f"{PROJECT_NAME}:{match['key']}"
                items = self.values.get(full, ([], False))[0]
                index = int(match["index"])
                if index != len(items):
                    raise AssertionError(f"path index {index} set out of order (have {len(items)} items)")
                self.values[full] = ([*items, value.value], value.secret)
            else:
                self.values[f"{PROJECT_NAME}:{key}"] = (value.value, value.secret)

    def remove_all_config(self, keys: list[str], *, path: bool = False) -> None:
        self.calls.append(("remove_all_config", tuple(keys), path))
        for key in keys:
            self.values.pop(f"{PROJECT_NAME}:{key}", None)

    def engine_config(self) -> tuple[dict[str, str], list[str]]:
        """The config as the engine hands it to the program: full keys, strings (lists as JSON), secret keys."""
        config = {k: json.dumps(v) if isinstance(v, list) else str(v) for k, (v, _s) in self.values.items()}
        return config, [k for k, (_v, s) in self.values.items() if s]

    def outputs(self) -> dict[str, auto.OutputValue]:
        self.calls.append(("outputs",))
        return dict(self.stored_outputs)

    # -- operations ---------------------------------------------------------------------------------------------
    def preview(self, **kwargs: Any) -> auto.PreviewResult:
        script = self._play("preview", kwargs)
        return auto.PreviewResult(stdout="\n".join(script.lines), stderr="", change_summary=dict(script.changes))

    def up(self, **kwargs: Any) -> auto.UpResult:
        script = self._play("up", kwargs)
        if self.outputs_after_up is not None:
            self.stored_outputs = dict(self.outputs_after_up)
        return auto.UpResult(
            stdout="\n".join(script.lines), stderr="", summary=_summary("update", script), outputs=self.stored_outputs
        )

    def refresh(self, **kwargs: Any) -> auto.RefreshResult:
        script = self._play("refresh", kwargs)
        return auto.RefreshResult(stdout="\n".join(script.lines), stderr="", summary=_summary("refresh", script))

    def destroy(self, **kwargs: Any) -> auto.DestroyResult:
        script = self._play("destroy", kwargs)
        self.stored_outputs = {}
        return auto.DestroyResult(stdout="\n".join(script.lines), stderr="", summary=_summary("destroy", script))

    def _play(self, operation: str, kwargs: dict[str, Any]) -> Script:
        self.calls.append((operation,))
        script = self.scripts.get(operation, Script())
        for line in script.lines:
            if kwargs.get("on_output"):
                kwargs["on_output"](line)
        for event in script.events:
            if kwargs.get("on_event"):
                kwargs["on_event"](event)
        if script.during:
            script.during()
        if script.raises is not None:
            raise script.raises
        return script

    def operations(self) -> list[str]:
        return [c[0] for c in self.calls if c[0] in ("preview", "up", "refresh", "destroy")]


def _summary(kind: str, script: Script) -> auto.UpdateSummary:
    return auto.UpdateSummary(
        kind=kind,
        start_time=datetime(2026, 1, 1),
        message="",
        environment={},
        config={},
        result="succeeded",
        resource_changes=dict(script.changes),
    )


@dataclass
class FakeFactory:
    """A `StackFactory` that hands out one FakeStack and remembers how it was asked for."""

    stack: FakeStack
    opened: list[tuple[StackTarget, Any, auto.LocalWorkspaceOptions]] = field(default_factory=list)

    def __call__(
        self, target: StackTarget, inline: Callable[[], None] | None, opts: auto.LocalWorkspaceOptions
    ) -> FakeStack:
        self.opened.append((target, inline, opts))
        return self.stack
