"""The commands of `python -m components`: each checks what it can offline first (`preflight.py`), then runs
the Pulumi operation (`automation.py`) with its output streamed, and prints the result (`output.py`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Callable
from typing import Any

from components import live, manifests, stack_file
from components.args import ClusterArgs, ConfigError
from components.automation import AutomationError, ClusterStack, StackTarget
from components.cli.output import confirm, error, finish, format_topology, kept_line, say
from components.cli.preflight import preflight
from components.cli.runtime import DECLINED, FAILED, OK, USAGE, Runtime
from components.cli.stacks import stacks_to_preview
from components.render import for_apply, header, list_stacks, notes, stack_values, to_yaml, write
from components.verify import command as verify_command
from components.verify.report import summary as verify_summary

Command = Callable[[argparse.Namespace, Runtime], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return register


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


def _scale_down_question(args: ClusterArgs, current: int, wanted: int) -> str:
    """What a scale-in from `current` to `wanted` removes, in drain order (highest ordinal first), asked before
    `up` runs. (What is really drained is decided by `membership.plan.departing_pods` on the live cluster.)"""
    pods = ", ".join(reversed(args.naming.pods(current)[wanted:]))
    return (
        f"Scale {args.namespace}/{args.cluster_name} in from {current} to {wanted} dnodes: drains and removes {pods} "
        f"(their vnodes move to the remaining dnodes first), then deletes their data volumes."
    )


@command("render")
def _render(opts: argparse.Namespace, rt: Runtime) -> int:
    try:
        args = ClusterArgs.from_mapping(stack_values(opts.stack, opts.project_dir))
    except (ConfigError, FileNotFoundError) as err:
        error(rt, str(err))
        return USAGE
    objects = for_apply(args)
    if not opts.out:
        rt.stdout.write(header(args, opts.stack) + to_yaml(objects))
        return OK
    try:
        paths = write(objects, opts.out, "".join(f"{line}\n" for line in notes(args, opts.stack)))
    except OSError as err:
        error(rt, f"cannot write to --out {opts.out}: {err.strerror or err}. Fix: name a directory you can create")
        return USAGE
    for path in paths:
        print(path, file=rt.stdout)
    secret = manifests.secret_name(args)
    print(f"note: the Secret {secret} is not rendered; {paths[-1]} says how to create it", file=rt.stderr)
    return OK


@command("init")
def _init(opts: argparse.Namespace, rt: Runtime) -> int:
    source = opts.project_dir / f"Pulumi.{opts.source}.yaml"
    target = opts.project_dir / f"Pulumi.{opts.stack}.yaml"
    if target.exists():
        error(rt, f"{target.name} exists already. Fix: choose another --stack, or edit that file")
        return USAGE
    if not source.is_file():
        stacks = ", ".join(list_stacks(opts.project_dir)) or "none"
        error(rt, f"no stack file {source.name} to start from (stacks: {stacks}). Fix: --from one of them")
        return USAGE
    text, left_out = stack_file.new_stack(source.read_text(), source.name, opts.stack)
    target.write_text(text)
    say(
        rt,
        opts,
        f"wrote {target.name} with the settings of {source.name}; next: `python -m components preview "
        f"--stack {opts.stack}` (set namespace first if both stacks deploy to one cluster)",
    )
    for key in left_out:
        name = key.split(":", 1)[-1]
        say(
            rt,
            opts,
            f"not copied (encrypted for {opts.source}): {name}. Set it: `pulumi config set --secret {name} "
            f"... --stack {opts.stack}`",
        )
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
            error(rt, f"git diff against {opts.changed_since!r} failed: {diff.stderr.strip()}")
            return USAGE
        stacks = stacks_to_preview(diff.stdout.split(), stacks)
    print(json.dumps(stacks) if opts.json else "\n".join(stacks), file=rt.stdout)
    return OK


@command("preview")
def _preview(opts: argparse.Namespace, rt: Runtime) -> int:
    preflight(opts, rt, kube=False)
    return finish(rt, opts, _open(opts, rt).preview())


@command("up")
def _up(opts: argparse.Namespace, rt: Runtime) -> int:
    args = preflight(opts, rt, kube=True)
    stack = _open(opts, rt)
    current = stack.deployed_replicas()
    if current is not None and args.replicas < current:
        if not confirm(rt, opts, _scale_down_question(args, current, args.replicas)):
            return DECLINED
    return finish(rt, opts, stack.up())


@command("scale")
def _scale(opts: argparse.Namespace, rt: Runtime) -> int:
    args = preflight(opts, rt, kube=True, replicas=opts.replicas)
    stack = _open(opts, rt)
    current = stack.deployed_replicas()
    if current is None:
        current = args.replicas
        say(rt, opts, f"stack {opts.stack} has not been deployed yet: `up` creates {opts.replicas} dnodes")
    elif opts.replicas < current:
        if not confirm(rt, opts, _scale_down_question(args, current, opts.replicas)):
            return DECLINED
    elif opts.replicas == current:
        say(rt, opts, f"{args.cluster_name} already has {current} dnodes; running `up` to converge")
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
    return finish(rt, opts, result)


@command("destroy")
def _destroy(opts: argparse.Namespace, rt: Runtime) -> int:
    args = preflight(opts, rt, kube=True)
    volumes = "and DELETES the data volumes" if args.delete_data_on_destroy else "(the data volumes are kept)"
    cluster = f"{args.namespace}/{args.cluster_name}"
    question = f"Destroy stack {opts.stack}: deletes the TDengine cluster {cluster} {volumes}."
    if not confirm(rt, opts, question):
        return DECLINED
    result = _open(opts, rt).destroy()
    code = finish(rt, opts, result)
    kept = kept_line(result.stdout)
    if kept and not opts.json:
        say(rt, opts, kept)  # last, after the engine's summary and ours, as the README promises
    return code


@command("status")
def _status(opts: argparse.Namespace, rt: Runtime) -> int:
    args = preflight(opts, rt, kube=not opts.offline)
    stack = _open(opts, rt)
    outputs = stack.outputs()
    if not outputs:
        error(rt, f"stack {opts.stack} has no outputs: it has not been deployed. Fix: `python -m components up`")
        return FAILED
    shown = {k: "[secret]" if v.secret else v.value for k, v in outputs.items()}
    report: dict[str, Any] = {"stack": opts.stack, "outputs": shown}
    if not opts.offline:
        password = str(outputs["rootPassword"].value) if "rootPassword" in outputs else ""
        report["live"] = live.read_topology(args, password, kubeconfig=stack.config_value("kubeconfig"))
    if opts.json:
        print(json.dumps(report, indent=2, sort_keys=True), file=rt.stdout)
        return OK
    for key in ("namespace", "serviceName", "firstEndpoint", "restUrl"):
        if key in shown:
            say(rt, opts, f"{key}: {shown[key]}")
    topology = report.get("live") or shown.get("topology")
    if isinstance(topology, dict):
        label = "live" if "live" in report else "at the last up"
        say(rt, opts, f"topology ({label}):\n{format_topology(topology)}")
    return OK


@command("verify")
def _verify(opts: argparse.Namespace, rt: Runtime) -> int:
    args = preflight(opts, rt, kube=True)  # taosBenchmark runs inside a pod, so even adminUrl needs Kubernetes
    stack = _open(opts, rt)
    outputs = stack.outputs()
    if "rootPassword" not in outputs:
        error(rt, f"stack {opts.stack} has no outputs: it has not been deployed. Fix: `python -m components up`")
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
