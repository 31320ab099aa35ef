"""The error types of everything that talks to a TDengine cluster.

`ClusterError` is the base of every error raised on purpose. Two of them say what a run of `pulumi up` ended
with, the same for every step of the runbook (kopf's permanent and temporary errors):
- `Refused`, permanent: refused before anything changed; re-running will not help until the operator acts on
  the fix it names.
- `WaitTimedOut`: a wait ran out (its deadline, or no progress for its stall timeout) and says what it last
  observed; the cluster may still be converging (a drop goes on in TDengine, a pod comes back), and a re-run
  resumes the wait from what the cluster shows.
"""

from __future__ import annotations


class ClusterError(Exception):
    """Base class of every error raised on purpose while reading or changing a cluster."""


class Refused(ClusterError):
    """A change refused before it began: nothing was changed (`outcome` says so, or what was), and `fix` is what
    the operator can do. `what` names the change: a scale-down, a rolling restart, a volume expansion."""

    def __init__(self, reason: str, fix: str, what: str = "change", outcome: str = "Nothing was changed") -> None:
        self.reason = reason
        self.fix = fix
        super().__init__(f"{what} refused: {reason}. {outcome}. Fix: {fix}")


class TDengineError(ClusterError):
    """TDengine answered a statement with a non-zero `code` (HTTP 200 with `code`/`desc`)."""

    def __init__(self, code: int, message: str, sql: str = "") -> None:
        self.code = int(code)
        self.message = message
        self.sql = sql
        where = f" (statement: {sql})" if sql else ""
        super().__init__(f"TDengine error 0x{self.code:04X} ({self.code}): {message}{where}")


class AdminUnreachable(ClusterError):
    """taosAdapter could not be reached, or answered with an HTTP error status."""


class AdminTimeout(AdminUnreachable):
    """A request ran past the client timeout; the statement may still be running on the server."""


class KubeError(ClusterError):
    """The Kubernetes API refused or failed a call; `status` is the HTTP status (0: no HTTP answer)."""

    def __init__(self, action: str, status: int, reason: str) -> None:
        self.action = action
        self.status = status
        self.reason = reason
        http = f"HTTP {status}: " if status else ""
        super().__init__(f"Kubernetes API: {action} failed: {http}{reason}")


class ExecFailed(KubeError):
    """A command ran in a pod, but no exit code came back (it did not exit in time, or the closing Status has
    none); `stdout` and `stderr` hold what it printed, which may say why."""

    def __init__(self, action: str, reason: str, stdout: str, stderr: str) -> None:
        self.stdout, self.stderr = stdout, stderr
        super().__init__(action, 0, reason)


class WaitTimedOut(ClusterError):
    """A wait for the cluster ran past its deadline or stalled. `what` names the wait, `observed` is what its
    last round saw (a dnode's status and vnodes, a transaction's stage, the unreachable adapter's error), and
    `waited` the seconds it waited."""

    def __init__(self, message: str, *, what: str = "", observed: str = "", waited: float = 0.0) -> None:
        self.what = what
        self.observed = observed
        self.waited = waited
        super().__init__(message)


class RedactedCause(Exception):
    """Stands in as the cause (`raise ... from RedactedCause(err, text)`) for a library error whose own text may
    hold a secret: a TDengine answer quoting a password literal, an API error quoting request headers. It keeps
    the error's type and a text the caller made safe."""

    def __init__(self, err: BaseException, text: str) -> None:
        self.type = f"{type(err).__module__}.{type(err).__name__}"
        super().__init__(f"{self.type}: {text}")
