"""The exec stream of the Kubernetes API (`kubernetes.stream`), for `KubernetesApi.exec_in_pod`.

Runs one command in a pod's container: stdin written once, stdout and stderr collected until the server
closes the stream, and the exit code read from the Status it sends on the error channel. A command that did
not exit in time raises `ExecIncomplete` with what it printed until then; a dropped stream is raised as
OSError; `kube.py` turns both into `KubeError` (the first into `ExecFailed`, which keeps the output).
"""

from __future__ import annotations

import json
import re

from kubernetes import client
from kubernetes.stream import stream

STDOUT_CHANNEL, STDERR_CHANNEL, ERROR_CHANNEL = 1, 2, 3
_OS_EXEC_EXIT = re.compile(r"exit status (\d+)$")
"""Go's os/exec `ExitError` text, which ends the InternalError Status of an executor that passes it on unwrapped
by k8s.io/utils/exec (kwok v0.8.0: "Internal error occurred: error executing command in container: cmd wait:
<argv>: exit status 255"), where the kubelet sends reason NonZeroExitCode with the code as a cause."""


class ExecIncomplete(Exception):
    """The command did not exit in time; `stdout` and `stderr` hold what it printed until then."""

    def __init__(self, reason: str, stdout: str, stderr: str) -> None:
        self.stdout, self.stderr = stdout, stderr
        super().__init__(reason)


def run_exec(
    api: client.CoreV1Api, namespace: str, pod: str, command: list[str], stdin: str, timeout: float
) -> tuple[str, str, str]:
    """(stdout, stderr, closing status) of `command`; `api` must be a client of its own (see kube.py)."""
    resp = stream(
        api.connect_get_namespaced_pod_exec,
        pod,
        namespace,
        command=command,
        stdin=bool(stdin),
        stdout=True,
        stderr=True,
        tty=False,
        _preload_content=False,
    )
    try:
        if stdin:
            resp.write_stdin(stdin)
        resp.run_forever(timeout=timeout)
        if resp.is_open():  # read without waiting: the stream is still open
            out, err = resp.read_channel(STDOUT_CHANNEL, 0) or "", resp.read_channel(STDERR_CHANNEL, 0) or ""
            raise ExecIncomplete(f"the command did not exit within {timeout:g}s", out, err)
        return resp.read_stdout() or "", resp.read_stderr() or "", resp.read_channel(ERROR_CHANNEL) or ""
    except (OSError, ExecIncomplete):
        raise
    except Exception as e:  # websocket-client's own errors (a dropped stream) derive from Exception only
        raise ConnectionError(f"the exec stream failed: {type(e).__name__}: {e}") from e
    finally:
        resp.close()


def exit_code(status: str) -> int | str:
    """The exit code in the closing Status (0 for Success, else its `ExitCode` cause, else os/exec's "exit status
    N" ending its message), or why there is none."""
    try:
        parsed = json.loads(status) if status else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return "the exec stream closed without an exit status"
    if parsed.get("status") == "Success":
        return 0
    causes = (parsed.get("details") or {}).get("causes") or []
    code = next((c.get("message") for c in causes if c.get("reason") == "ExitCode"), None)
    if code is not None and str(code).lstrip("-").isdigit():
        return int(code)
    message = str(parsed.get("message") or "")
    exited = _OS_EXEC_EXIT.search(message.rstrip())
    if code is None and exited:
        return int(exited.group(1))
    return message or "the command could not be started"
