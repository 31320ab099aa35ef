"""The exec stream of the Kubernetes API (`kubernetes.stream`), for `KubernetesApi.exec_in_pod`.

Runs one command in a pod's container: stdin written once, stdout and stderr collected until the server
closes the stream, and the exit code read from the Status it sends on the error channel. Failures are
raised as OSError (a dropped stream, no exit in time) for `kube.py` to turn into `KubeError`.
"""

from __future__ import annotations

import json

from kubernetes import client
from kubernetes.stream import stream

ERROR_CHANNEL = 3


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
        if resp.is_open():
            raise TimeoutError(f"the command did not exit within {timeout:g}s")
        return resp.read_stdout() or "", resp.read_stderr() or "", resp.read_channel(ERROR_CHANNEL) or ""
    except OSError:
        raise
    except Exception as e:  # websocket-client's own errors (a dropped stream) derive from Exception only
        raise ConnectionError(f"the exec stream failed: {type(e).__name__}: {e}") from e
    finally:
        resp.close()


def exit_code(status: str) -> int | str:
    """The exit code in the closing Status (0 for Success, else its `ExitCode` cause), or why there is none."""
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
    if code is None or not str(code).lstrip("-").isdigit():
        return str(parsed.get("message") or "the command could not be started")
    return int(code)
