"""What the Pulumi engine reports while a stack operation runs: `Progress` collects its events (the error
diagnostics a failure is explained with, the steps still running, the change summary) and `heartbeat` names the
steps still running every so often, so a long drain never looks hung.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pulumi import automation as auto


class Progress:
    """Collects engine events: error diagnostics for failures, and the steps still running for heartbeats."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._running: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.errors: list[str] = []
        self.changes: dict[str, int] = {}

    def on_event(self, event: auto.EngineEvent) -> None:
        with self._lock:
            if event.resource_pre_event and not event.resource_pre_event.planning:
                meta = event.resource_pre_event.metadata
                if meta.op.value not in ("same", "read"):
                    self._running[meta.urn] = (meta.op.value, self._clock())
            elif event.res_outputs_event:
                self._running.pop(event.res_outputs_event.metadata.urn, None)
            elif event.res_op_failed_event:
                self._running.pop(event.res_op_failed_event.metadata.urn, None)
            elif event.diagnostic_event and event.diagnostic_event.severity == "error":
                diag = event.diagnostic_event
                where = f"{_resource_name(diag.urn)}: " if diag.urn else ""
                self.errors.append(where + diag.message.strip())
            elif event.summary_event:
                self.changes = {str(k): int(v) for k, v in event.summary_event.resource_changes.items()}

    def waiting(self, min_seconds: float) -> list[str]:
        """One line per step running for at least `min_seconds`, e.g. `update DnodeDecommission tdengine (2m05s)`."""
        now = self._clock()
        with self._lock:
            running = sorted(self._running.items(), key=lambda item: item[1][1])
        return [
            f"{op} {_resource_name(urn)} ({_duration(now - started)})"
            for urn, (op, started) in running
            if now - started >= min_seconds
        ]


@contextmanager
def heartbeat(progress: Progress, seconds: float, output: Callable[[str], None]) -> Iterator[None]:
    """Every `seconds` (0: never), one line per step running that long: `[tdengine] still running: ...`."""
    if seconds <= 0:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(seconds):
            for line in progress.waiting(seconds):
                output(f"[tdengine] still running: {line}")

    thread = threading.Thread(target=beat, name="tdengine-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=1)


def _resource_name(urn: str) -> str:
    """`urn:pulumi:dev::tdengine::a$pulumi-python:dynamic:Resource::tdengine-decommission` -> its name and type."""
    parts = urn.split("::")
    if len(parts) < 4:
        return urn
    kind = parts[2].rsplit("$", 1)[-1]
    return f"{kind.rsplit(':', 1)[-1]} {parts[3]}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def command_cause(err: Exception, diagnostics: list[str]) -> str:
    """The engine's error diagnostics when there are any, else the last meaningful lines of the CLI's output."""
    if diagnostics:
        return "\n".join(diagnostics)
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error")]
    return "\n".join(errors[-3:] or lines[-3:]) or type(err).__name__
