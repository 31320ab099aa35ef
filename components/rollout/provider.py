"""ClusterChange and RollingRestart: the dynamic providers of a day-2 change, and their resource classes.

Pulumi glue only. `check` and `diff` are pure (no network I/O: preview runs them in CI without a cluster) and
tolerate unknowns; the work is in `expand.py` and `roll.py`.

- **ClusterChange** (`<name>-change`, before DnodeDecommission and the StatefulSet): its inputs are the cluster's
  shape (`shape.py`). Its `check` classifies the change against the previous `up`'s inputs (`classify.py`) and
  either refuses it, each refusal a `CheckFailure` with why and the way to do it, or writes what will happen into
  the `plan` input, which `pulumi preview --diff` shows. Its `update` expands volumes and deletes the StatefulSet
  object with orphan propagation when the StatefulSet step is about to replace it. Its `delete` (destroy) deletes
  the pods the StatefulSet's own orphan deletion left running. It sends no SQL and holds no password.
- **RollingRestart** (`<name>-rollout`, after the StatefulSet, before ClusterMembership): waits for the pods (the
  StatefulSet has `pulumi.com/skipAwait`) and restarts those not on its update revision one at a time behind the
  health gates (`gates.py`). It runs whenever the StatefulSet's generation, the pod template or the members change.

This module's path and class names are stored in the state (`__provider`): they must not move.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi import dynamic
from pulumi.output import Unknown

from components.membership.props import SECRET_INPUTS, MembershipProps
from components.rollout import versions
from components.rollout.classify import Kind, Plan, classify, image_change
from components.rollout.errors import ChangeRefused
from components.rollout.shape import SHAPE_KEYS, ClusterShape
from components.tdengine.errors import ClusterError
from components.tdengine.kube_types import WorkloadOps
from components.tdengine.naming import Naming
from components.tdengine.wait import Deadline, stderr_progress

CHANGE_COMPUTED = ("storageClassExpands", "kubeconfigSet", "applied")
ROLL_KEYS = ("templateHash", "generation", "image", "allowFullRestart", "members", "rootPassword")
"""The inputs whose change makes RollingRestart run (the StatefulSet's spec, the pods, the password it logs in with)."""


def workload_for(kubeconfig: str, context: str) -> WorkloadOps:
    from components.tdengine.session import default_workload

    return default_workload(kubeconfig, context)


KUBE_FACTORY: Callable[[str, str], WorkloadOps] = workload_for
"""The seam where tests put a fake Kubernetes; production uses the official client."""


def _unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_unknown(v) for v in value)
    return False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return float(a) == float(b)
    return bool(a == b)


def _naming(inputs: Mapping[str, Any]) -> Naming:
    s = ClusterShape.from_inputs(inputs)
    return Naming(s.statefulset, s.service, s.namespace, s.cluster_domain or "cluster.local", s.server_port or 6030)


def _public(props: Mapping[str, Any], **computed: Any) -> dict[str, Any]:
    """Outputs: the inputs without the kubeconfig, and whether one was given (for `delete`)."""
    public = {k: v for k, v in props.items() if k != "kubeconfig"}
    return {**public, "kubeconfigSet": bool(props.get("kubeconfig")), **computed}


# -- ClusterChange -----------------------------------------------------------------------------------------------
def plan_of(olds: Mapping[str, Any], news: Mapping[str, Any]) -> Plan | None:
    """The plan from the previous inputs (or outputs) to the new ones; None for a first `up` or unknown values."""
    if not olds or "templateHash" not in olds or any(_unknown(news.get(k)) for k in SHAPE_KEYS):
        return None
    return classify(ClusterShape.from_inputs(olds), ClusterShape.from_inputs(news))


class ClusterChangeProvider(dynamic.ResourceProvider):
    """Classifies and refuses in `check`; expands volumes and recreates the StatefulSet object in `update`."""

    serialize_as_secret_always = False

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
        changed = [k for k in SHAPE_KEYS if _unknown(news.get(k)) or not _same(olds.get(k), news.get(k))]
        plan = plan_of(olds, news)
        if plan is not None and plan.expand and olds.get("storageClassExpands") is False:
            shape = ClusterShape.from_inputs(news)
            storage_class = next((v.storage_class for v in shape.volumes), "") or "(the cluster's default)"
            raise ChangeRefused(
                f"storageSize/logStorageSize grow, but StorageClass {storage_class} did not allow volume expansion "
                "(allowVolumeExpansion) when the last `pulumi up` read it, and Kubernetes refuses to expand a volume "
                "of such a class",
                "set storageSize/logStorageSize back; to expand, give the StorageClass allowVolumeExpansion: true "
                "(with a CSI driver that can expand), then run `pulumi up --refresh`, which reads it again",
                "volume expansion",
            )
        return dynamic.DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        naming = _naming(props)
        outs = _public(props, storageClassExpands=self._expands(props), applied=1)
        return dynamic.CreateResult(f"{naming.namespace}/{naming.statefulset}", outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        from components.rollout import expand

        plan = plan_of(olds, news)
        if plan is not None and plan.refusals:  # check refused it already; an engine that skipped it must not act
            first = plan.refusals[0]
            raise ChangeRefused(f"{first.key}: {first.reason}", first.fix)
        if plan is not None and plan.recreates:
            kube = self._kube(news)
            naming = _naming(news)
            shape = ClusterShape.from_inputs(news)
            p = MembershipProps.from_inputs(news)
            deadline = Deadline.after(p.ready_timeout, "readyTimeoutSeconds")
            if plan.expand:
                sizes = {name: new for name, _old, new in plan.expand}
                storage_class = next((v.storage_class for v in shape.volumes), "")
                expand.expand_volumes(kube, naming, list(p.members), sizes, storage_class, deadline, p.poll_interval)
            expand.recreate_statefulset(kube, naming, deadline, p.poll_interval)
        applied = int(olds.get("applied") or 0) + 1
        return dynamic.UpdateResult(_public(news, storageClassExpands=self._expands(news), applied=applied))

    def configure(self, req: dynamic.ConfigureRequest) -> None:
        """Keep the stack's kubeconfig: `delete` gets only outputs, which never carry it."""
        self._stack_kubeconfig = req.config.get("kubeconfig") or ""

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Destroy: the StatefulSet is deleted with orphan propagation (`pulumi.com/deletionPropagationPolicy`, so a
        replacement never stops its pods), which leaves its pods running; they go here, once it is gone."""
        kubeconfig = str(props.get("kubeconfig") or "") or getattr(self, "_stack_kubeconfig", "")
        naming = _naming(props)
        if props.get("kubeconfigSet") and not kubeconfig:
            raise ClusterError(
                "destroy: this cluster was deployed with the stack's kubeconfig, which is not available now, so its "
                "pods were not deleted (the ambient kubeconfig may name another cluster). Fix: run destroy with the "
                f"stack's kubeconfig setting in place, or: kubectl -n {naming.namespace} delete pod -l "
                f"app.kubernetes.io/instance={naming.statefulset}"
            )
        kube = KUBE_FACTORY(kubeconfig, str(props.get("kubeContext") or ""))
        from components.rollout import teardown

        teardown.delete_orphaned_pods(kube, naming, Deadline.after(float(props.get("readyTimeoutSeconds") or 900)))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """`pulumi refresh`: whether the StorageClass can expand, read again (the rest is what the last `up` did)."""
        kubeconfig = str(props.get("kubeconfig") or "") or getattr(self, "_stack_kubeconfig", "")
        outs = dict(props)
        if kubeconfig or not props.get("kubeconfigSet"):  # never an ambient kubeconfig for a cluster that named one
            expands = self._expands({**props, "kubeconfig": kubeconfig})
            if expands is not None:
                outs["storageClassExpands"] = expands
        return dynamic.ReadResult(id_, outs)

    def _kube(self, props: Mapping[str, Any]) -> WorkloadOps:
        return KUBE_FACTORY(str(props.get("kubeconfig") or ""), str(props.get("kubeContext") or ""))

    def _expands(self, props: Mapping[str, Any]) -> bool | None:
        """Whether the volumes' StorageClass can expand, as read now (kept for the next preview's diff)."""
        shape = ClusterShape.from_inputs(props)
        storage_class = next((v.storage_class for v in shape.volumes), "")
        try:
            return self._kube(props).storage_class_expands(storage_class)
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


# -- RollingRestart ----------------------------------------------------------------------------------------------
def restart_mode(old_image: str, new_image: str, allow_full: bool) -> bool:
    """True for a full restart (every pod at once), False for a rolling one; refuses what may not be done."""
    if not old_image or old_image == new_image:
        return False
    verdict = versions.judge(old_image, new_image)
    if verdict.rolls:
        return False
    if allow_full and verdict.full_restart:
        return True
    raise ChangeRefused(
        f"image {old_image} -> {new_image}: {verdict.rule}", verdict.fix, "restart", "No pod was restarted"
    )


class RollingRestartProvider(dynamic.ResourceProvider):
    """Waits for the StatefulSet's pods and restarts, one at a time behind the health gates, those it left behind."""

    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        failures = MembershipProps.check_inputs(news, _unknown)
        return dynamic.CheckResult(news, [dynamic.CheckFailure(k, reason) for k, reason in failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        changed = [k for k in ROLL_KEYS if _unknown(news.get(k)) or not _same(olds.get(k), news.get(k))]
        return dynamic.DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """A new cluster: wait for its pods (no SQL: ClusterMembership sets the password next). A cluster this
        resource is new to (this program upgraded): the pods its new template left behind are rolled too."""
        from components.rollout import roll

        p = MembershipProps.from_inputs(props)
        kube = KUBE_FACTORY(p.kubeconfig, p.kube_context)
        if roll.needs_restart(kube, p):
            self._roll(p, props, None, "the pod template changed")
        else:
            roll.wait_for_pods(kube, p)
        naming = p.naming
        return dynamic.CreateResult(f"{naming.namespace}/{naming.statefulset}", _public(props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        p = MembershipProps.from_inputs(news)
        old_image, new_image = str(olds.get("image") or ""), str(news.get("image") or "")
        full = restart_mode(old_image, new_image, bool(news.get("allowFullRestart")))
        changed = old_image and old_image != new_image
        why = f"image {image_change(old_image, new_image)}" if changed else "the pod template changed"
        self._roll(p, news, olds.get("rootPassword") or None, why, full)
        return dynamic.UpdateResult(_public(news))

    def _roll(self, p: MembershipProps, props: dict[str, Any], previous: Any, why: str, full: bool = False) -> None:
        from components.membership import auth
        from components.rollout import roll
        from components.tdengine.session import session

        kube = KUBE_FACTORY(p.kubeconfig, p.kube_context)
        roll.wait_for_a_ready_pod(kube, p)
        with session(p.connection(), kube, list(p.members)) as s:
            deadline = Deadline.after(p.ready_timeout, "readyTimeoutSeconds")
            auth.ensure_root_password(s, previous if isinstance(previous, str) else None, deadline)
            roll.roll(s, kube, p, why, full)


class RollingRestart(dynamic.Resource, module="tdengine", name="RollingRestart"):
    """Restarts the StatefulSet's pods one at a time behind TDengine's health gates (its strategy is OnDelete)."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_INPUTS))
        super().__init__(RollingRestartProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))
