"""The membership provider's own error types (the base and the wait error are `tdengine.errors`).

`ScaleDownRefused` is permanent: nothing was changed and re-running will not help until the operator acts on
the fix it names. `MemberNotDrained` is the `WaitTimedOut` of a departing dnode's drain (its deadline or its
stall detector): the drop goes on in TDengine, and a later `pulumi up` resumes the wait.
"""

from __future__ import annotations

from components.tdengine.errors import ClusterError, WaitTimedOut


class ScaleDownRefused(ClusterError):
    """A preflight check failed before anything was changed (`action`: a scale-down, or any change
    that would leave fewer than 3 dnodes unacknowledged)."""

    def __init__(self, reason: str, fix: str, action: str = "scale-down") -> None:
        self.reason = reason
        self.fix = fix
        super().__init__(f"{action} refused: {reason}. Nothing was changed. Fix: {fix}")


class MemberNotDrained(WaitTimedOut):
    """The drain of one departing dnode ran past `drainTimeoutSeconds` or stalled for `stallTimeoutSeconds`."""
