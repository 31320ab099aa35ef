"""Offline render: the Kubernetes objects a stack's `pulumi up` applies, as YAML, with no Pulumi CLI and no
cluster. For review (diff two renders, or against the seed's YAML), for a GitOps record of what a stack runs,
and as the objects of the seed's manual runbook.

Reads Pulumi.yaml and Pulumi.<stack>.yaml itself (secure values are never decrypted) and runs the same
builders as the component. Two things of a `pulumi up` are not in the output, and its header says so:

- the root-password Secret: the StatefulSet references it by name (`secretKeyRef`), and the header shows
  the `kubectl create secret` that creates it, so the YAML applies as it is and holds no password at all;
- the cluster membership steps (`create mnode`, `drop dnode` before a scale-in, reclaiming the released
  volumes), which are SQL and API calls, not objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from components import manifests
from components.args import SECRET_SETTINGS, ClusterArgs
from components.tdengine.redact import REDACTED  # the root password in `render()`'s Secret: a marker, never a value

PROJECT_DIR = Path(__file__).resolve().parent.parent
NOTES_FILE = "README.txt"
"""Written next to the manifests by `--out`: kubectl, Argo CD and Flux read only .yaml/.yml/.json files."""


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
    """Every object the component declares, in apply order, the Secret's password as `REDACTED`."""
    return manifests.all_manifests(args, REDACTED)


def for_apply(args: ClusterArgs) -> list[dict[str, Any]]:
    """What `render` prints: every object but the root-password Secret, which the header says how to create."""
    return [o for o in render(args) if o["kind"] != "Secret"]


def notes(args: ClusterArgs, stack: str) -> list[str]:
    """What the YAML is for and what it leaves out: the Secret (with its kubectl command) and the membership steps."""
    secret = manifests.secret_name(args)
    volumes = " and ".join(f"{v}-<pod>" for v in manifests.volume_templates(args))
    when = "after the Namespace, before the StatefulSet" if args.create_namespace else "before the StatefulSet"
    mnodes = " and ".join(args.naming.pods(min(3, args.replicas))[1:])
    lines = [
        f"Stack {stack}: the Kubernetes objects `pulumi up` applies, rendered offline by",
        f"`python -m components render --stack {stack}` (nothing decrypted, no cluster contacted).",
        "For review and GitOps diffs, and for following the seed's manual runbook. `pulumi up` runs this stack:",
        "do not also apply this YAML to a cluster that Pulumi manages.",
        "",
        "Not in this YAML:",
        f"1. The Secret {secret}, key TAOS_ROOT_PASSWORD, that the pods read the root password from.",
        f"   Create it {when}: a pod starts only once it exists,",
        "   and sets the password on its first start.",
        "     read -rs TAOS_ROOT_PASSWORD   # 8-255 characters, 3 of: lower, upper, digits, specials",
        f"     kubectl create secret generic {secret} -n {args.namespace} \\",
        '       --from-literal=TAOS_ROOT_PASSWORD="$TAOS_ROOT_PASSWORD"',
        "2. The cluster membership steps, which `pulumi up` runs and this YAML cannot:",
    ]
    if mnodes:
        lines += [
            f"   - once the pods are ready: `create mnode on dnode <id>` for {mnodes}",
            '     (the seed\'s "创建mnode"; `show dnodes` lists the ids);',
        ]
    lines += [
        "   - before lowering replicas: `drop dnode <id>` for each departing pod, highest ordinal first, each",
        '     gone from `show dnodes` before the next (the seed\'s "集群缩容"); only then shrink the StatefulSet;',
        f"   - after a scale-in: delete the removed pods' PVCs {volumes}, or a later scale-out reuses their data.",
    ]
    return lines


def header(args: ClusterArgs, stack: str) -> str:
    """`notes()` as a YAML comment, the first lines of `render`'s output."""
    return "".join(f"# {line}".rstrip() + "\n" for line in notes(args, stack))


def to_yaml(objects: list[dict[str, Any]]) -> str:
    return "".join("---\n" + yaml.safe_dump(o, sort_keys=False, default_flow_style=False) for o in objects)


def write(objects: list[dict[str, Any]], out: Path, notes_text: str = "") -> list[Path]:
    """One file per object, numbered in apply order (e.g. 04-statefulset-tdengine.yaml), and the notes file.

    Raises OSError when `out` cannot be created or written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, obj in enumerate(objects, 1):
        path = out / f"{i:02d}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
        path.write_text(to_yaml([obj]))
        paths.append(path)
    if notes_text:
        path = out / NOTES_FILE
        path.write_text(notes_text)
        paths.append(path)
    return paths
