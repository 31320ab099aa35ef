"""Server side of a Kubernetes exec WebSocket (subprotocol `v4.channel.k8s.io`), for `FakeKubeApi`.

Channels as the kubelet uses them: 0 stdin (client to server), 1 stdout, 2 stderr, 3 the closing Status
(`{"status":"Success"}`, or `Failure` with reason `NonZeroExitCode` and the code in `details.causes`; or, as
kwok's exec server sends it, whose runtime error is os/exec's and not an `ExitError` the kubelet's
remotecommand server knows, `InternalError` with only os/exec's "exit status N" in its message).
With `stdin=true` the command gets the first stdin frame (the client writes its input in one go); the
command runs after the upgrade, as a real exec does, so a failure to run it arrives as a Failure Status.
"""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from .kube_api_ws import OP_BINARY, OP_CLOSE, accept_upgrade, encode_frame, read_frame

SUBPROTOCOL = "v4.channel.k8s.io"
STDOUT, STDERR, ERROR = 1, 2, 3
Runner = Callable[[str], tuple[int, str, str]]
"""stdin -> (exit code, stdout, stderr); raise to report that the command could not run."""


def status(code: int, command: list[str], internal_error: bool = False) -> dict[str, object]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    if internal_error:  # k8s.io/cri-streaming remotecommand.ServeExec -> newInternalError, under kwok v0.8.0
        return {
            "metadata": {},
            "status": "Failure",
            "message": "Internal error occurred: error executing command in container: "
            f"cmd wait: {' '.join(command)}: exit status {code}",
            "reason": "InternalError",
            "code": 500,
        }
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command {command}, exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def serve_exec(
    handler: BaseHTTPRequestHandler, command: list[str], want_stdin: bool, run: Runner, internal_error: bool = False
) -> None:
    accept_upgrade(handler, SUBPROTOCOL)
    conn = handler.connection

    def send(channel: int, text: str) -> None:
        conn.sendall(encode_frame(OP_BINARY, bytes([channel]) + text.encode()))

    stdin = ""
    if want_stdin:
        conn.settimeout(5)
        try:
            frame = read_frame(handler.rfile)
        except OSError:
            frame = None
        conn.settimeout(None)
        if frame is not None and frame[1][:1] == b"\x00":
            stdin = frame[1][1:].decode()
    try:
        code, out, err = run(stdin)
    except Exception as e:  # the backend could not run it: a Failure Status without an exit code
        body = {"metadata": {}, "status": "Failure", "message": str(e), "reason": "InternalError"}
        send(ERROR, json.dumps(body))
    else:
        if out:
            send(STDOUT, out)
        if err:
            send(STDERR, err)
        send(ERROR, json.dumps(status(code, command, internal_error)))
    try:
        conn.sendall(encode_frame(OP_CLOSE, struct.pack("!H", 1000)))
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
