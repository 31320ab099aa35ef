"""Plays the Pulumi engine's part for the membership resources against the simulator, in-process.

`up(n)` does what `pulumi up` does when `replicas` becomes n: DnodeDecommission update, then (only if
it succeeded) the StatefulSet change, awaited like pulumi-kubernetes awaits it, then ClusterMembership
create/update; `refresh()` does what `pulumi refresh` does: both resources' Read. Provider methods are called
exactly as the dynamic host calls them (olds = old outputs, numbers as floats); the Kubernetes side is the
simulator's FakeKube through the providers' one KUBE_FACTORY seam (`membership/base.py`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from components.membership import base, provider
from components.membership.props import MembershipProps, input_keys
from components.tdengine.naming import Naming
from tests.sim import SimCluster

FAST = MembershipProps(
    members=(),
    naming=Naming("tdengine", "taosd", "tdengine-test", "cluster.local", 6030),
    poll_interval=0.02,
    statement_timeout=1.0,
    ready_timeout=10.0,
    drain_timeout=10.0,
    stall_timeout=5.0,
    namespace_created=True,
)
"""The tests' timings: short waits, fast polls, on the simulator's default names."""


def props(sim: SimCluster, n: int, **overrides: Any) -> dict[str, Any]:
    """Inputs as the component builds them (`MembershipProps.to_inputs`), numbers as floats, as they arrive
    over gRPC; `overrides` replace inputs by key."""
    unknown = set(overrides) - input_keys()
    assert not unknown, f"not inputs of the membership resources: {sorted(unknown)}"
    members = tuple(FAST.naming.pods(n))
    inputs = dataclasses.replace(FAST, members=members, admin_url=sim.url, root_password=sim.password).to_inputs()
    return {k: _as_grpc(v) for k, v in {**inputs, **overrides}.items()}


def _as_grpc(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


@dataclass
class Engine:
    sim: SimCluster
    decommission_outs: dict[str, Any] | None = None
    membership_outs: dict[str, Any] | None = None
    replicas: int = 0
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        base.KUBE_FACTORY = lambda _config, _context: self.sim.kube
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

    def refresh(self) -> None:
        """`pulumi refresh`: each resource's Read with its old outputs; the outputs it returns replace them (the
        inputs it returns are what a later Diff's engine-side display uses; the providers diff outputs)."""
        if self.decommission_outs is not None:
            self.decommission_outs = self.decommission.read("id", self.decommission_outs).outs
        if self.membership_outs is not None:
            self.membership_outs = self.membership.read("id", self.membership_outs).outs

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
