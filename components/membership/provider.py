"""DnodeDecommission and ClusterMembership: the dynamic providers and their resource classes.

Pulumi glue only. `check` and `diff` are pure (preview runs them in CI with no cluster) and tolerate
unknowns; `create`/`update`/`delete` parse their inputs into `props.MembershipProps` and run the runbook:
`auth.py` (the root password), `scale_in.py` (drain, release volumes), `converge.py` (join, mnodes).
This module's path and class names are stored in every stack's state (`__provider` is a dill reference to
`components.membership.provider.<Class>`, and the resources' type tokens name these classes): they must not move.
Providers are stateless and importable by reference, so `__provider` is a constant string that
captures no secret. The root password and kubeconfig arrive as secret inputs (plain text to this host,
which tells the engine it does not accept secrets).

The kubeconfig is never returned in outputs. The root password is, under the same key `rootPassword`:
`update` must know the password the cluster had before a change in stack config to rotate it, and the
engine passes a dynamic provider only the old OUTPUTS (`olds`), never the old inputs. The engine stores
that output encrypted twice over: the same-named input is secret (it re-marks such outputs secret for a
provider that does not accept secrets, pulumi#13260) and the resources list it in
`additional_secret_outputs`. Any other output derived from it would not be secret, so none exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
from pulumi import dynamic

from components.membership import base, host, host_values, retained
from components.membership.base import ProviderBase
from components.membership.plan import preflight_size
from components.membership.props import IDENTITY_INPUTS, SECRET_INPUTS, MembershipProps
from components.tdengine.errors import ClusterError
from components.tdengine.kube_types import WorkloadOps
from components.tdengine.rows import topology
from components.tdengine.wait import Deadline, stderr_progress

if TYPE_CHECKING:
    from components.membership import auth

# The runbook (auth, converge, scale_in) and the session (REST client, requests, taosrest) are imported where
# create, update and delete run them: `pulumi preview` loads this module in the program and in the provider
# host only for check and diff, and pays for neither (docs/benchmarks.md, preview).

SECRET_PROPS = SECRET_INPUTS
NEVER_OUTPUT = host_values.NEVER_OUTPUT
"""Secret inputs never returned (`delete` gets the stack's kubeconfig through `configure` instead); the other,
rootPassword, stays in outputs under its own key: the old password, for rotating it on update."""
COMPUTED = ("drained", "topology", "kubeconfigSet")

host.install()  # in the provider host: a refusal is reported as its one line, not a traceback


def _kube(p: MembershipProps) -> WorkloadOps:
    return base.kube(p.kubeconfig, p.kube_context)


def _check(news: dict[str, Any]) -> dynamic.CheckResult:
    failures = MembershipProps.check_inputs(news, host_values.unknown)
    return dynamic.CheckResult(news, [dynamic.CheckFailure(key, reason) for key, reason in failures])


def _diff(olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
    """A changed rootPassword is an update (which rotates it); state without one (written before the
    password was kept) counts as changed too, so the next run records it."""
    ignored = {"__provider", *NEVER_OUTPUT, *COMPUTED}
    keys = (set(olds) | set(news)) - ignored
    changed = sorted(host_values.changed(olds, news, keys))
    replaces = [k for k in changed if k in IDENTITY_INPUTS]
    return dynamic.DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces))


class _MembershipProvider(ProviderBase):
    """Shared by both providers: pure check/diff, `read` (refresh: the live members), and nothing secret
    captured in `__provider`."""

    _live_topology = False
    """Whether `read` also refreshes the `topology` output (ClusterMembership's)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        return _check(news)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        return _diff(olds, news)

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """`pulumi refresh` (I/O, unlike check and diff; `props` are the old outputs): the members as the cluster
        has them, and the inputs to diff against next (the same, with the kubeconfig the outputs never hold)."""
        from components.membership import refresh

        p = self._with_stack_kubeconfig(MembershipProps.from_inputs(props), props, "refresh")
        members, live_topology = refresh.live(p, _kube(p))
        outs = {**props, "members": members, **({"topology": live_topology} if self._live_topology else {})}
        inputs = {k: v for k, v in outs.items() if k not in (*COMPUTED, "__provider")}
        if p.kubeconfig:
            inputs["kubeconfig"] = p.kubeconfig
        return dynamic.ReadResult(id_, outs, inputs)

    def _with_stack_kubeconfig(self, p: MembershipProps, props: dict[str, Any], action: str) -> MembershipProps:
        """The outputs never hold the kubeconfig: take the stack's again (`ProviderBase.kubeconfig_for`)."""
        kubeconfig = self.kubeconfig_for(props)
        if kubeconfig is None:
            what, fix = _missing_kubeconfig(p, action)
            raise ClusterError(
                f"{action}: this cluster was deployed with the stack's kubeconfig, which is not available now, so "
                f"{what} (the ambient kubeconfig may name another cluster). Fix: {fix}"
            )
        return p if p.kubeconfig else p.with_kubeconfig(kubeconfig)


class DnodeDecommissionProvider(_MembershipProvider):
    """Runs BEFORE the StatefulSet changes: drains departing dnodes on scale-down, prunes stale PVCs of
    ordinals about to be reused on scale-up. Create and delete touch no database."""

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        p = MembershipProps.from_inputs(props)
        preflight_size(len(p.members), p.options, "create")  # before the StatefulSet exists
        outs = host_values.public(props, drained=[])
        return dynamic.CreateResult(f"{p.naming.namespace}/{p.naming.statefulset}", outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        p = MembershipProps.from_inputs(news)
        old_members = [str(m) for m in olds.get("members") or []]
        members = list(p.members)
        grow = len(members) - len(old_members)
        preflight_size(len(members), p.options, "scale-up" if grow > 0 else "scale-down" if grow < 0 else "update")
        from components.membership import auth, heal, scale_in
        from components.tdengine.session import session

        kube = _kube(p)
        drained: list[str] = []
        with session(p.connection(), kube, members) as s:
            auth.ensure_root_password(
                s, _previous_password(olds), Deadline.after(p.drain_timeout, "drainTimeoutSeconds")
            )
            ready = Deadline.after(p.ready_timeout, "readyTimeoutSeconds")
            heal.check(s, members, list(p.templates), ready, p.poll_interval)
            if len(members) < len(old_members) or _beyond(members, old_members):
                drained = scale_in.drain(s, old_members, p)
            if len(members) > len(old_members):
                deadline = Deadline.after(p.ready_timeout, "readyTimeoutSeconds")
                scale_in.release_volumes(
                    s, len(old_members), list(p.templates), deadline, p.poll_interval, before_scale_up=True
                )
        return dynamic.UpdateResult(host_values.public(news, drained=drained))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Destroy runs no drop. With deleteDataOnDestroy the PVCs are deleted; without it (the default) they
        are kept, with the root password the data needs (`retained.py`), and the last line says what is left.
        Either way only on the cluster the resource was created on: never through an ambient kubeconfig, and
        only once the StatefulSet is gone or going (a destroy deletes it first): never under running pods."""
        p = self._with_stack_kubeconfig(MembershipProps.from_inputs(props), props, "destroy")
        kube = _kube(p)
        statefulset = kube.read_statefulset(p.naming.namespace, p.naming.statefulset)
        if statefulset is not None and not statefulset.deleting:
            stderr_progress(
                f"StatefulSet {p.naming.statefulset} still runs, so this is no destroy of the cluster (the resource "
                "left the program, as an upgrade of it may do): every PVC and the root password stay as they are"
            )
            return
        pvcs = kube.list_pvcs(p.naming.namespace, p.naming.statefulset, list(p.templates))
        if not p.delete_data_on_destroy:
            if pvcs and p.root_password:  # no volume left, no data to open again
                retained.keep_password(kube, p.naming, p.root_password)
            stderr_progress(retained.kept_message(p.naming, pvcs, p.namespace_created))
            return
        for pvc in pvcs:
            stderr_progress(f"deleteDataOnDestroy: delete PVC {pvc.name}")
            kube.delete_pvc(p.naming.namespace, pvc.name)
        retained.forget_password(kube, p.naming)


class ClusterMembershipProvider(_MembershipProvider):
    """Runs AFTER the StatefulSet is ready: dnodes for every pod, 3 mnodes, released PVCs reclaimed;
    its output is the live topology."""

    _live_topology = True

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """The first connection: a cluster still on TDengine's default password gets the configured one, and
        data a kept-data destroy left gets it too (its password from the Secret that destroy wrote)."""
        p = MembershipProps.from_inputs(props)
        outs = self._converge(p, props, None, kept=True)
        return dynamic.CreateResult(f"{p.naming.namespace}/{p.naming.statefulset}", outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        p = MembershipProps.from_inputs(news)
        return dynamic.UpdateResult(self._converge(p, news, _previous_password(olds)))

    def _converge(
        self, p: MembershipProps, props: dict[str, Any], previous: str | None, kept: bool = False
    ) -> dict[str, Any]:
        from components.membership import auth, converge, scale_in
        from components.tdengine.session import session

        kube = _kube(p)
        members, templates = list(p.members), list(p.templates)

        def kept_password() -> auth.Candidate | None:
            password = retained.kept_password(kube, p.naming)
            return auth.Candidate(retained.kept_label(p.naming), password) if password else None

        with session(p.connection(), kube, members) as s:
            ready = Deadline.after(p.ready_timeout, "readyTimeoutSeconds")
            auth.ensure_root_password(s, previous, ready, kept=kept_password if kept else None)
            if kept:
                retained.forget_password(kube, p.naming)  # the cluster takes the stack's password now
            deadline = Deadline.after(p.ready_timeout, "readyTimeoutSeconds")  # converging and reclaiming
            state = converge.converge(s, members, templates, deadline, p.poll_interval)
            scale_in.release_volumes(s, len(members), templates, deadline, p.poll_interval)  # after a scale-in
        return host_values.public(props, topology=topology(state, p.naming))


def _missing_kubeconfig(p: MembershipProps, action: str) -> tuple[str, str]:
    """(what was not done, the fix) when the stack's kubeconfig is needed and missing."""
    ns, sts = p.naming.namespace, p.naming.statefulset
    if action != "destroy":
        return "the cluster was not read", f"run {action} with the stack's kubeconfig setting in place"
    what = f"its root password was not kept in Secret {ns}/{retained.kept_secret_name(p.naming)}"
    fix = "run destroy with the stack's kubeconfig setting in place"
    if p.delete_data_on_destroy:
        what = "its PVCs were not deleted"
        fix += f", or delete the PVCs by hand: kubectl -n {ns} delete pvc -l app.kubernetes.io/instance={sts}"
    return what, fix


def _previous_password(olds: dict[str, Any]) -> str | None:
    """The password this resource's last successful run left the cluster with (its own secret output)."""
    previous = olds.get("rootPassword")
    return previous if isinstance(previous, str) and previous else None


def _beyond(members: list[str], old_members: list[str]) -> bool:
    """A member list that is not a prefix of the old one (e.g. a resumed run with equal lengths)."""
    return any(m not in members for m in old_members)


class DnodeDecommission(dynamic.Resource, module="tdengine", name="DnodeDecommission"):
    """Drains the dnodes of departing pods before the StatefulSet shrinks."""

    members: pulumi.Output[list[str]]
    drained: pulumi.Output[list[str]]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_PROPS))
        super().__init__(
            DnodeDecommissionProvider(), name, {**props, "drained": None}, pulumi.ResourceOptions.merge(opts, secret)
        )


class ClusterMembership(dynamic.Resource, module="tdengine", name="ClusterMembership"):
    """Joins every pod's dnode, keeps 3 mnodes, reclaims released PVCs; outputs the live topology."""

    members: pulumi.Output[list[str]]
    topology: pulumi.Output[dict[str, Any]]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_PROPS))
        super().__init__(
            ClusterMembershipProvider(), name, {**props, "topology": None}, pulumi.ResourceOptions.merge(opts, secret)
        )
