"""Fault injection: slow or failing HTTP answers, TDengine errors, background drop errors, stalled moves, no listener.

Every fault is bounded by a count (or switched off explicitly), thread-safe, and leaves a trace in
the request log, so a test can both provoke a failure and check what the client saw.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Rule:
    pattern: re.Pattern[str]
    value: float
    remaining: int


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._delays: list[_Rule] = []
        self._http: list[_Rule] = []
        self._sql: list[_Rule] = []
        self._background: list[tuple[int, float, list[int]]] = []
        self._stalled = False
        self._held = False
        self._elections_held = False
        self._unreachable = False
        self._on_unreachable: Callable[[bool], None] | None = None

    # -- what tests call -----------------------------------------------------------------------------
    def delay(self, pattern: str, seconds: float, times: int = 1) -> None:
        """Delay the HTTP answer of the next `times` requests whose SQL matches (case-insensitive
        `re.search`); the statement itself runs at once, so a client timeout leaves it running."""
        with self._lock:
            self._delays.append(_Rule(re.compile(pattern, re.IGNORECASE), seconds, times))

    def http_error(self, status: int, times: int = 1, pattern: str = ".*") -> None:
        """Answer the next `times` matching requests with this HTTP status without executing them."""
        with self._lock:
            self._http.append(_Rule(re.compile(pattern, re.IGNORECASE | re.DOTALL), float(status), times))

    def sql_error(self, code: int, pattern: str = ".*", times: int = 1) -> None:
        """Answer the next `times` matching statements with this TDengine error (HTTP 200, `code`/`desc`)
        after the auth check, without executing them."""
        with self._lock:
            self._sql.append(_Rule(re.compile(pattern, re.IGNORECASE | re.DOTALL), float(code), times))

    def drop_background_error(self, code: int = 981, after_seconds: float = 0.1, times: int = 1) -> None:
        """The next `times` DROP DNODE (or REDISTRIBUTE VGROUP) transactions answer `code` ('will continue in
        the background') after `after_seconds` if still running; the transaction goes on and finishes later."""
        with self._lock:
            self._background.append((code, after_seconds, [times]))

    def stall_drop(self, on: bool = True) -> None:
        """While on, vgroup moves make no progress (vnodes frozen, transaction stays in redoAction)."""
        with self._lock:
            self._stalled = on

    def hold_moves(self, on: bool = True) -> None:
        """While on, vgroup moves make no progress and nothing fails: a copy that is merely slow. Lets a test
        look at a drop in flight for as long as it needs, whatever the machine's load."""
        with self._lock:
            self._held = on

    def hold_elections(self, on: bool = True) -> None:
        """While on, a vgroup that lost its leader elects none: its serving members show `candidate`, as a replica-3
        vgroup of the real 3.3.7.5 did for 11.5 s after a graceful stop, until the stopped member returned (§15)."""
        with self._lock:
            self._elections_held = on

    def unreachable(self, on: bool = True) -> None:
        """While on, the REST port is closed: connections are refused."""
        with self._lock:
            changed = self._unreachable != on
            self._unreachable = on
            hook = self._on_unreachable
        if changed and hook is not None:
            hook(on)

    def clear(self) -> None:
        """Drop every pending fault and switch stall/unreachable off."""
        with self._lock:
            self._delays.clear()
            self._http.clear()
            self._sql.clear()
            self._background.clear()
            self._stalled = False
            self._held = False
            self._elections_held = False
        self.unreachable(False)

    # -- what the simulator consults ---------------------------------------------------------------
    def set_unreachable_hook(self, hook: Callable[[bool], None]) -> None:
        with self._lock:
            self._on_unreachable = hook

    def is_stalled(self) -> bool:
        with self._lock:
            return self._stalled

    def is_held(self) -> bool:
        with self._lock:
            return self._held

    def elections_held(self) -> bool:
        with self._lock:
            return self._elections_held

    def is_unreachable(self) -> bool:
        with self._lock:
            return self._unreachable

    def take_http_error(self, sql: str) -> int | None:
        with self._lock:
            return _take(self._http, sql)

    def take_sql_error(self, sql: str) -> int | None:
        with self._lock:
            got = _take(self._sql, sql)
            return None if got is None else int(got)

    def take_delay(self, sql: str) -> float | None:
        with self._lock:
            got = _take(self._delays, sql)
            return None if got is None else float(got)

    def take_background_error(self) -> tuple[int, float] | None:
        with self._lock:
            while self._background:
                code, after, left = self._background[0]
                if left[0] <= 0:
                    self._background.pop(0)
                    continue
                left[0] -= 1
                return code, after
            return None


def _take(rules: list[_Rule], sql: str) -> int | float | None:
    for rule in rules:
        if rule.remaining > 0 and rule.pattern.search(sql):
            rule.remaining -= 1
            return int(rule.value) if rule.value.is_integer() else rule.value
    return None
