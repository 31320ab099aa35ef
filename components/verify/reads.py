"""Verify's reads, asked again while TDengine answers one of its transient codes.

A read changes nothing, so asking again is safe; on the real node a drill's reads met 0x0023 "rpc network error" right
after the previous drill's pod had rejoined, and once the count after a failover did. Writes are never asked again
here: a write that failed may still have landed, and verify counts only what was acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from components.tdengine import wait
from components.tdengine.rest import AdminClient
from components.tdengine.session import Session
from components.tdengine.wait import Deadline, Progress

T = TypeVar("T")

READ_AGAIN_SECONDS = 90.0
"""How long one read is asked again: longer than the 0-31 s a real cluster took to answer again after a failover
(docs/e2e.md)."""


def read_again(
    s: Session,
    what: str,
    read: Callable[[AdminClient], T],
    progress: Progress,
    *,
    within: float = READ_AGAIN_SECONDS,
    poll: float = 0.5,
) -> T:
    """`read(s.admin)`, asked again on a transient answer, or on an unreachable taosAdapter or a statement timeout
    (`wait.until` reconnects first), until `within` seconds have passed when an answer is in."""
    return wait.until(
        what,
        lambda _elapsed: read(s.admin),
        deadline=Deadline.after(within),
        poll=poll,
        reconnect=s.reconnect,
        progress=progress,
    )
