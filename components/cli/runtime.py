"""What the command line touches outside itself (`Runtime`, which tests replace), and its exit codes.

Exit codes are part of the interface; scripts rely on them (see EXIT_CODES).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from components import live
from components.automation import INSTALL_HINT, StackFactory, open_stack
from components.verify import command as verify_command

OK, FAILED, USAGE, MISSING, DECLINED, NOT_PROVEN = 0, 1, 2, 3, 4, 5
EXIT_CODES = {
    OK: "success",
    FAILED: "the operation failed, a safety check refused it, or a verify check failed (the message says why)",
    USAGE: "bad arguments, invalid stack configuration, or a request refused as unsafe (nothing was run)",
    MISSING: "a prerequisite is missing or unreachable: the Pulumi CLI, a Kubernetes context, the cluster",
    DECLINED: "a confirmation was declined, or needed and stdin is not a terminal (use --yes)",
    NOT_PROVEN: "verify --failover: every check passed, but the deleted pod was back before any election (run again)",
}


def pulumi_cli_problem(pulumi_root: Path | None, env: Mapping[str, str]) -> str | None:
    """None when the Pulumi CLI is where the Automation API will look for it; otherwise where we looked and the fix."""
    if pulumi_root is not None:
        found = shutil.which(str(pulumi_root / "bin" / "pulumi"))
        where = f"{pulumi_root}/bin/pulumi"
    else:
        found = shutil.which("pulumi", path=env.get("PATH", os.defpath))
        where = "`pulumi` on PATH"
    return None if found else f"the Pulumi CLI was not found ({where}). Fix: {INSTALL_HINT}"


@dataclass
class Runtime:
    """Everything the commands touch outside themselves; tests replace any of it."""

    factory: StackFactory = open_stack
    pulumi_cli: Callable[[Path | None, Mapping[str, str]], str | None] = pulumi_cli_problem
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    home: Path = field(default_factory=Path.home)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    heartbeat_seconds: float = 30.0
    verify_kube: verify_command.KubeFactory = live.kube_for


class Stop(Exception):
    """Ends a command early with an exit code, after its message has been printed."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code
