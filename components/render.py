"""Offline render: the manifests a stack would apply, as YAML, with no Pulumi CLI and no cluster.

Reads Pulumi.yaml and Pulumi.<stack>.yaml itself (secure values are never decrypted) and runs the
same builders as the component. The root password is always redacted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from components import manifests
from components.args import SECRET_SETTINGS, ClusterArgs

REDACTED = "<redacted>"
PROJECT_DIR = Path(__file__).resolve().parent.parent


def stack_values(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The project's own keys from Pulumi.<stack>.yaml, without the project prefix; secrets left out."""
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(
            f"no stack file {path.name} in {project_dir} (stacks: {', '.join(list_stacks(project_dir))})"
        )
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    prefix = f"{project['name']}:"
    secret_keys = {s.key for s in SECRET_SETTINGS}
    values: dict[str, Any] = {}
    for full_key, value in config.items():
        key = full_key[len(prefix) :] if full_key.startswith(prefix) else None
        if key is None or key in secret_keys or (isinstance(value, dict) and "secure" in value):
            continue
        values[key] = value
    return values


def list_stacks(project_dir: Path = PROJECT_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def render(args: ClusterArgs) -> list[dict[str, Any]]:
    return manifests.all_manifests(args, REDACTED)


def to_yaml(objects: list[dict[str, Any]]) -> str:
    return "".join("---\n" + yaml.safe_dump(o, sort_keys=False, default_flow_style=False) for o in objects)


def write(objects: list[dict[str, Any]], out: Path) -> list[Path]:
    """One file per object, numbered in apply order (e.g. 05-statefulset-tdengine.yaml)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, obj in enumerate(objects, 1):
        path = out / f"{i:02d}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
        path.write_text(to_yaml([obj]))
        paths.append(path)
    return paths
