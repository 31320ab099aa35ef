"""Exception types of the membership provider.

`ScaleDownRefused` is permanent: nothing was changed and re-running will not help until the
operator acts on the fix it names. `MemberNotDrained` means a wait ran out (deadline or stall):
the cluster may still be converging, and a later `pulumi up` resumes the wait.
"""

from __future__ import annotations


class MembershipError(Exception):
    """Base class of every error the provider raises on purpose."""


class TDengineError(MembershipError):
    """TDengine answered a statement with a non-zero `code` (HTTP 200 with `code`/`desc`)."""

    def __init__(self, code: int, message: str, sql: str = "") -> None:
        self.code = int(code)
        self.message = message
        self.sql = sql
        where = f" (statement: {sql})" if sql else ""
        super().__init__(f"TDengine error 0x{self.code:04X} ({self.code}): {message}{where}")


class AdminUnreachable(MembershipError):
    """taosAdapter could not be reached, or answered with an HTTP error status."""


class AdminTimeout(AdminUnreachable):
    """A request ran past the client timeout; the statement may still be running on the server."""


class ScaleDownRefused(MembershipError):
    """A preflight check failed before anything was changed (`action`: a scale-down, or any change
    that would leave fewer than 3 dnodes unacknowledged)."""

    def __init__(self, reason: str, fix: str, action: str = "scale-down") -> None:
        self.reason = reason
        self.fix = fix
        super().__init__(f"{action} refused: {reason}. Nothing was changed. Fix: {fix}")


class MemberNotDrained(MembershipError):
    """A wait for the cluster ran past its deadline or stalled; it names what it observed."""
