"""What the command line prints: error lines, results (text or `--json`), the topology, confirmations.

Human-facing lines go to stdout, or to stderr with `--json` so stdout stays machine-readable.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from components.automation import OperationResult
from components.cli.runtime import OK, Runtime


def error(rt: Runtime, message: str) -> None:
    print(f"error: {message}", file=rt.stderr, flush=True)


def say(rt: Runtime, opts: argparse.Namespace, message: str) -> None:
    """Human-facing lines: stdout normally, stderr with --json so stdout stays machine-readable."""
    print(message, file=rt.stderr if getattr(opts, "json", False) else rt.stdout, flush=True)


def report(rt: Runtime, problems: list[str]) -> None:
    """One problem on one `error:` line; several as a list, so one run shows everything to fix."""
    if len(problems) == 1:
        error(rt, problems[0])
        return
    lines = [f"{len(problems)} problems; nothing was run:"]
    for problem in problems:
        first, *rest = problem.splitlines()
        lines += [f"  - {first}", *(f"    {line}" for line in rest)]
    error(rt, "\n".join(lines))


def one_line(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}: {err.filename}" if err.filename else err.strerror
    return " ".join(str(err).split())


def confirm(rt: Runtime, opts: argparse.Namespace, question: str) -> bool:
    if getattr(opts, "yes", False):
        return True
    if not rt.stdin.isatty():
        error(rt, f"{question}\nrefusing to go on without confirmation: stdin is not a terminal. Re-run with --yes")
        return False
    print(f"{question}\nContinue? [y/N] ", end="", file=rt.stderr, flush=True)
    return rt.stdin.readline().strip().lower() in ("y", "yes")


def finish(rt: Runtime, opts: argparse.Namespace, result: OperationResult) -> int:
    if opts.json:
        print(json.dumps(as_json(result), indent=2, sort_keys=True), file=rt.stdout)
    else:
        say(rt, opts, result.summary_line())
        if result.topology:
            say(rt, opts, format_topology(result.topology))
    return OK


KEPT = "destroy kept the data"
"""How the membership provider's delete begins the line naming what a destroy left (membership/retained.py)."""


def kept_line(stdout: str) -> str | None:
    """The destroy's line about the data it kept, from the engine's output, where the engine's own summary follows
    it: the command line prints it again as its last line."""
    found = [line for line in stdout.splitlines() if KEPT in line]
    return found[-1][found[-1].index(KEPT) :].strip() if found else None


def as_json(result: OperationResult) -> dict[str, Any]:
    return {
        "operation": result.operation,
        "stack": result.stack,
        "changes": result.changes,
        "outputs": result.outputs,
        "topology": result.topology,
    }


def format_topology(topology: Mapping[str, Any]) -> str:
    """`dnodes: tdengine-0 (id 1, ready, 4 vnodes) ...` and `mnodes: ... leader ...`, one line each."""
    dnodes = ", ".join(
        f"{d.get('pod') or d.get('endpoint')} (id {d.get('id')}, {d.get('status')}, {d.get('vnodes')} vnodes)"
        for d in topology.get("dnodes") or []
    )
    mnodes = ", ".join(f"dnode {m.get('id')} {m.get('role')}" for m in topology.get("mnodes") or [])
    return f"dnodes: {dnodes or 'none'}\nmnodes: {mnodes or 'none'}"
