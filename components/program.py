"""The Pulumi program: stack config -> ClusterArgs -> TDengineCluster -> stack outputs.

Shared by `__main__.py` (the CLI runs it) and by embedders, so both declare the same resources.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.args import ClusterArgs
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


def main() -> TDengineCluster:
    return deploy(ClusterArgs.from_config(pulumi.Config().get))
