"""ClusterChange: the dynamic provider of what a change of settings does to the running cluster, and its resource
class (RollingRestart, after the StatefulSet, is `restart_provider.py`; what every provider shares is in
`membership/base.py` and `membership/host_values.py`).

Pulumi glue only. `check` and `diff` are pure (no network I/O: preview runs them in CI without a cluster) and
tolerate unknowns; the work is in `expand.py` and `teardown.py`.

**ClusterChange** (`<name>-change`, first: every other object of the cluster depends on it, DnodeDecommission and
the StatefulSet too): its inputs are the cluster's shape (`shape.py`). Its `check` classifies the change against the
previous `up`'s inputs (`classify.py`) and either refuses it, each refusal a `CheckFailure` with why and the way to
do it, or writes what will happen into the `plan` input, which `pulumi preview --diff` shows. Its `update` expands
volumes and deletes the StatefulSet object with orphan propagation when the StatefulSet step is about to replace
it. Its `delete` (destroy) deletes the pods the StatefulSet's own orphan deletion left running. It sends no SQL and
holds no password.

This module's path and class names are stored in the state (`__provider`): they must not move.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi import dynamic

from components.args import default
from components.membership import base, host, host_values
from components.membership.base import ProviderBase
from components.membership.props import MembershipProps, naming_of
from components.rollout.classify import Plan, classify
from components.rollout.shape import SHAPE_KEYS, ClusterShape
from components.settings import Kind
from components.tdengine.errors import ClusterError, Refused
from components.tdengine.wait import Deadline, stderr_progress

CHANGE_COMPUTED = ("storageClassExpands", "kubeconfigSet", "applied")

host.install()  # in the provider host: a refusal is reported as its one line, not a traceback


def plan_of(olds: Mapping[str, Any], news: Mapping[str, Any]) -> Plan | None:
    """The plan from the previous inputs (or outputs) to the new ones; None for a first `up` or unknown values."""
    if not olds or "templateHash" not in olds or any(host_values.unknown(news.get(k)) for k in SHAPE_KEYS):
        return None
    return classify(ClusterShape.from_inputs(olds), ClusterShape.from_inputs(news))


class ClusterChangeProvider(ProviderBase):
    """Classifies and refuses in `check`; expands volumes and recreates the StatefulSet object in `update`."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        plan = plan_of(olds, news)
        if plan is None:
            return dynamic.CheckResult({**news, "plan": ""}, [])
        failures = [dynamic.CheckFailure("", f"{r.key}: {r.text()}") for r in plan.refusals]
        summary = "" if plan.kinds == (Kind.NONE,) or not plan.kinds else plan.summary()
        if summary and not failures:
            stderr_progress(f"plan: {summary}")
        return dynamic.CheckResult({**news, "plan": summary}, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        changed = host_values.changed(olds, news, SHAPE_KEYS)
        plan = plan_of(olds, news)
        if plan is not None and plan.expand and olds.get("storageClassExpands") is False:
            shape = ClusterShape.from_inputs(news)
            storage_class = next((v.storage_class for v in shape.volumes), "") or "(the cluster's default)"
            raise Refused(
                f"storageSize/logStorageSize grow, but StorageClass {storage_class} did not allow volume expansion "
                "(allowVolumeExpansion) when the last `pulumi up` read it, and Kubernetes refuses to expand a volume "
                "of such a class",
                "set storageSize/logStorageSize back; to expand, give the StorageClass allowVolumeExpansion: true "
                "(with a CSI driver that can expand), then run `pulumi up --refresh`, which reads it again",
                "volume expansion",
            )
        return dynamic.DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        naming = naming_of(props)
        outs = host_values.public(props, storageClassExpands=self._expands(props), applied=1)
        return dynamic.CreateResult(f"{naming.namespace}/{naming.statefulset}", outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        from components.rollout import expand

        plan = plan_of(olds, news)
        if plan is not None and plan.refusals:  # check refused it already; an engine that skipped it must not act
            first = plan.refusals[0]
            raise Refused(f"{first.key}: {first.reason}", first.fix)
        if plan is not None and plan.recreates:
            kube, naming = base.kube_of(news), naming_of(news)
            p = MembershipProps.from_inputs(news)
            deadline = Deadline.after(p.ready_timeout, "readyTimeoutSeconds")
            if plan.expand:
                sizes = {name: new for name, _old, new in plan.expand}
                storage_class = next((v.storage_class for v in ClusterShape.from_inputs(news).volumes), "")
                expand.expand_volumes(kube, naming, list(p.members), sizes, storage_class, deadline, p.poll_interval)
            expand.recreate_statefulset(kube, naming, deadline, p.poll_interval)
        applied = int(olds.get("applied") or 0) + 1
        return dynamic.UpdateResult(host_values.public(news, storageClassExpands=self._expands(news), applied=applied))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Destroy: the StatefulSet is deleted with orphan propagation (`pulumi.com/deletionPropagationPolicy`, so a
        replacement never stops its pods), which leaves its pods running; they go here, once it is gone."""
        kubeconfig = self.kubeconfig_for(props)
        naming = naming_of(props)
        if kubeconfig is None:
            raise ClusterError(
                "destroy: this cluster was deployed with the stack's kubeconfig, which is not available now, so its "
                "pods were not deleted (the ambient kubeconfig may name another cluster). Fix: run destroy with the "
                f"stack's kubeconfig setting in place, or: kubectl -n {naming.namespace} delete pod -l "
                f"app.kubernetes.io/instance={naming.statefulset}"
            )
        kube = base.kube_of(props, kubeconfig)
        from components.rollout import teardown

        ready_timeout = float(props.get("readyTimeoutSeconds") or default("readyTimeoutSeconds"))
        teardown.delete_orphaned_pods(kube, naming, Deadline.after(ready_timeout))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """`pulumi refresh`: whether the StorageClass can expand, read again (the rest is what the last `up` did)."""
        kubeconfig = self.kubeconfig_for(props)
        outs = dict(props)
        if kubeconfig is not None:  # never an ambient kubeconfig for a cluster that named one
            expands = self._expands({**props, "kubeconfig": kubeconfig})
            if expands is not None:
                outs["storageClassExpands"] = expands
        return dynamic.ReadResult(id_, outs)

    def _expands(self, props: Mapping[str, Any]) -> bool | None:
        """Whether the volumes' StorageClass can expand, as read now (kept for the next preview's diff)."""
        shape = ClusterShape.from_inputs(props)
        storage_class = next((v.storage_class for v in shape.volumes), "")
        try:
            return base.kube_of(props).storage_class_expands(storage_class)
        except (ClusterError, OSError):
            return None


class ClusterChange(dynamic.Resource, module="tdengine", name="ClusterChange"):
    """What a change of settings does to the running cluster: shown in preview, refused when unsafe."""

    plan: pulumi.Output[str]
    applied: pulumi.Output[int]
    """How many updates it ran: unknown in a preview that changes the cluster's shape (see cluster.py)."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig"])
        super().__init__(
            ClusterChangeProvider(),
            name,
            {**props, "plan": props.get("plan", ""), "storageClassExpands": None, "applied": None},
            pulumi.ResourceOptions.merge(opts, secret),
        )
