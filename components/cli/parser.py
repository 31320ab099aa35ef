"""The command line's arguments: `python -m components <command> --stack NAME ...` and its `--help`."""

from __future__ import annotations

import argparse
from pathlib import Path

from components.automation import PROJECT_ROOT
from components.cli.runtime import EXIT_CODES
from components.render import NOTES_FILE
from components.verify import command as verify_command


def build_parser() -> argparse.ArgumentParser:
    codes = "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog="python -m components",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Deploy and operate a TDengine cluster on Kubernetes with this Pulumi project.\n"
            "Each command works on one stack: its settings are in Pulumi.<stack>.yaml next to Pulumi.yaml.\n"
            "preview, up, scale, status, destroy and verify need the Pulumi CLI; all of them but preview and\n"
            "status --offline also need a Kubernetes context (KUBECONFIG, ~/.kube/config, or the stack's\n"
            "kubeContext/kubeconfig). render and stacks need neither. Whatever is missing is reported at once,\n"
            "before anything runs."
        ),
        epilog=(
            "examples:\n"
            "  python -m components preview --stack dev      what would change, no cluster needed\n"
            "  python -m components up --stack dev           deploy, or apply changed settings\n"
            "  python -m components scale 5 --stack dev      add two dnodes\n"
            "  python -m components scale 3 --stack dev      drain and remove them again (asks first)\n"
            "  python -m components verify --stack dev       the seed's cluster checks, as code\n"
            "  python -m components render --stack dev --out manifests/\n"
            "  python -m components init --stack prod        a new stack file from dev's settings\n\n"
            f"exit codes:\n{codes}\n\n"
            "The state backend and secrets come from the usual Pulumi environment: PULUMI_BACKEND_URL or\n"
            "`pulumi login`, PULUMI_ACCESS_TOKEN, PULUMI_CONFIG_PASSPHRASE (never pass secrets as flags)."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    stack_opts = argparse.ArgumentParser(add_help=False)
    stack_opts.add_argument("--stack", required=True, metavar="NAME", help="the stack to operate (Pulumi.NAME.yaml)")
    stack_opts.add_argument(
        "--project-dir", type=Path, default=PROJECT_ROOT, metavar="DIR", help="the Pulumi project (default: this one)"
    )
    stack_opts.add_argument("--backend", metavar="URL", help="state backend, e.g. file:///srv/state (default: login)")
    stack_opts.add_argument(
        "--secrets-provider", metavar="URL", help="secrets provider for a new stack (passphrase, awskms://...)"
    )
    stack_opts.add_argument("--pulumi-root", type=Path, metavar="DIR", help="Pulumi CLI install dir (has bin/pulumi)")
    stack_opts.add_argument(
        "--json", action="store_true", help="print the result as JSON on stdout (Pulumi's output goes to stderr)"
    )
    yes = argparse.ArgumentParser(add_help=False)
    yes.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    commands.add_parser(
        "preview",
        parents=[stack_opts],
        help="show what `up` would change (runs in PR CI; no cluster needed)",
        description="Show what `up` would change for the stack. Needs the Pulumi CLI, not a cluster.",
    )
    commands.add_parser(
        "up",
        parents=[stack_opts, yes],
        help="deploy the cluster or apply changed settings",
        description=(
            "Deploy the cluster, or apply the stack's changed settings. When the settings lower `replicas`, the\n"
            "departing dnodes are drained first (highest ordinal first); that asks for confirmation."
        ),
    )
    commands.add_parser(
        "destroy",
        parents=[stack_opts, yes],
        help="delete the cluster (data volumes kept unless deleteDataOnDestroy)",
        description="Delete every resource of the stack. Data volumes (PVCs) stay unless deleteDataOnDestroy is set.",
    )
    status = commands.add_parser(
        "status",
        parents=[stack_opts],
        help="the stack's outputs and the cluster's live dnodes and mnodes",
        description="Print the stack's outputs and, unless --offline, the live dnodes and mnodes over REST.",
    )
    status.add_argument("--offline", action="store_true", help="only the outputs of the last `up`; no cluster access")
    scale = commands.add_parser(
        "scale",
        parents=[stack_opts, yes],
        help="change the number of dnodes (asks before removing any)",
        description=(
            "Set the stack's `replicas` to N and run `up`. Scaling out adds pods, their dnodes and (up to 3)\n"
            "mnodes. Scaling in drains the departing dnodes highest ordinal first, waits until their vnodes\n"
            "have moved, only then shrinks the StatefulSet, and deletes the released volumes. Scaling in asks\n"
            "for confirmation unless --yes."
        ),
    )
    scale.add_argument("replicas", type=_positive_int, metavar="N", help="the number of dnodes wanted")
    verify = commands.add_parser(
        "verify",
        parents=[stack_opts],
        help="the seed's cluster tests: REST, a taosBenchmark write, row count, vgroup spread; --failover",
        description=(
            "Check a deployed cluster the way the seed does by hand: dnodes and mnodes, REST through a\n"
            "port-forward, a small replica-3 dataset written with taosBenchmark inside a pod, its row count and\n"
            "its vgroups (a leader each, replicas on distinct dnodes). With --failover, also delete the pod of\n"
            "the mnode leader, prove a write and a read while a new leader is elected, wait for the pod to\n"
            "rejoin, and report the times. --failover is refused on a cluster that is not highly available."
        ),
    )
    verify_command.add_arguments(verify)
    stacks = commands.add_parser(
        "stacks",
        help="list the stacks, or those a change touches (for pull-request CI)",
        description=(
            "List the project's stacks (Pulumi.<stack>.yaml). With --changed-since REF, only those whose preview\n"
            "a change since REF can alter: a stack file's own stack, or every stack when the program changed."
        ),
    )
    stacks.add_argument("--changed-since", metavar="REF", help="a git ref, e.g. origin/main")
    stacks.add_argument("--project-dir", type=Path, default=PROJECT_ROOT, metavar="DIR", help=argparse.SUPPRESS)
    stacks.add_argument("--json", action="store_true", help="print a JSON list (for a CI matrix)")
    render_cmd = commands.add_parser(
        "render",
        help="the Kubernetes objects a stack applies, as YAML, for review and GitOps (no secrets)",
        description=(
            "Render the Kubernetes objects `pulumi up` applies for a stack, offline: for review, GitOps diffs and\n"
            "the seed's manual runbook. The root-password Secret is not rendered (its header shows the kubectl\n"
            "command that creates it), nor are the membership steps `pulumi up` runs (create mnode, drop dnode\n"
            "before a scale-in, deleting released volumes): see the header of the output."
        ),
    )
    render_cmd.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to read (default: dev)")
    render_cmd.add_argument("--project-dir", type=Path, default=PROJECT_ROOT, metavar="DIR", help=argparse.SUPPRESS)
    render_cmd.add_argument(
        "--out", type=Path, metavar="DIR", help=f"write one file per object and {NOTES_FILE} there (default: stdout)"
    )
    init = commands.add_parser(
        "init",
        help="start a new stack file from another's settings (no secrets, no encryption salt)",
        description=(
            "Write Pulumi.NAME.yaml with the settings of Pulumi.FROM.yaml, offline. The source's encryptionsalt\n"
            "and encrypted values are left out: they belong to its passphrase, and a copy that keeps them fails\n"
            "with 'incorrect passphrase'. The new stack gets its own salt on its first preview."
        ),
    )
    init.add_argument("--stack", required=True, metavar="NAME", help="the new stack (Pulumi.NAME.yaml)")
    init.add_argument("--from", dest="source", default="dev", metavar="FROM", help="the stack to copy (default: dev)")
    init.add_argument("--project-dir", type=Path, default=PROJECT_ROOT, metavar="DIR", help=argparse.SUPPRESS)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from err
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} dnodes: a cluster needs at least 1 (3 for high availability)")
    return value
