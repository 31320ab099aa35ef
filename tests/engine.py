"""Plays the Pulumi engine's part for the membership resources against the simulator, in-process.

`up(n)` does what `pulumi up` does when `replicas` becomes n: DnodeDecommission update, then (only if
it succeeded) the StatefulSet change, awaited like pulumi-kubernetes awaits it, then ClusterMembership
create/update. Provider methods are called exactly as the dynamic host calls them (olds = old outputs,
numbers as floats); the Kubernetes side is the simulator's FakeKube through the provider's KUBE_FACTORY
seam.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from components.membership import provider
from tests.sim import SimCluster

FAST = {
    "pollIntervalSeconds": 0.02,
    "statementTimeoutSeconds": 1.0,
    "readyTimeoutSeconds": 10.0,
    "drainTimeoutSeconds": 10.0,
    "stallTimeoutSeconds": 5.0,
}


def props(sim: SimCluster, n: int, **overrides: Any) -> dict[str, Any]:
    """Inputs as the component builds them (numbers as floats, as they arrive over gRPC)."""
    base: dict[str, Any] = {
        "members": [f"tdengine-{i}" for i in range(n)],
        "namespace": "tdengine-test",
        "statefulset": "tdengine",
        "service": "taosd",
        "clusterDomain": "cluster.local",
        "serverPort": 6030.0,
        "restPort": 6041.0,
        "templates": ["taosdata"],
        "adminUrl": sim.url,
        "rootPassword": sim.password,
        "forceDropOffline": False,
        "allowFewerThanThreeDnodes": False,
        "deleteDataOnDestroy": False,
        "createNamespace": True,
        **FAST,
    }
    return {**base, **overrides}


@dataclass
class Engine:
    sim: SimCluster
    decommission_outs: dict[str, Any] | None = None
    membership_outs: dict[str, Any] | None = None
    replicas: int = 0
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        provider.KUBE_FACTORY = lambda _props: self.sim.kube
        self.decommission = provider.DnodeDecommissionProvider()
        self.membership = provider.ClusterMembershipProvider()

    def adopt(self, n: int, **overrides: Any) -> None:
        """State after a first `pulumi up` of an already running n-pod cluster (no SQL sent)."""
        self.decommission_outs = self.decommission.create(props(self.sim, n, **overrides)).outs
        self.replicas = n

    def up(self, n: int, **overrides: Any) -> dict[str, Any]:
        news = props(self.sim, n, **overrides)
        if self.decommission_outs is None:
            self.decommission_outs = self.decommission.create(news).outs
        else:
            self.decommission_outs = self.decommission.update("id", self.decommission_outs, news).outs
        self.log.append(f"decommission -> {n}")
        self.scale_statefulset(n)
        if self.membership_outs is None:
            self.membership_outs = self.membership.create(news).outs
        else:
            self.membership_outs = self.membership.update("id", self.membership_outs, news).outs
        return self.membership_outs

    def scale_statefulset(self, n: int, timeout: float = 5.0) -> None:
        """The StatefulSet update, awaited until its n pods are Ready and the others are gone."""
        self.sim.kube.scale(n)
        self.replicas = n
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pods = self.sim.kube.pods()
            if sorted(p.ordinal for p in pods) == list(range(n)) and all(p.ready for p in pods):
                return
            time.sleep(0.01)
        raise TimeoutError(f"StatefulSet did not become ready with {n} pods: {self.sim.kube.pods()}")

    def topology(self) -> dict[str, Any]:
        assert self.membership_outs is not None
        return self.membership_outs["topology"]
