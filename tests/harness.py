"""Runs the real Pulumi program under `pulumi.runtime.set_mocks` and records every registration.

A fake stands in only at the Pulumi engine boundary (the resource monitor): the program, the
component and pulumi-kubernetes' own argument handling all run for real.
"""

from __future__ import annotations

import asyncio
import json
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc

from components.tdengine.errors import WaitTimedOut

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "tdengine"
GENERATED_PASSWORD = "Gen3rated-Pass.word"


@dataclass
class Registered:
    urn: str
    type: str
    name: str
    parent: str
    inputs: dict[str, Any]
    dependencies: list[str]
    additional_secret_outputs: list[str]
    provider: str
    retain_on_delete: bool = False


class ProgramMocks(pulumi.runtime.Mocks):
    """Answers the engine's part: ids and state for each resource (inputs echoed, as camelCase)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = GENERATED_PASSWORD
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


class RecordingMonitor(mocks.MockMonitor):
    def __init__(self, program_mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(program_mocks)
        self.registered: list[Registered] = []
        self.outputs: dict[str, Any] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        self.registered.append(
            Registered(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                dependencies=list(request.dependencies),
                additional_secret_outputs=list(request.additionalSecretOutputs),
                provider=request.provider,
                retain_on_delete=bool(request.retainOnDelete),
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.outputs[request.urn] = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
        return super().RegisterResourceOutputs(request)

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.registered if r.type == typ]

    def one(self, typ: str) -> Registered:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, got {[r.name for r in found]}"
        return found[0]


@dataclass
class ProgramRun:
    monitor: RecordingMonitor
    exports: dict[str, Any] = field(default_factory=dict)
    resolved: dict[str, Any] = field(default_factory=dict)
    """Export values after resolution (secrets unwrapped)."""


SEED_STACK: dict[str, Any] = {
    f"{PROJECT}:namespace": "tdengine-test",
    f"{PROJECT}:clusterName": "tdengine",
    f"{PROJECT}:serviceName": "taosd",
    f"{PROJECT}:replicas": 3,
    f"{PROJECT}:storageClass": "standard",
    f"{PROJECT}:storageSize": "5Gi",
    f"{PROJECT}:timezone": "Asia/Shanghai",
}
"""The seed's cluster: the config of the committed Pulumi.dev.yaml (tests/program/test_args.py holds the two
together). The tests use this, never the working tree's file, which the README's own steps tell a user to
change."""


def seed_settings() -> dict[str, Any]:
    """The seed's settings by key (`replicas`, not `tdengine:replicas`), as a stack file holds them."""
    return {k.removeprefix(f"{PROJECT}:"): v for k, v in SEED_STACK.items()}


def stack_config(stack: str = "dev") -> dict[str, str]:
    """The seed stack's config, values as the engine hands them to the program (strings). Only `dev` exists."""
    assert stack == "dev", f"no seed config for stack {stack!r}"
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in SEED_STACK.items()}


def run_program(
    config: dict[str, str],
    secret_keys: tuple[str, ...] = (),
    preview: bool = False,
    stack: str = "dev",
    program: Callable[[], Any] | None = None,
) -> ProgramRun:
    """Evaluate __main__.py (or an inline `program`) as `pulumi up` or preview would, with `config` as the
    stack's config."""
    asyncio.set_event_loop(asyncio.new_event_loop())  # an earlier asyncio.run() leaves none behind
    program_mocks = ProgramMocks()
    monitor = RecordingMonitor(program_mocks)
    pulumi.runtime.set_mocks(program_mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(config, secret_keys=list(secret_keys))
    run = ProgramRun(monitor)

    real_export = pulumi.export

    def export(name: str, value: Any) -> None:
        run.exports[name] = value
        real_export(name, value)

    @pulumi.runtime.test
    def evaluate() -> Any:
        pulumi.export = export
        try:
            if program is None:
                runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
            else:
                program()
        finally:
            pulumi.export = real_export
        return pulumi.Output.all(**{k: pulumi.Output.from_input(v) for k, v in run.exports.items()}).apply(
            run.resolved.update
        )

    evaluate()
    return run


def drain_timed_out(err: BaseException | None) -> bool:
    """The wait of a departing dnode's drain ran out (its deadline or its stall detector): the drop goes on in
    TDengine. Other waits (for the connection, for ClusterMembership's members) run out under other names."""
    return isinstance(err, WaitTimedOut) and err.what.startswith("drain of ")
