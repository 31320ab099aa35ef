"""Drive the real dynamic-provider host (`python -m pulumi.dynamic`) over gRPC, as the Pulumi engine does.

`ProviderHost` starts the host as a subprocess (cwd = project root, `PULUMI_PROJECT`, `PYTHONPATH`), reads
the handshake (the first stdout line is the port), connects and sends `Configure`. Its methods take and
return plain dicts: values cross the wire through the SDK's own `serialize_properties` /
`deserialize_properties`, so numbers come back as floats, `None`s are dropped and `rpc.UNKNOWN` is the
engine's unknown sentinel (for Check/Diff in a preview only). The engine strips secrets for this host
(it answers `acceptSecrets=False`), so nothing here is ever wrapped as a secret.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2 as pb
from pulumi.runtime.proto import provider_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "tdengine"
UNKNOWN = rpc.UNKNOWN
"""What the engine sends for a value not known yet (preview)."""


def type_token(type_name: str) -> str:
    """`class X(dynamic.Resource, module="tdengine", name=type_name)` registers this type."""
    return f"pulumi-python:dynamic/tdengine:{type_name}"


def urn(type_name: str, name: str) -> str:
    return f"urn:pulumi:dev::{PROJECT}::{type_token(type_name)}::{name}"


def provider_blob(provider: ResourceProvider) -> str:
    """`__provider` exactly as `dynamic.Resource.__init__` computes it (secretness aside: the engine
    strips the secret wrapper before this host sees it)."""
    blob, _contains_secrets = _serialize(True, serialize_provider, provider)
    return blob


def to_struct(props: dict[str, Any]) -> struct_pb2.Struct:
    """The SDK's wire encoder (what a program sends; the engine forwards it unchanged)."""
    return asyncio.run(rpc.serialize_properties(props, {}))


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return rpc.deserialize_properties(struct, keep_unknowns=True)


def struct_json(struct: struct_pb2.Struct) -> str:
    """Everything in a Struct as JSON text, for searching what it contains."""
    return json_format.MessageToJson(struct)


class ProviderHost:
    """One host process and a stub to it. Call `close()` (or use as a context manager)."""

    def __init__(
        self,
        config: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 30.0,
        cwd: Path = ROOT,
        python: str = sys.executable,
    ) -> None:
        """`env` adds to (or overrides) the host's environment. By default the host sees NO ambient Kubernetes
        credentials: KUBECONFIG names a file that does not exist and the in-cluster variables are removed,
        so a test can never reach a developer's real cluster. `cwd` and `python` default to what the Pulumi CLI
        uses for this project; an Automation API inline program gets a temporary directory instead."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE_")}
        base.update(PULUMI_PROJECT=PROJECT, PYTHONPATH=str(ROOT), KUBECONFIG=str(ROOT / ".no-ambient-kubeconfig"))
        env = {**base, **(env or {})}
        self.stderr = tempfile.TemporaryFile(mode="w+b")  # a file, not a pipe: the host never blocks on it
        self.proc = subprocess.Popen(
            [python, "-u", "-m", "pulumi.dynamic"],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the handshake: the port the gRPC server listens on
        if not line.strip().isdigit():
            stderr = self.stderr_text()
            self.close()
            raise RuntimeError(f"no port from the provider host (got {line!r}); stderr: {stderr}")
        self.port = int(line)
        self.timeout = timeout
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self.channel).result(timeout=10)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.configure_response = self.stub.Configure(
            pb.ConfigureRequest(
                args=to_struct(config or {}),
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
                sends_old_inputs_to_delete=True,
            ),
            timeout=timeout,
        )

    # -- the RPCs the engine sends to a dynamic provider ----------------------------------------------------
    # `olds` are always the old OUTPUTS (state); `old_inputs`, when given, the old inputs the engine also sends
    # (this host ignores them, as it ignores name/type: they are filled in only to mirror the engine).
    def plugin_info(self) -> pb.PluginInfo:
        return self.stub.GetPluginInfo(empty_pb2.Empty(), timeout=self.timeout)

    def check(self, type_name: str, name: str, olds: dict[str, Any], news: dict[str, Any]) -> pb.CheckResponse:
        """`olds` are the old inputs here (Check is the one RPC that gets inputs)."""
        request = pb.CheckRequest(
            urn=urn(type_name, name), name=name, type=type_token(type_name), olds=to_struct(olds), news=to_struct(news)
        )
        return self.stub.Check(request, timeout=self.timeout)

    def diff(
        self,
        type_name: str,
        name: str,
        id_: str,
        olds: dict[str, Any],
        news: dict[str, Any],
        old_inputs: dict[str, Any] | None = None,
    ) -> pb.DiffResponse:
        request = pb.DiffRequest(
            id=id_,
            urn=urn(type_name, name),
            name=name,
            type=type_token(type_name),
            olds=to_struct(olds),
            news=to_struct(news),
            old_inputs=None if old_inputs is None else to_struct(old_inputs),
        )
        return self.stub.Diff(request, timeout=self.timeout)

    def create(self, type_name: str, name: str, props: dict[str, Any]) -> pb.CreateResponse:
        request = pb.CreateRequest(
            urn=urn(type_name, name), name=name, type=type_token(type_name), properties=to_struct(props)
        )
        return self.stub.Create(request, timeout=self.timeout)

    def update(
        self,
        type_name: str,
        name: str,
        id_: str,
        olds: dict[str, Any],
        news: dict[str, Any],
        old_inputs: dict[str, Any] | None = None,
    ) -> pb.UpdateResponse:
        request = pb.UpdateRequest(
            id=id_,
            urn=urn(type_name, name),
            name=name,
            type=type_token(type_name),
            olds=to_struct(olds),
            news=to_struct(news),
            old_inputs=None if old_inputs is None else to_struct(old_inputs),
        )
        return self.stub.Update(request, timeout=self.timeout)

    def read(
        self, type_name: str, name: str, id_: str, outputs: dict[str, Any], old_inputs: dict[str, Any] | None = None
    ) -> pb.ReadResponse:
        """`pulumi refresh`: the old outputs as `properties` (and the old inputs, which this host reads only when
        there are no outputs, a `.get()`)."""
        request = pb.ReadRequest(
            id=id_,
            urn=urn(type_name, name),
            name=name,
            type=type_token(type_name),
            properties=to_struct(outputs),
            inputs=None if old_inputs is None else to_struct(old_inputs),
        )
        return self.stub.Read(request, timeout=self.timeout)

    def delete(
        self, type_name: str, name: str, id_: str, outputs: dict[str, Any], old_inputs: dict[str, Any] | None = None
    ) -> None:
        request = pb.DeleteRequest(
            id=id_,
            urn=urn(type_name, name),
            name=name,
            type=type_token(type_name),
            properties=to_struct(outputs),
            old_inputs=None if old_inputs is None else to_struct(old_inputs),
        )
        self.stub.Delete(request, timeout=self.timeout)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def close(self) -> None:
        if getattr(self, "channel", None) is not None:
            self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()

    def __enter__(self) -> ProviderHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
