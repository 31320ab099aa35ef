"""The Pulumi engine's part for every dynamic resource of a day-2 change, against the simulator, in-process.

`up(n, **settings)` does what `pulumi up` does when the stack's settings become `replicas: n` and `settings`
(ClusterArgs fields: image, storage_size, cpu_request, ...): each resource's Check (a failure stops the run before
anything, as the engine stops at a failed Check), then Diff, and Update only on a change, with a failed Update
keeping the old state, in the program's order: ClusterChange, DnodeDecommission, the StatefulSet (OnDelete:
its template changes, nothing restarts; `pulumi.com/skipAwait`: not awaited; replaced, i.e. recreated and
adopting its pods, when the plan says so), RollingRestart, ClusterMembership. Providers are called as the dynamic
host calls them (olds = old outputs, numbers as floats); Kubernetes is the simulator's FakeKube.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.args import ClusterArgs
from components.membership import base
from components.membership import provider as membership
from components.resource_inputs import change_inputs, rollout_inputs, template_hash
from components.rollout.provider import ClusterChangeProvider
from components.rollout.restart_provider import RollingRestartProvider
from tests.engine import FAST, _as_grpc, props
from tests.sim import SimCluster

BASE = {"namespace": FAST.naming.namespace, "cluster_name": FAST.naming.statefulset}


class CheckRefused(Exception):
    """`pulumi up` (or preview) stopped by a Check failure: the reasons, as the engine prints them."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__("; ".join(failures))


def grpc(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _as_grpc(v) for k, v in values.items()}


@dataclass
class DayTwoEngine:
    sim: SimCluster
    settings: dict[str, Any] = field(default_factory=dict)
    states: dict[str, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    """resource -> (inputs, outputs) in the state."""
    log: list[str] = field(default_factory=list)
    replicas: int = 0

    def __post_init__(self) -> None:
        base.KUBE_FACTORY = lambda _config, _context: self.sim.kube
        self.providers = {
            "change": ClusterChangeProvider(),
            "decommission": membership.DnodeDecommissionProvider(),
            "rollout": RollingRestartProvider(),
            "membership": membership.ClusterMembershipProvider(),
        }

    def args(self, n: int, **settings: Any) -> ClusterArgs:
        values = {**BASE, "allow_fewer_than_three": n < 3, **self.settings, **settings, "replicas": n}
        return ClusterArgs(**values)

    def inputs(self, n: int, overrides: dict[str, Any], **settings: Any) -> dict[str, dict[str, Any]]:
        a = self.args(n, **settings)
        member = props(self.sim, n, **overrides)
        change = {**change_inputs(a), "readyTimeoutSeconds": member["readyTimeoutSeconds"]}
        change["pollIntervalSeconds"] = member["pollIntervalSeconds"]
        return {
            "change": grpc(change),
            "decommission": member,
            "rollout": grpc(rollout_inputs(a, member, self.sim.kube.generation)),
            "membership": member,
            "_template": {"hash": template_hash(a)},
        }

    def preview(self, n: int, **settings: Any) -> str:
        """`pulumi preview`: ClusterChange's Check (refusals raise CheckRefused) and Diff; returns its plan."""
        news = self._check("change", self.inputs(n, {}, **settings)["change"])
        old = self.states.get("change")
        if old is not None:
            self.providers["change"].diff("id", old[1], news)
        return str(news["plan"])

    def up(self, n: int, overrides: dict[str, Any] | None = None, **settings: Any) -> dict[str, Any]:
        inputs = self.inputs(n, dict(overrides or {}), **settings)
        self._apply("change", self._check("change", inputs["change"]))
        self._apply("decommission", inputs["decommission"])
        self._statefulset(n, inputs["_template"]["hash"])
        inputs["rollout"]["generation"] = float(self.sim.kube.generation)
        self._apply("rollout", self._check("rollout", inputs["rollout"]))
        outs = self._apply("membership", inputs["membership"])
        self.settings.update(settings)
        return outs

    # -- the engine's steps ------------------------------------------------------------------------------
    def _check(self, name: str, news: dict[str, Any]) -> dict[str, Any]:
        old = self.states.get(name)
        result = self.providers[name].check(old[0] if old else {}, news)
        if result.failures:
            raise CheckRefused([f.reason for f in result.failures])
        return dict(result.inputs)

    def _apply(self, name: str, news: dict[str, Any]) -> dict[str, Any]:
        provider = self.providers[name]
        old = self.states.get(name)
        if old is None:
            outs = dict(provider.create(news).outs or {})
            self.log.append(f"create {name}")
        elif provider.diff("id", old[1], news).changes:
            self.log.append(f"update {name}")
            outs = dict(provider.update("id", old[1], news).outs or {})
        else:
            self.states[name] = (news, old[1])
            return old[1]
        self.states[name] = (news, outs)
        return outs

    def _statefulset(self, n: int, template: str) -> None:
        kube = self.sim.kube
        if self.replicas == 0 and kube.replicas:  # the first `up` of a running cluster: its pods have this template
            kube.adopt_template(template)
        if not kube.sts_exists:  # ClusterChange deleted it (orphan): the StatefulSet step replaces it
            self.log.append("replace statefulset")
            sizes = {v["name"]: v["size"] for v in self.states["change"][0]["volumes"]}
            kube.apply_statefulset(template, n, sizes)
        else:
            kube.apply_template(template)
            kube.scale(n)
        self.replicas = n

    def outputs(self, name: str) -> dict[str, Any]:
        return self.states[name][1]

    def topology(self) -> dict[str, Any]:
        return dict(self.outputs("membership")["topology"])
