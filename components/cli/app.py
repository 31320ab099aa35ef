"""`main`: parse the arguments, run the command, and turn what went wrong into its exit code."""

from __future__ import annotations

from components.automation import AutomationError, PulumiCliMissing
from components.cli.commands import COMMANDS
from components.cli.output import error
from components.cli.parser import build_parser
from components.cli.runtime import FAILED, MISSING, Runtime, Stop
from components.tdengine.errors import ClusterError


def main(argv: list[str] | None = None, runtime: Runtime | None = None) -> int:
    runtime = runtime or Runtime()
    parser = build_parser()
    try:
        opts = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: --help exits 0, errors exit 2 after printing usage
        return int(exit_.code or 0)
    try:
        return COMMANDS[opts.command](opts, runtime)
    except Stop as stop:
        return stop.code
    except PulumiCliMissing as err:
        error(runtime, str(err))
        return MISSING
    except (AutomationError, ClusterError) as err:
        error(runtime, str(err))
        return FAILED
    except KeyboardInterrupt:
        error(runtime, "interrupted; the stack may hold a pending operation: re-run the command to resume")
        return FAILED
