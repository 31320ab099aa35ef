"""The `pulumi up` verification step: `python -m components.verify.step check|drop`.

Run by the `local.Command` that `resource.py` declares (`verify: true`). Everything comes from the
environment the Command passes: the cluster's settings as JSON (no secrets), the root password and the
kubeconfig (both secret inputs of the Command, so encrypted in the state). `check` runs `command.verify`,
prints the report on stderr (the Command logs stderr) and a JSON summary on stdout (its `stdout` output),
and exits non-zero when a check failed, which fails `pulumi up`. `drop` drops the test database (the
Command's delete). Nothing printed ever holds the password or the kubeconfig.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from components import live
from components.args import SETTINGS, ClusterArgs
from components.tdengine.redact import scrub
from components.verify import command
from components.verify.report import format_report, summary

ENV_SETTINGS = "TDENGINE_VERIFY_SETTINGS"
ENV_PASSWORD = "TDENGINE_ROOT_PASSWORD"
ENV_KUBECONFIG = "TDENGINE_KUBECONFIG"
STEP_KEYS = (
    "namespace", "clusterName", "serviceName", "clusterDomain", "serverPort", "restPort", "replicas",
    "adminUrl", "kubeContext", "verifyTables", "verifyRows", "verifyReplica",
)  # fmt: skip
"""What the step needs to find and check the cluster; a change to any of them re-runs it."""


def step_settings(args: ClusterArgs) -> dict[str, Any]:
    """The settings the step reads back, by stack config key (plain values, never secrets)."""
    fields = {s.key: s.field for s in SETTINGS}
    return {key: getattr(args, fields[key]) for key in STEP_KEYS}


def main(
    argv: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    kube_factory: command.KubeFactory = live.kube_for,
) -> int:
    argv = sys.argv[1:] if argv is None else argv
    env = os.environ if env is None else env
    out, err = out or sys.stdout, err or sys.stderr
    password = env.get(ENV_PASSWORD, "")
    kubeconfig = env.get(ENV_KUBECONFIG) or None
    secrets = [password, kubeconfig or ""]

    def progress(line: str) -> None:
        print(f"[tdengine] verify: {scrub(line, secrets)}", file=err, flush=True)

    try:
        if argv not in (["check"], ["drop"]):
            print("usage: python -m components.verify.step check|drop", file=err)
            return command.REFUSED
        args = ClusterArgs.from_mapping(json.loads(env.get(ENV_SETTINGS) or "{}"))
        if argv == ["drop"]:
            return command.drop(args, password, kubeconfig=kubeconfig, kube_factory=kube_factory, progress=progress)
        options = command.VerifyOptions.from_args(args, keep=True)
        code, report = command.verify(
            args, password, kubeconfig=kubeconfig, options=options, kube_factory=kube_factory, progress=progress
        )
        err.write(scrub(format_report(report), secrets))
        out.write(scrub(json.dumps(summary(code, report), sort_keys=True), secrets) + "\n")
        return code
    except Exception as e:  # the last line of defence: never a traceback that could quote a secret
        print(scrub(f"verify step failed: {type(e).__name__}: {e}", secrets), file=err)
        return command.FAILED


if __name__ == "__main__":
    sys.exit(main())
