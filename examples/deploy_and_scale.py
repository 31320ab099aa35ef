"""Embed the TDengine program in your own Python tooling: deploy a cluster, then scale it out.

    export PULUMI_CONFIG_PASSPHRASE='...'          # encrypts the stack's secrets (root password, kubeconfig)
    export TDENGINE_ROOT_PASSWORD='...'            # optional: unset = a strong one is generated
    venv/bin/python examples/deploy_and_scale.py --stack demo --backend file://$HOME/.pulumi-state --scale-to 5

The stack is an inline program (no Pulumi.<stack>.yaml needed); its settings are written to the stack's
config, the password as a secret. A `file://` backend's folder is created when it does not exist (the CLI
refuses a missing one). The dynamic providers are made importable for the provider host that
the Pulumi CLI starts (see components/automation.py, pulumi#7960), so this runs from any directory.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root, which holds `components`

from components.args import ClusterArgs
from components.automation import (
    AutomationError,
    ClusterStack,
    OperationResult,
    StackFactory,
    StackTarget,
    open_stack,
)
from components.cli.output import format_topology


def settings(namespace: str, replicas: int, cpu_request: str = "500m", memory_request: str = "1Gi") -> ClusterArgs:
    """The cluster, as code: everything not named here keeps its default (see README, Configuration)."""
    return ClusterArgs(
        namespace=namespace,
        replicas=replicas,
        cpu_request=cpu_request,
        memory_request=memory_request,
        storage_class="",  # the cluster's default StorageClass
        storage_size="10Gi",
        taos_settings={"TAOS_NUM_OF_RPC_THREADS": "4"},
        root_password=os.environ.get("TDENGINE_ROOT_PASSWORD") or None,
    )


def deploy_and_scale(
    target: StackTarget,
    namespace: str,
    scale_to: int,
    factory: StackFactory = open_stack,
    say: Callable[[str], None] = print,
    requests: tuple[str, str] = ("500m", "1Gi"),
) -> list[OperationResult]:
    """`up` with 3 dnodes, then `scale` to `scale_to` (a scale-in drains the departing dnodes first).
    `requests`: each pod's CPU and memory request."""
    stack = ClusterStack.open(target, settings(namespace, 3, *requests), factory=factory, on_output=say)
    results = [stack.up()]
    say(results[-1].summary_line())
    results.append(stack.scale(scale_to))
    say(results[-1].summary_line())
    if results[-1].topology:
        say(format_topology(results[-1].topology))
    return results


def prepare_backend(url: str | None, say: Callable[[str], None] = print) -> str | None:
    """A `file://` backend's folder, created when missing, as an absolute `file://` URL (the CLI runs an inline
    program from a temporary directory, so a relative folder would land there). Other URLs are unchanged.

    Raises ValueError for a `file://` URL without a folder, OSError when the folder cannot be created."""
    if not url or not url.startswith("file://"):
        return url
    location, mark, query = url[len("file://") :].partition("?")
    if not location:
        raise ValueError("a file:// backend needs a folder, e.g. file://~/.pulumi-state or file:///srv/pulumi-state")
    folder = Path(unquote(location)).expanduser().absolute()
    if not folder.is_dir():
        folder.mkdir(parents=True)
        say(f"created the state folder {folder}")
    return f"file://{folder}{mark}{query}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deploy a TDengine cluster with the Automation API, then scale it.")
    parser.add_argument("--stack", default="demo", help="stack name (default: demo)")
    parser.add_argument(
        "--backend", help="state backend URL, e.g. file:///srv/state, created if missing (default: your pulumi login)"
    )
    parser.add_argument("--namespace", default="tdengine-demo", help="Kubernetes namespace (default: tdengine-demo)")
    parser.add_argument("--scale-to", type=int, default=5, help="dnodes after the scale step (default: 5)")
    parser.add_argument("--cpu-request", default="500m", help="each pod's CPU request (default: 500m)")
    parser.add_argument("--memory-request", default="1Gi", help="each pod's memory request (default: 1Gi)")
    opts = parser.parse_args(argv)
    passphrase = os.environ.get("PULUMI_CONFIG_PASSPHRASE")
    if passphrase is None:
        print("error: set PULUMI_CONFIG_PASSPHRASE: it encrypts the stack's secrets", file=sys.stderr)
        return 2
    try:
        backend = prepare_backend(opts.backend)
    except ValueError as err:
        print(f"error: --backend {opts.backend}: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: --backend {opts.backend}: cannot create its folder: {err.strerror or err}", file=sys.stderr)
        return 2
    target = StackTarget(opts.stack, backend_url=backend, secrets_provider="passphrase", passphrase=passphrase)
    try:
        deploy_and_scale(target, opts.namespace, opts.scale_to, requests=(opts.cpu_request, opts.memory_request))
    except AutomationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
