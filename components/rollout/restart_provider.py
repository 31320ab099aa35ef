"""RollingRestart (`<name>-rollout`, after the StatefulSet, before ClusterMembership): the dynamic provider and its
resource class. Pulumi glue only: `check` and `diff` are pure; the work is `roll.py`.

It waits for the pods (the StatefulSet has `pulumi.com/skipAwait`) and restarts those not on its update revision one
at a time behind the health gates (`gates.py`). It runs whenever the StatefulSet's generation, the pod template, the
image or the members change. What every provider shares is in `membership/base.py` and `membership/host_values.py`.

This module's path and class names are stored in the state (`__provider`): they must not move.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi import dynamic

from components.membership import base, host, host_values
from components.membership.base import ProviderBase
from components.membership.props import SECRET_INPUTS, MembershipProps
from components.rollout import versions
from components.rollout.classify import image_change, why_the_template_changed
from components.tdengine.errors import Refused
from components.tdengine.wait import Deadline

ROLL_KEYS = ("templateHash", "generation", "image", "allowFullRestart", "members", "rootPassword")
"""The inputs whose change makes RollingRestart run (the StatefulSet's spec, the pods, the password it logs in with)."""

host.install()  # in the provider host: a refusal is reported as its one line, not a traceback


def restart_mode(old_image: str, new_image: str, allow_full: bool) -> bool:
    """True for a full restart (every pod at once), False for a rolling one; refuses what may not be done."""
    if not old_image or old_image == new_image:
        return False
    verdict = versions.judge(old_image, new_image)
    if verdict.rolls:
        return False
    if allow_full and verdict.full_restart:
        return True
    raise Refused(f"image {old_image} -> {new_image}: {verdict.rule}", verdict.fix, "restart", "No pod was restarted")


class RollingRestartProvider(ProviderBase):
    """Waits for the StatefulSet's pods and restarts, one at a time behind the health gates, those it left behind."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        failures = MembershipProps.check_inputs(news, host_values.unknown)
        return dynamic.CheckResult(news, [dynamic.CheckFailure(k, reason) for k, reason in failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        changes = bool(host_values.changed(olds, news, ROLL_KEYS))
        return dynamic.DiffResult(changes=changes, replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """A new cluster: wait for its pods (no SQL: ClusterMembership sets the password next). A cluster this
        resource is new to (this program upgraded): the pods its new template left behind are rolled too."""
        from components.rollout import roll

        p = MembershipProps.from_inputs(props)
        kube = base.kube(p.kubeconfig, p.kube_context)
        if roll.needs_restart(kube, p):
            self._roll(p, props, None, "the pod template changed with this program's upgrade")
        else:
            roll.wait_for_pods(kube, p)
        naming = p.naming
        return dynamic.CreateResult(f"{naming.namespace}/{naming.statefulset}", host_values.public(props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        p = MembershipProps.from_inputs(news)
        old_image, new_image = str(olds.get("image") or ""), str(news.get("image") or "")
        full = restart_mode(old_image, new_image, bool(news.get("allowFullRestart")))
        changed = old_image and old_image != new_image
        why = (
            f"image {image_change(old_image, new_image)}"
            if changed
            else why_the_template_changed(olds.get("templateSettings") or {}, news.get("templateSettings") or {})
        )
        self._roll(p, news, olds.get("rootPassword") or None, why, full)
        return dynamic.UpdateResult(host_values.public(news))

    def _roll(self, p: MembershipProps, props: dict[str, Any], previous: Any, why: str, full: bool = False) -> None:
        from components.membership import auth
        from components.rollout import roll
        from components.tdengine.session import session

        kube = base.kube(p.kubeconfig, p.kube_context)
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
