"""The operator's command line: `python -m components <command> --stack NAME`, on top of `automation.py`.

Each command checks what it can offline first (the stack's config, the Pulumi CLI, a Kubernetes context) and
reports every problem at once, so a mistake costs a second and names its fix; then it runs the Pulumi
operation with its output streamed.
Exit codes are part of the interface; scripts rely on them (see EXIT_CODES).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from components import manifests
from components.args import ClusterArgs, ConfigError
from components.automation import (
    INSTALL_HINT,
    PROJECT_NAME,
    PROJECT_ROOT,
    AutomationError,
    ClusterStack,
    OperationResult,
    PulumiCliMissing,
    StackFactory,
    StackTarget,
    open_stack,
)
from components.kubeaccess import kube_access_problem
from components.render import NOTES_FILE, for_apply, header, list_stacks, notes, stack_values, to_yaml, write
from components.tdengine.errors import ClusterError
from components.verify import command as verify_command
from components.verify.report import summary as verify_summary

OK, FAILED, USAGE, MISSING, DECLINED = 0, 1, 2, 3, 4
EXIT_CODES = {
    OK: "success",
    FAILED: "the operation failed, a safety check refused it, or a verify check failed (the message says why)",
    USAGE: "bad arguments, invalid stack configuration, or a request refused as unsafe (nothing was run)",
    MISSING: "a prerequisite is missing or unreachable: the Pulumi CLI, a Kubernetes context, the cluster",
    DECLINED: "a confirmation was declined, or needed and stdin is not a terminal (use --yes)",
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
    verify_kube: verify_command.KubeFactory = verify_command.default_kube


class Stop(Exception):
    """Ends a command early with an exit code, after its message has been printed."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


Command = Callable[[argparse.Namespace, Runtime], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return register


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
            "  python -m components render --stack dev --out manifests/\n\n"
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
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} dnodes: a cluster needs at least 1 (3 for high availability)")
    return value


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
        _error(runtime, str(err))
        return MISSING
    except (AutomationError, ClusterError) as err:
        _error(runtime, str(err))
        return FAILED
    except KeyboardInterrupt:
        _error(runtime, "interrupted; the stack may hold a pending operation: re-run the command to resume")
        return FAILED


# -- shared steps ------------------------------------------------------------------------------------------------
def _error(rt: Runtime, message: str) -> None:
    print(f"error: {message}", file=rt.stderr, flush=True)


def _say(rt: Runtime, opts: argparse.Namespace, message: str) -> None:
    """Human-facing lines: stdout normally, stderr with --json so stdout stays machine-readable."""
    print(message, file=rt.stderr if getattr(opts, "json", False) else rt.stdout, flush=True)


def _preflight(opts: argparse.Namespace, rt: Runtime, *, kube: bool, replicas: int | None = None) -> ClusterArgs:
    """What a command needs that can be checked offline, all of it reported at once before anything runs: the
    stack file, its settings (with `replicas`, the new size too), the Pulumi CLI and (with `kube`) a usable
    Kubernetes context. Stops with the exit code of the first problem listed."""
    problems: list[tuple[int, str]] = []
    args: ClusterArgs | None = None
    kube_context, in_stack = "", False
    project_dir: Path = opts.project_dir
    path = project_dir / f"Pulumi.{opts.stack}.yaml"
    if not path.is_file():
        stacks = ", ".join(list_stacks(project_dir)) or "none"
        problems.append(
            (
                USAGE,
                f"no stack file {path.name} in {project_dir} (stacks: {stacks}). Fix: create it, e.g. copy "
                f"Pulumi.dev.yaml and set namespace/replicas, or `pulumi stack init {opts.stack}` and "
                "`pulumi config set`",
            )
        )
    else:
        try:
            values = stack_values(opts.stack, project_dir)
            config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        except (OSError, yaml.YAMLError) as err:
            values, config = {}, {}
            problems.append((USAGE, f"{path.name} or Pulumi.yaml cannot be read: {_one_line(err)}"))
        else:
            try:
                args = ClusterArgs.from_mapping(values)
            except ConfigError as err:
                problems.append((USAGE, f"{path.name}: {err}"))
        in_stack = f"{PROJECT_NAME}:kubeconfig" in config
        raw_context = values.get("kubeContext", "")
        kube_context = args.kube_context if args else raw_context if isinstance(raw_context, str) else ""
        if args is not None and replicas is not None:
            problems += _replicas_problems(opts.stack, args, values, replicas)
    if problem := rt.pulumi_cli(opts.pulumi_root, rt.env):
        problems.append((MISSING, problem))
    if kube:
        problem = kube_access_problem(opts.stack, kube_context, in_stack, rt.env, rt.home)
        if problem:
            problems.append((MISSING, problem))
    if problems:
        _report(rt, [text for _, text in problems])
        raise Stop(problems[0][0])
    assert args is not None  # no problems means the settings parsed
    return args


def _replicas_problems(
    stack: str, args: ClusterArgs, values: Mapping[str, Any], replicas: int
) -> list[tuple[int, str]]:
    """`scale N`: the new size must be a valid setting too, and fewer than 3 needs the acknowledgement."""
    try:
        ClusterArgs.from_mapping({**values, "replicas": replicas})
    except ConfigError as err:
        return [(USAGE, f"replicas {replicas}: {err}")]
    if replicas < 3 and not args.allow_fewer_than_three:
        return [
            (
                USAGE,
                f"scale {replicas}: fewer than 3 dnodes means fewer than 3 mnodes, so losing one pod loses the "
                f"cluster's quorum. Fix: `pulumi config set allowFewerThanThreeDnodes true --stack {stack}` "
                "to accept that, or scale to 3 or more",
            )
        ]
    return []


def _report(rt: Runtime, problems: list[str]) -> None:
    """One problem on one `error:` line; several as a list, so one run shows everything to fix."""
    if len(problems) == 1:
        _error(rt, problems[0])
        return
    lines = [f"{len(problems)} problems; nothing was run:"]
    for problem in problems:
        first, *rest = problem.splitlines()
        lines += [f"  - {first}", *(f"    {line}" for line in rest)]
    _error(rt, "\n".join(lines))


def _one_line(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}: {err.filename}" if err.filename else err.strerror
    return " ".join(str(err).split())


def _open(opts: argparse.Namespace, rt: Runtime) -> ClusterStack:
    target = StackTarget(
        stack=opts.stack,
        project_dir=opts.project_dir,
        backend_url=opts.backend,
        secrets_provider=opts.secrets_provider,
        pulumi_root=opts.pulumi_root,
    )
    out = rt.stderr if opts.json else rt.stdout

    def stream(line: str) -> None:
        print(line, file=out, flush=True)

    stack = ClusterStack.open(target, factory=rt.factory, on_output=stream)
    stack.heartbeat_seconds = rt.heartbeat_seconds
    return stack


def _confirm(rt: Runtime, opts: argparse.Namespace, question: str) -> bool:
    if getattr(opts, "yes", False):
        return True
    if not rt.stdin.isatty():
        _error(rt, f"{question}\nrefusing to go on without confirmation: stdin is not a terminal. Re-run with --yes")
        return False
    print(f"{question}\nContinue? [y/N] ", end="", file=rt.stderr, flush=True)
    return rt.stdin.readline().strip().lower() in ("y", "yes")


def _finish(rt: Runtime, opts: argparse.Namespace, result: OperationResult) -> int:
    if opts.json:
        print(json.dumps(_as_json(result), indent=2, sort_keys=True), file=rt.stdout)
    else:
        _say(rt, opts, result.summary_line())
        if result.topology:
            _say(rt, opts, format_topology(result.topology))
    return OK


def _as_json(result: OperationResult) -> dict[str, Any]:
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


PROGRAM_FILES = ("Pulumi.yaml", "__main__.py", "requirements.txt", "components/")


def stacks_to_preview(changed: list[str], stacks: list[str]) -> list[str]:
    """The stacks a change can affect: all of them when the program changed, else those whose file changed."""
    if any(path == p or (p.endswith("/") and path.startswith(p)) for path in changed for p in PROGRAM_FILES):
        return list(stacks)
    return [s for s in stacks if f"Pulumi.{s}.yaml" in changed]


def departing_pods(cluster_name: str, current: int, wanted: int) -> list[str]:
    """The pods a scale-in removes, in the order they are drained: highest ordinal first."""
    return [f"{cluster_name}-{i}" for i in range(current - 1, wanted - 1, -1)]


def _scale_down_question(args: ClusterArgs, current: int, wanted: int) -> str:
    pods = ", ".join(departing_pods(args.cluster_name, current, wanted))
    return (
        f"Scale {args.namespace}/{args.cluster_name} in from {current} to {wanted} dnodes: drains and removes {pods} "
        f"(their vnodes move to the remaining dnodes first), then deletes their data volumes."
    )


# -- commands ----------------------------------------------------------------------------------------------------
@command("render")
def _render(opts: argparse.Namespace, rt: Runtime) -> int:
    try:
        args = ClusterArgs.from_mapping(stack_values(opts.stack, opts.project_dir))
    except (ConfigError, FileNotFoundError) as err:
        _error(rt, str(err))
        return USAGE
    objects = for_apply(args)
    if not opts.out:
        rt.stdout.write(header(args, opts.stack) + to_yaml(objects))
        return OK
    try:
        paths = write(objects, opts.out, "".join(f"{line}\n" for line in notes(args, opts.stack)))
    except OSError as err:
        _error(rt, f"cannot write to --out {opts.out}: {err.strerror or err}. Fix: name a directory you can create")
        return USAGE
    for path in paths:
        print(path, file=rt.stdout)
    secret = manifests.secret_name(args)
    print(f"note: the Secret {secret} is not rendered; {paths[-1]} says how to create it", file=rt.stderr)
    return OK


@command("stacks")
def _stacks(opts: argparse.Namespace, rt: Runtime) -> int:
    stacks = list_stacks(opts.project_dir)
    if opts.changed_since:
        diff = subprocess.run(
            ["git", "diff", "--name-only", f"{opts.changed_since}...HEAD"],
            cwd=opts.project_dir,
            capture_output=True,
            text=True,
            check=False,
        )
        if diff.returncode != 0:
            _error(rt, f"git diff against {opts.changed_since!r} failed: {diff.stderr.strip()}")
            return USAGE
        stacks = stacks_to_preview(diff.stdout.split(), stacks)
    print(json.dumps(stacks) if opts.json else "\n".join(stacks), file=rt.stdout)
    return OK


@command("preview")
def _preview(opts: argparse.Namespace, rt: Runtime) -> int:
    _preflight(opts, rt, kube=False)
    return _finish(rt, opts, _open(opts, rt).preview())


@command("up")
def _up(opts: argparse.Namespace, rt: Runtime) -> int:
    args = _preflight(opts, rt, kube=True)
    stack = _open(opts, rt)
    current = stack.deployed_replicas()
    if current is not None and args.replicas < current:
        if not _confirm(rt, opts, _scale_down_question(args, current, args.replicas)):
            return DECLINED
    return _finish(rt, opts, stack.up())


@command("scale")
def _scale(opts: argparse.Namespace, rt: Runtime) -> int:
    args = _preflight(opts, rt, kube=True, replicas=opts.replicas)
    stack = _open(opts, rt)
    current = stack.deployed_replicas()
    if current is None:
        current = args.replicas
        _say(rt, opts, f"stack {opts.stack} has not been deployed yet: `up` creates {opts.replicas} dnodes")
    elif opts.replicas < current:
        if not _confirm(rt, opts, _scale_down_question(args, current, opts.replicas)):
            return DECLINED
    elif opts.replicas == current:
        _say(rt, opts, f"{args.cluster_name} already has {current} dnodes; running `up` to converge")
    try:
        result = stack.scale(opts.replicas)
    except AutomationError as err:
        raise AutomationError(
            err.operation,
            err.stack,
            err.cause,
            f"the stack's replicas is now {opts.replicas} and the cluster has not reached it. Fix the cause and run "
            f"`python -m components up --stack {opts.stack}` to finish. Only when the error says nothing was "
            f"changed (a refusal), `scale {current}` restores the old setting instead: a scale-in that has "
            "already dropped a dnode cannot be undone by raising replicas again",
        ) from err
    return _finish(rt, opts, result)


@command("destroy")
def _destroy(opts: argparse.Namespace, rt: Runtime) -> int:
    args = _preflight(opts, rt, kube=True)
    volumes = "and DELETES the data volumes" if args.delete_data_on_destroy else "(the data volumes are kept)"
    cluster = f"{args.namespace}/{args.cluster_name}"
    question = f"Destroy stack {opts.stack}: deletes the TDengine cluster {cluster} {volumes}."
    if not _confirm(rt, opts, question):
        return DECLINED
    return _finish(rt, opts, _open(opts, rt).destroy())


@command("status")
def _status(opts: argparse.Namespace, rt: Runtime) -> int:
    args = _preflight(opts, rt, kube=not opts.offline)
    stack = _open(opts, rt)
    outputs = stack.outputs()
    if not outputs:
        _error(rt, f"stack {opts.stack} has no outputs: it has not been deployed. Fix: `python -m components up`")
        return FAILED
    shown = {k: "[secret]" if v.secret else v.value for k, v in outputs.items()}
    report: dict[str, Any] = {"stack": opts.stack, "outputs": shown}
    if not opts.offline:
        from components import live  # the Kubernetes client is imported only when it is used

        password = str(outputs["rootPassword"].value) if "rootPassword" in outputs else ""
        report["live"] = live.read_topology(args, password, kubeconfig=stack.config_value("kubeconfig"))
    if opts.json:
        print(json.dumps(report, indent=2, sort_keys=True), file=rt.stdout)
        return OK
    for key in ("namespace", "serviceName", "firstEndpoint", "restUrl"):
        if key in shown:
            _say(rt, opts, f"{key}: {shown[key]}")
    topology = report.get("live") or shown.get("topology")
    if isinstance(topology, dict):
        label = "live" if "live" in report else "at the last up"
        _say(rt, opts, f"topology ({label}):\n{format_topology(topology)}")
    return OK


@command("verify")
def _verify(opts: argparse.Namespace, rt: Runtime) -> int:
    args = _preflight(opts, rt, kube=True)  # taosBenchmark runs inside a pod, so even adminUrl needs Kubernetes
    stack = _open(opts, rt)
    outputs = stack.outputs()
    if "rootPassword" not in outputs:
        _error(rt, f"stack {opts.stack} has no outputs: it has not been deployed. Fix: `python -m components up`")
        return FAILED
    password = str(outputs["rootPassword"].value)
    kubeconfig = stack.config_value("kubeconfig")
    options = verify_command.options_from(opts, args)

    def progress(line: str) -> None:
        print(f"[tdengine] verify: {line}", file=rt.stderr, flush=True)

    common: dict[str, Any] = {
        "failover": opts.failover,
        "kubeconfig": kubeconfig,
        "options": options,
        "kube_factory": rt.verify_kube,
        "progress": progress,
    }
    if opts.json:
        code, report = verify_command.verify(args, password, **common)
        print(json.dumps(verify_summary(code, report), indent=2, sort_keys=True), file=rt.stdout)
        return code
    return verify_command.run(args, password, out=rt.stdout, **common)
