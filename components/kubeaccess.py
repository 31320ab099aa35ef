"""Preflight: can this machine reach a Kubernetes cluster the way the stack will? Checked before `up`,
`destroy`, `scale`, `status` and `verify`, so a missing context fails in a second with its fix instead of
minutes into a deployment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml


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
