"""The seed's taosBenchmark run as a pod exec, and what may be shown of its output. Pure.

The seed runs `taosBenchmark -I stmt -d test -n 10000 -t 10000 -a 3` in tdengine-0. Ours differs in the
database (`checks.VERIFY_DB`), the sizes (from the settings, small by default), `-y` (no prompt: nobody is
at the keyboard) and the password: it is written to the exec's stdin and read by the pod's shell, so it is
never part of the exec request (the API server logs its URL, command included) nor of our own output.
taosBenchmark prints its settings, password included, so its output is only ever shown scrubbed.
"""

from __future__ import annotations

import re

from components.verify.checks import STABLE

_PASSWORD_VAR = "TDPW"
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
"""taosBenchmark colours its SUCC/ERROR lines (`\x1b[31mERROR: ...\x1b[0m`), even without a terminal."""


def benchmark_command(database: str, tables: int, rows: int, replica: int) -> list[str]:
    """argv for the pod's container: `sh -c` reading the password from stdin, then taosBenchmark."""
    script = (
        f"read -r {_PASSWORD_VAR} && exec taosBenchmark -y -I stmt -d {database} -t {int(tables)} -n {int(rows)} "
        f'-a {int(replica)} -p"${_PASSWORD_VAR}"'
    )
    return ["sh", "-c", script]


def benchmark_stdin(password: str) -> str:
    return password + "\n"


def child_table(database: str, index: int) -> str:
    return f"{database}.d{index}"


def super_table(database: str) -> str:
    return f"{database}.{STABLE}"


def tail(text: str, lines: int = 12) -> str:
    """The last non-empty lines, indented, for an error message."""
    kept = [line.rstrip() for line in _COLOUR.sub("", text).splitlines() if line.strip()][-lines:]
    return "\n".join(f"    {line}" for line in kept)
