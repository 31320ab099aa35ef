"""What the day-2 providers share: Kubernetes from the inputs (through the one seam, `membership/base.py`) and the
naming from the inputs (values and outputs: `membership/host_values.py`, shared with the membership providers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.args import default
from components.membership import base
from components.rollout.shape import ClusterShape
from components.tdengine.kube_types import WorkloadOps
from components.tdengine.naming import Naming


def kube(props: Mapping[str, Any], stack_kubeconfig: str = "") -> WorkloadOps:
    return base.kube(str(props.get("kubeconfig") or "") or stack_kubeconfig, str(props.get("kubeContext") or ""))


def naming_of(inputs: Mapping[str, Any]) -> Naming:
    s = ClusterShape.from_inputs(inputs)
    domain, port = s.cluster_domain or default("clusterDomain"), s.server_port or default("serverPort")
    return Naming(s.statefulset, s.service, s.namespace, domain, port)
