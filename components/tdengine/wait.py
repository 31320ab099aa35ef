"""The one wait primitive: every wait for the cluster is `until` (raise when it runs out) or `settle` (return
what was last seen when it runs out), over a probe that reads, decides and names what it saw.

Each round calls `probe(elapsed)`. A probe returns its result when the wait is over, or a `Pending` that says
what it observed, optionally the action to take now (taken at once, then the next round reads again) and a
progress mark (the stall detector fires when the mark has not changed for `stall.seconds`; `note` is printed
when it changes). Before any action the deadline and the stall are checked, so nothing is sent after a wait
ran out. An unreachable taosAdapter (`AdminUnreachable`) is ridden out until the deadline, reconnecting
(a new port-forward) between tries, when the wait is given `reconnect`. A probe's read that TDengine answers with a
transient code (`sql.TRANSIENT`: vnodes moving, a vgroup electing) is read again a poll interval later, counting as
no progress for the stall detector; any other TDengine error is permanent and ends the wait at once, like kopf's
temporary and permanent errors. Running out raises `WaitTimedOut`, its `what` the wait's name, with the
last observation as `observed` and the cause kept.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from components.tdengine import sql
from components.tdengine.errors import AdminUnreachable, ClusterError, TDengineError, WaitTimedOut

T = TypeVar("T")
Progress = Callable[[str], None]
Clock = Callable[[], float]
RECONNECT_DELAY = 0.2
"""Seconds between tries while taosAdapter is unreachable."""


def stderr_progress(line: str) -> None:
    """Progress lines go to stderr, which `pulumi up` shows: `[tdengine] tdengine-4: dnode 6 dropping, ...`."""
    print(f"[tdengine] {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Deadline:
    """A moment on the monotonic clock, with the setting that chose it (for the message)."""

    seconds: float
    at: float
    setting: str = ""

    @classmethod
    def after(
        cls, seconds: float, setting: str = "", *, start: float | None = None, clock: Clock = time.monotonic
    ) -> Deadline:
        return cls(seconds, (clock() if start is None else start) + seconds, setting)

    def passed(self, now: float) -> bool:
        return now >= self.at

    def remaining(self, clock: Clock = time.monotonic) -> float:
        return self.at - clock()

    def sooner(self, other: Deadline) -> Deadline:
        return self if self.at <= other.at else other

    def describe(self) -> str:
        return f"{self.seconds:g}s" + (f" ({self.setting})" if self.setting else "")


@dataclass(frozen=True)
class Stall:
    """No change of the probe's progress mark for `seconds` ends the wait: `nothing` says what did not happen."""

    seconds: float
    setting: str
    nothing: str


@dataclass(frozen=True)
class Pending:
    """One round's verdict: not there yet."""

    observed: str
    """What the round saw, for the timeout message and the heartbeat."""
    act: Callable[[], None] | None = None
    """The step to take now (then read again at once); None waits one poll interval."""
    mark: Hashable | None = None
    """Progress mark for the stall detector; None means the round cannot stall (the stall clock restarts)."""
    note: str = ""
    """A progress line, printed when the round counts as progress."""
    hint: str = ""
    """What to do when the wait runs out, appended to the message."""
    value: Any = field(default=None, repr=False)
    """What `settle` returns when the deadline comes first."""


_UNSET = object()


def until(
    what: str,
    probe: Callable[[float], T | Pending],
    *,
    deadline: Deadline,
    poll: float,
    stall: Stall | None = None,
    reconnect: Callable[[], None] | None = None,
    progress: Progress = stderr_progress,
    heartbeat: float | None = None,
    start: float | None = None,
    clock: Clock = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `probe` until it returns a result; raises `WaitTimedOut` (its `what` this wait's) when the deadline
    passes or the wait stalls."""
    return _loop(what, probe, deadline, poll, stall, reconnect, progress, heartbeat, WaitTimedOut, start, clock, sleep)


def settle(
    what: str,
    probe: Callable[[float], T | Pending],
    *,
    deadline: Deadline,
    poll: float,
    reconnect: Callable[[], None] | None = None,
    progress: Progress = stderr_progress,
    heartbeat: float | None = None,
    start: float | None = None,
    clock: Clock = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `probe` until it returns a result or the deadline passes; then the last `Pending.value`. For waits
    whose caller judges what it got (verify's vgroups, the failover timeline, pods gone before reclaiming)."""
    return _loop(what, probe, deadline, poll, None, reconnect, progress, heartbeat, None, start, clock, sleep)


def _loop(
    what: str,
    probe: Callable[[float], T | Pending],
    deadline: Deadline,
    poll: float,
    stall: Stall | None,
    reconnect: Callable[[], None] | None,
    progress: Progress,
    heartbeat: float | None,
    error: type[WaitTimedOut] | None,
    start: float | None,
    clock: Clock,
    sleep: Callable[[float], None],
) -> T:
    started = clock() if start is None else start
    mark: Any = _UNSET
    last_change = started
    next_beat = heartbeat
    transient = ""
    while True:
        try:
            outcome = probe(clock() - started)
        except AdminUnreachable as err:
            if reconnect is None:
                raise
            now = clock()
            if deadline.passed(now):
                message = f"{what}: taosAdapter unreachable until the deadline: {err}"
                raise (error or WaitTimedOut)(message, what=what, observed=str(err), waited=now - started) from err
            sleep(RECONNECT_DELAY)
            reconnect_quietly(reconnect)
            continue
        except TDengineError as err:
            if err.code not in sql.TRANSIENT:
                raise
            now = clock()
            if str(err) != transient:
                transient = str(err)
                progress(
                    f"{what}: TDengine answered 0x{err.code:04X} ({err.message}), which passes by itself: reading again"
                )
            why = f"TDengine kept answering 0x{err.code:04X} ({err.message})"
            if stall is not None and error is not None and now - last_change >= stall.seconds:
                raise error(
                    f"{what} stalled: {why} for {now - last_change:.0f}s ({stall.setting})",
                    what=what,
                    observed=transient,
                    waited=now - started,
                ) from err
            if deadline.passed(now):
                if error is None:
                    raise  # `settle`: nothing seen to return
                raise error(
                    f"{what}: {why} until the deadline, {deadline.describe()}",
                    what=what,
                    observed=transient,
                    waited=now - started,
                ) from err
            sleep(poll if poll > 0 else RECONNECT_DELAY)
            continue
        transient = ""
        if not isinstance(outcome, Pending):
            return outcome
        now = clock()
        if outcome.mark is None or outcome.mark != mark:
            if outcome.note:
                progress(outcome.note)
            mark, last_change = outcome.mark, now
        if next_beat is not None and heartbeat and now - started >= next_beat:
            next_beat += heartbeat
            progress(f"{what}: {now - started:.0f}s, {outcome.observed}")
        hint = f" {outcome.hint}" if outcome.hint else ""
        if stall is not None and error is not None and now - last_change >= stall.seconds:
            raise error(
                f"{what} stalled: {stall.nothing} for {now - last_change:.0f}s ({stall.setting}). "
                f"Observed: {outcome.observed}.{hint}",
                what=what,
                observed=outcome.observed,
                waited=now - started,
            )
        if deadline.passed(now):
            if error is None:
                return cast(T, outcome.value)
            raise error(
                f"{what} did not finish within {deadline.describe()}. Observed: {outcome.observed}.{hint}",
                what=what,
                observed=outcome.observed,
                waited=now - started,
            )
        if outcome.act is not None:
            outcome.act()
            continue
        sleep(poll)


def reconnect_quietly(reconnect: Callable[[], None]) -> bool:
    """Try to reopen the connection; False when it cannot be yet (no ready pod, a refused port-forward): the
    next round tries again."""
    try:
        reconnect()
    except (ClusterError, OSError, RuntimeError):
        return False
    return True
