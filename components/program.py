"""The Pulumi program: stack config -> ClusterArgs -> TDengineCluster -> stack outputs.

Shared by `__main__.py` (the CLI runs it) and by embedders, so both declare the same resources.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime import config as runtime_config

from components.args import ClusterArgs, ConfigError
from components.cluster import TDengineCluster


def kubernetes_options(args: ClusterArgs) -> pulumi.ResourceOptions | None:
    """An explicit Kubernetes provider when the stack names a kubeconfig or context, else the ambient one."""
    if not (args.kubeconfig or args.kube_context):
        return None
    provider = k8s.Provider(
        "kubernetes",
        kubeconfig=pulumi.Output.secret(args.kubeconfig) if args.kubeconfig else None,
        context=args.kube_context or None,
    )
    return pulumi.ResourceOptions(providers={"kubernetes": provider})


def deploy(args: ClusterArgs) -> TDengineCluster:
    """Declare the cluster and export its outputs."""
    cluster = TDengineCluster(args.cluster_name, args, kubernetes_options(args))
    pulumi.export("namespace", cluster.namespace)
    pulumi.export("serviceName", cluster.service_name)
    pulumi.export("firstEndpoint", cluster.first_endpoint)
    pulumi.export("restUrl", cluster.rest_url)
    pulumi.export("podFqdns", cluster.pod_fqdns)
    pulumi.export("rootPassword", cluster.root_password)
    pulumi.export("topology", cluster.topology)
    return cluster


def stack_keys(project: str | None = None) -> list[str]:
    """Every key the stack's config sets in this project's namespace (`tdengine:<key>`), read and unread alike."""
    prefix = f"{project or pulumi.get_project()}:"
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return sorted(k[len(prefix) :] for k in everything if k.startswith(prefix))


REPORTED_EXIT = 32
"""The exit code by which the Python runner (pulumi-language-python-exec) tells the CLI that the program has
reported its error itself: the CLI adds nothing (after a `RunError`, exit code 1, it adds "Program exited with
non-zero exit code: 1")."""


def main(inline: bool = False) -> TDengineCluster:
    """The settings, then the cluster. Invalid settings (an unknown key included) end the program with their
    message alone, never a traceback (left to bugs): logged as the run's one error, then exit code 32 under the
    CLI; a `RunError` in an Automation API inline program, whose host runs in the embedder's process and prints
    a RunError's message alone."""
    try:
        args = ClusterArgs.from_config(pulumi.Config().get, stack_keys())
    except ConfigError as err:
        if inline:
            raise pulumi.RunError(str(err)) from None
        pulumi.log.error(str(err))
        raise SystemExit(REPORTED_EXIT) from None
    return deploy(args)
