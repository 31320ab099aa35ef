"""The day-2 change's own error types (the base and the wait error are `tdengine.errors`).

`ChangeRefused` is permanent: nothing was changed (no pod restarted, no volume touched), and re-running will not
help until the operator acts on the fix it names. `RestartNotHealthy` is the `WaitTimedOut` of a restart: the pod
restarted last did not come back healthy, or the cluster did not become healthy again, before
`readyTimeoutSeconds` or within `stallTimeoutSeconds` of no change; the roll stopped there, and the next
`pulumi up` resumes it from what the cluster shows.
"""

from __future__ import annotations

from components.tdengine.errors import ClusterError, WaitTimedOut


class ChangeRefused(ClusterError):
    """A change refused before it began (`what`: the change, e.g. `rolling restart`, `volume expansion`)."""

    def __init__(self, reason: str, fix: str, what: str = "change", outcome: str = "Nothing was changed") -> None:
        self.reason = reason
        self.fix = fix
        super().__init__(f"{what} refused: {reason}. {outcome}. Fix: {fix}")


class RestartNotHealthy(WaitTimedOut):
    """A restarted pod, or the cluster after it, did not become healthy in time: the roll stopped."""
