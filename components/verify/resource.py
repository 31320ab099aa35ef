"""The `verify: true` step of `pulumi up`: a `pulumi_command.local.Command` after ClusterMembership.

It runs `python -m components.verify.step check` (create, and update when its environment changes) and
`... drop` (delete: drops the test database). `triggers` are the cluster's membership (which pods have
which dnode and mnode, from ClusterMembership's `topology` output, without statuses, roles or vnode
counts, so it re-runs when the topology changes, not on every leader move), the verify settings and the
image; a change replaces the Command, deleting (dropping the old dataset) before creating. The password
and kubeconfig reach the step only through secret environment entries; stdout/stderr hold neither, are
kept out of the log except stderr (progress and the report), and are secret outputs anyway.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pulumi
from pulumi_command import local

from components.args import ClusterArgs
from components.verify.step import ENV_KUBECONFIG, ENV_PASSWORD, ENV_SETTINGS, step_settings

PROJECT_DIR = Path(__file__).resolve().parents[2]
STEP_MODULE = "components.verify.step"


def topology_key(topology: Any) -> list[str]:
    """The membership shape of a `topology` output: `pod=dnode <id>` and `mnode <id>`, sorted. Ids are
    cast: outputs come back from the engine with every number a float."""
    if not isinstance(topology, dict):
        return []
    dnodes = [f"{d.get('pod') or d.get('endpoint')}=dnode {_id(d)}" for d in topology.get("dnodes") or []]
    mnodes = [f"mnode {_id(m)}" for m in topology.get("mnodes") or []]
    return sorted(dnodes) + sorted(mnodes)


def _id(node: dict[str, Any]) -> str:
    value = node.get("id")
    return str(int(value)) if isinstance(value, int | float) else str(value)


def verify_settings(args: ClusterArgs) -> dict[str, int]:
    return {"tables": args.verify_tables, "rows": args.verify_rows, "replica": args.verify_replica}


def verification_command(
    name: str,
    args: ClusterArgs,
    password: pulumi.Input[str],
    topology: pulumi.Output[Any],
    membership: pulumi.Resource,
    opts: pulumi.ResourceOptions,
) -> local.Command:
    environment: dict[str, pulumi.Input[str]] = {
        ENV_SETTINGS: json.dumps(step_settings(args), sort_keys=True),
        ENV_PASSWORD: pulumi.Output.secret(password),
    }
    if args.kubeconfig:
        environment[ENV_KUBECONFIG] = pulumi.Output.secret(args.kubeconfig)
    own = pulumi.ResourceOptions(
        depends_on=[membership],
        delete_before_replace=True,
        additional_secret_outputs=["stdout", "stderr"],
    )
    return local.Command(
        f"{name}-verify",
        create="check",
        delete="drop",
        interpreter=[sys.executable, "-m", STEP_MODULE],
        dir=str(PROJECT_DIR),
        environment=environment,
        triggers=[topology.apply(topology_key), verify_settings(args), args.image],
        logging=local.Logging.STDERR,
        add_previous_output_in_env=False,
        opts=pulumi.ResourceOptions.merge(opts, own),
    )
