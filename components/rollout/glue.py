"""What the day-2 providers share: the Kubernetes seam and the naming from the inputs (values and outputs:
`membership/host_values.py`, shared with the membership providers)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from components.args import default
from components.rollout.shape import ClusterShape
from components.tdengine.kube_types import WorkloadOps
from components.tdengine.naming import Naming


def workload_for(kubeconfig: str, context: str) -> WorkloadOps:
    from components.tdengine.session import default_workload

    return default_workload(kubeconfig, context)


KUBE_FACTORY: Callable[[str, str], WorkloadOps] = workload_for
"""The seam where tests put a fake Kubernetes; production uses the official client."""


def kube(props: Mapping[str, Any], stack_kubeconfig: str = "") -> WorkloadOps:
    return KUBE_FACTORY(str(props.get("kubeconfig") or "") or stack_kubeconfig, str(props.get("kubeContext") or ""))


def naming_of(inputs: Mapping[str, Any]) -> Naming:
    s = ClusterShape.from_inputs(inputs)
    domain, port = s.cluster_domain or default("clusterDomain"), s.server_port or default("serverPort")
    return Naming(s.statefulset, s.service, s.namespace, domain, port)
