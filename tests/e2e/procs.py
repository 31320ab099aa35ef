"""Processes the end-to-end harness starts: each with a log file, each ended by its own pid.

`Proc.stop` sends SIGTERM to the process group it started, waits, then SIGKILL: a process that forks
(kwok, the Pulumi CLI and the plugins it starts) leaves nothing behind. Logs stay in the harness' work
directory so a failed test can show them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """A safety net under `stop`: the kernel sends SIGKILL to the process when the test process dies, even by
    SIGKILL (a CI timeout), so no control plane outlives its test run."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """One long-running process, started in a process group of its own."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log = log
        self.env = env
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def start(self) -> Proc:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        pgid = self.popen.pid  # start_new_session: the group id is the process' own pid
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                return
            try:
                self.popen.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def wait_for(
    what: str, ready: Callable[[], bool], timeout: float, procs: Sequence[Proc] = (), step: float = 0.2
) -> None:
    """Poll `ready` until it is true; fail at the deadline, or at once when a process it needs has died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except Exception:  # not up yet: connection refused, 503, ...
            pass
        for p in procs:
            if not p.alive():
                raise RuntimeError(f"{p.name} exited while waiting for {what}; its log ends with:\n{p.tail()}")
        if time.monotonic() >= deadline:
            logs = "\n".join(f"--- {p.name}:\n{p.tail(15)}" for p in procs)
            raise TimeoutError(f"{what} not ready after {timeout:.0f}s\n{logs}")
        time.sleep(step)


def session_members(sid: int) -> list[int]:
    """The pids of the live processes in session `sid` (from /proc: field 6 of `stat`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state ppid pgrp session ...
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def end_session(sid: int, timeout: float = 10.0) -> None:
    """SIGKILL every process of a session, by pid, and wait until none is left. The Pulumi CLI starts each
    plugin in a process group of its own, so after the CLI is killed its plugins outlive a `killpg`; they stay
    in the session the CLI was started with (`start_new_session`: its id is the CLI's pid)."""
    deadline = time.monotonic() + timeout
    while pids := session_members(sid):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {pids} of session {sid} survived SIGKILL")
        time.sleep(0.1)
