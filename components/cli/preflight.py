"""What a command needs that can be checked offline, all of it reported at once before anything runs: the
stack file and its settings, the Pulumi CLI, and a Kubernetes context the way the stack will use it. A missing
context fails in a second with its fix instead of minutes into a deployment.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from components.args import ClusterArgs, ConfigError
from components.automation import PROJECT_NAME
from components.cli import passphrase
from components.cli.output import one_line, report
from components.cli.runtime import MISSING, USAGE, Runtime, Stop
from components.render import list_stacks, stack_values


def preflight(opts: argparse.Namespace, rt: Runtime, *, kube: bool, replicas: int | None = None) -> ClusterArgs:
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
                f"no stack file {path.name} in {project_dir} (stacks: {stacks}). Fix: `python -m components init "
                f"--stack {opts.stack}` (dev's settings, without its encryption salt), then set namespace/replicas",
            )
        )
    else:
        try:
            values = stack_values(opts.stack, project_dir)
            config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        except (OSError, yaml.YAMLError) as err:
            values, config = {}, {}
            problems.append((USAGE, f"{path.name} or Pulumi.yaml cannot be read: {one_line(err)}"))
        else:
            try:
                args = ClusterArgs.from_mapping(values)
            except ConfigError as err:
                problems.append((USAGE, f"{path.name}: {err}"))
        in_stack = f"{PROJECT_NAME}:kubeconfig" in config
        if problem := passphrase_problem(opts.stack, path, rt.env):
            problems.append((MISSING, problem))
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
        report(rt, [text for _, text in problems])
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


def kubeconfig_paths(env: Mapping[str, str], home: Path) -> list[Path]:
    """The files kubectl and the Kubernetes provider read: $KUBECONFIG's list, else ~/.kube/config."""
    listed = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    return [Path(p).expanduser() for p in listed] if listed else [home / ".kube" / "config"]


def kube_access_problem(
    stack: str,
    kube_context: str,
    kubeconfig_in_stack: bool,
    env: Mapping[str, str],
    home: Path,
) -> str | None:
    """None when a usable context exists; otherwise what is missing and how to set it."""
    if kubeconfig_in_stack:
        return None  # the stack carries its own kubeconfig (secret); the providers use that one
    if env.get("KUBERNETES_SERVICE_HOST") and not kube_context:
        return None  # running inside a pod: in-cluster config
    paths = kubeconfig_paths(env, home)
    existing = [p for p in paths if p.is_file()]
    store = f'pulumi config set --secret kubeconfig "$(cat PATH)" --stack {stack}'
    if not existing:
        where = "KUBECONFIG lists " + ", ".join(map(str, paths)) if env.get("KUBECONFIG") else f"{paths[0]} is missing"
        return (
            f"no kubeconfig found ({where}). Fix: point KUBECONFIG at your cluster's kubeconfig "
            f"(e.g. `export KUBECONFIG=~/.kube/prod.yaml`), or store one in the stack: `{store}`"
        )
    contexts: list[str] = []
    current = ""
    for path in existing:
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            problem = type(err).__name__
            return f"kubeconfig {path} cannot be read ({problem}). Fix: repair it or point KUBECONFIG elsewhere"
        if not isinstance(doc, dict):
            return f"kubeconfig {path} is not a kubeconfig mapping. Fix: repair it or point KUBECONFIG elsewhere"
        contexts += [str(c.get("name")) for c in doc.get("contexts") or [] if isinstance(c, dict) and c.get("name")]
        current = current or str(doc.get("current-context") or "")
    files = ", ".join(map(str, existing))
    if kube_context and kube_context not in contexts:
        known = ", ".join(contexts) or "none"
        return (
            f"kube context {kube_context!r} (stack setting kubeContext) is not in {files} (contexts: {known}). "
            f"Fix: `pulumi config set kubeContext NAME --stack {stack}` with one of them, or add it to your kubeconfig"
        )
    if not kube_context and not current:
        return (
            f"{files} sets no current-context and the stack sets no kubeContext. "
            f"Fix: `kubectl config use-context NAME`, or `pulumi config set kubeContext NAME --stack {stack}`"
        )
    return None


def passphrase_problem(stack: str, path: Path, env: Mapping[str, str]) -> str | None:
    """A passphrase stack (its file holds an `encryptionsalt`) needs PULUMI_CONFIG_PASSPHRASE(_FILE): without it
    the CLI fails minutes later with a raw 'outputs of stack ... failed: ... passphrase' instead."""
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None  # reported with the settings
    if not isinstance(doc, dict) or "encryptionsalt" not in doc:
        return None
    if "PULUMI_CONFIG_PASSPHRASE" in env or "PULUMI_CONFIG_PASSPHRASE_FILE" in env:
        return _wrong_passphrase(stack, path, str(doc["encryptionsalt"]), env)
    return (
        f"stack {stack} encrypts its secrets with a passphrase (encryptionsalt in {path.name}) and neither "
        "PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set. Fix: export PULUMI_CONFIG_PASSPHRASE "
        f"with the passphrase stack {stack} was created with"
    )


def _wrong_passphrase(stack: str, path: Path, salt: str, env: Mapping[str, str]) -> str | None:
    """The passphrase the environment gives, checked against the stack's salt (offline, about a second)."""
    if "PULUMI_CONFIG_PASSPHRASE" in env:
        candidates, source = [env["PULUMI_CONFIG_PASSPHRASE"]], "PULUMI_CONFIG_PASSPHRASE"
    else:
        source = "the file PULUMI_CONFIG_PASSPHRASE_FILE names"
        try:
            text = Path(env["PULUMI_CONFIG_PASSPHRASE_FILE"]).read_text()
        except OSError as err:
            return (
                f"PULUMI_CONFIG_PASSPHRASE_FILE cannot be read: {one_line(err)}. Fix: point it at the passphrase file"
            )
        candidates = [text, text.rstrip("\r\n")]
    verdicts = {passphrase.opens(salt, c) for c in candidates}
    if True in verdicts or None in verdicts:
        return None
    return (
        f"the passphrase in {source} does not open stack {stack}'s secrets (encryptionsalt in {path.name}). Fix: "
        f"use the passphrase stack {stack} was created with"
    )
