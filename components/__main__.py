"""Command line: `python -m components render [--stack dev] [--out DIR]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from components.args import ConfigError
from components.render import ClusterArgs, render, stack_values, to_yaml, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components",
        description="Operate the TDengine cluster program without the Pulumi CLI.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    render_cmd = commands.add_parser(
        "render",
        help="write the Kubernetes manifests a stack would apply, as YAML (secrets redacted)",
        description="Render the exact manifests `pulumi up` would apply for a stack, offline.",
    )
    render_cmd.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to read (default: dev)")
    render_cmd.add_argument("--out", type=Path, help="directory to write one file per object (default: stdout)")
    opts = parser.parse_args(argv)

    try:
        args = ClusterArgs.from_mapping(stack_values(opts.stack))
    except (ConfigError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    objects = render(args)
    if opts.out:
        for path in write(objects, opts.out):
            print(path)
    else:
        sys.stdout.write(to_yaml(objects))
    return 0


if __name__ == "__main__":
    sys.exit(main())
