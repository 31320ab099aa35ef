"""The health gates of a restart and which pod goes next. Pure: tests call these with plain data.

Before a pod restarts, and again before the roll moves on after it, the whole cluster must be healthy
(`problems` is empty): every member pod Ready on the StatefulSet's current spec, every dnode `ready` and heard from
by its current taosd (a new, non-zero `reboot_time`), min(3, dnodes) mnodes settled with one leader, no transaction
running, every vgroup with exactly one leader on a ready dnode and every member leader/follower with its applied
index known and caught up, no vnode restoring, `show cluster alive` 1. These are the signals a real 3.3.7.5 showed
a restart settle by (tdengine-admin.md §15; docs/internals.md "The gates" says why each). So "after it" is "the
pod's dnode back and its vgroups caught up", and nothing else goes down while anything is unwell.

Which pod: highest ordinal first, the one hosting the mnode leader last. TDengine has no statement that moves the
mnode leadership in 3.3 (tdengine-admin.md §4, and none in TDengine's documentation), nor one that moves vgroup
leaders off a given dnode (`balance vgroup leader`, Enterprise, re-elects at random); restarting the leader's
pod is what moves it. Going last, that restart is the only election the roll causes by taking the leader
down; a restarted follower can still call one when it rejoins, and win it (observed on 3.3.7.5: docs/e2e.md),
so the order reads the leader again before every restart.

    StatefulSet / pods                        | cluster   | step
    ------------------------------------------|-----------|--------------------------------------------------
    controller has not seen the spec yet      | any       | wait
    a member pod missing or terminating       | any       | wait (the StatefulSet recreates it)
    every pod on the update revision          | healthy   | done
    pods left on an older revision            | healthy   | restart the next one (rolling), all of them (full)
    one pod down and left behind, the pods on | healthy   | restart it: a roll that stopped half way left
      mixed revisions (a roll stopped)        | but for it|   it, it is down already (a revert or a fix)
    some pods on the update revision (a roll  | unhealthy | wait (what the last restart left may still catch
      in progress: this run's or a resumed one)|          |   up); the deadline and the stall detector end it
    none on the update revision               | passing   | wait: an election, vnodes catching up, a pod
                                              |   trouble |   being created pass by themselves
    none on the update revision               | unhealthy | refuse: nothing is restarted (a dnode offline, a
                                              |           |   pod not Ready, a transaction, mnodes missing)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from components.tdengine.kube_types import PodInfo, StatefulSetInfo
from components.tdengine.naming import Naming
from components.tdengine.rows import ClusterState, Dnode, Vgroup, Vnode

MNODE_TARGET = 3
CLOCK_SLACK = 1.0
"""Seconds a dnode's `reboot_time` may be before its pod's `startTime` (both by the node's clock) and still be
its process: TDengine shows a restarted dnode `ready` from the old process's status for a few seconds, so a dnode
whose taosd started before its pod did has not been heard from since the restart."""
APPLIED_SLACK = 4
"""How far (log entries) a member's applied index may be below its vgroup's largest and still count as caught up.
Each member reports its own index once a second (the leader's lags its followers' by up to 1 s), so a settled
vgroup's members differ by what one second of writes adds: 0-4 in every settled reading of the real 3.3.7.5's
restarts (tdengine-admin.md §15, about 4 writes a second per vgroup), 6-15 only for a member that was stopping,
stopped or rejoining."""
REPORT_LAG = 2.0
"""Seconds after which a reading's largest applied index is surely reported by every caught-up member (one status
interval, 1 s, and as much again for the poll): a member that has reached it has caught up, however fast writes
come (the slack alone would hold a busy cluster back for ever)."""


@dataclass(frozen=True)
class Health:
    """One reading of everything the gates look at."""

    statefulset: StatefulSetInfo | None
    pods: tuple[PodInfo, ...]
    state: ClusterState | None = None
    """None when only the pods are judged (a new cluster: no SQL before ClusterMembership set the password)."""
    vgroups: tuple[Vgroup, ...] = ()
    vnodes: tuple[Vnode, ...] = ()
    alive: int | None = None
    """`show cluster alive`: 1 all available, 2 partly, 0 unavailable; None when not read."""
    restarted: Mapping[str, float] = field(default_factory=dict)
    """Pod -> its dnode's `reboot_time` read just before this run restarted it: the dnode is back only with a
    later one (a SIGKILLed taosd back within TDengine's offline detection changes nothing else, §15)."""
    earlier: Mapping[int, int] = field(default_factory=dict)
    """Vgroup id -> the largest applied index of its members in a reading at least `REPORT_LAG` seconds older
    (none yet: empty)."""


class StepKind(StrEnum):
    DONE = "done"
    WAIT = "wait"
    RESTART = "restart"
    RESTART_ALL = "restart all"
    REFUSE = "refuse"


@dataclass(frozen=True)
class RollStep:
    kind: StepKind
    pods: tuple[str, ...] = ()
    reason: str = ""
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    text: str
    transient: bool = False
    """Passing by itself (an election, vnodes catching up, a pod being created): waited for, never refused."""


def pod_problems(h: Health, naming: Naming, members: list[str], skip: str = "") -> list[str]:
    """What keeps the StatefulSet's pods from being all there and Ready."""
    return [p.text for p in _pod_problems(h, naming, members, skip)]


def problems(h: Health, naming: Naming, members: list[str], skip: str = "") -> list[str]:
    """Everything unhealthy, pods first; `skip` is a pod whose own trouble is set aside (its dnode offline, its
    mnode and vnodes down), though the cluster must still manage without it: leaders elsewhere, quorum kept."""
    return [p.text for p in _problems(h, naming, members, skip)]


def _pod_problems(h: Health, naming: Naming, members: list[str], skip: str) -> list[Problem]:
    sts = h.statefulset
    if sts is None:
        return [Problem(f"StatefulSet {naming.namespace}/{naming.statefulset} does not exist", True)]
    if sts.observed_generation < sts.generation:
        return [Problem(f"the StatefulSet controller has not seen generation {sts.generation} yet", True)]
    pods = {p.name: p for p in h.pods}
    out = []
    for pod in members:
        p = pods.get(pod)
        if pod == skip:
            continue
        if p is None:
            out.append(Problem(f"pod {pod} does not exist yet", True))
        elif p.deleting:
            out.append(Problem(f"pod {pod} is terminating", True))
        elif not p.ready:
            why = f", {p.reason}" if p.reason else ""
            out.append(Problem(f"pod {pod} is not Ready ({p.phase}{why})"))
    return out


def _problems(h: Health, naming: Naming, members: list[str], skip: str = "") -> list[Problem]:
    out = _pod_problems(h, naming, members, skip)
    if h.state is None:
        return out
    state = h.state
    skipped = state.dnode_of(naming.fqdn(skip)) if skip else None
    pods = {p.name: p for p in h.pods}
    joined = [d for pod in members if (d := state.dnode_of(naming.fqdn(pod))) is not None]
    for d in joined:
        pod = naming.pod_of(d) or ""
        if d is skipped:
            continue
        if d.is_unseen:  # a scale-out's new dnode: it reports within seconds
            out.append(Problem(f"waiting for dnode {d.id} of {pod} to report (new, not yet seen)", True))
        elif not d.is_ready:
            out.append(Problem(f"dnode {d.id} of {pod} is {d.status}" + (f" ({d.note})" if d.note else "")))
        elif d.reboot_time <= 0:
            text = f"dnode {d.id} of {pod} shows reboot_time 0: its new taosd's first status is being taken in"
            out.append(Problem(text, True))
        elif pod in h.restarted and d.reboot_time <= h.restarted[pod]:
            text = f"dnode {d.id} still shows the reboot_time of the taosd {pod} ran before its restart"
            out.append(Problem(text, True))
        elif pod in pods and pods[pod].started and d.reboot_time + CLOCK_SLACK < pods[pod].started:
            out.append(Problem(f"dnode {d.id} has not reported from the taosd of the new pod {pod} yet", True))
    out += _mnode_problems(state, len(joined), skipped)
    out += [Problem(f"transaction {t.id} ({t.oper}, stage {t.stage}) is running") for t in state.transactions]
    out += _vgroup_problems(h, state, skipped)
    if skipped is None and h.alive is not None and h.alive != 1:
        out.append(Problem(f"show cluster alive says {h.alive} (1: every vgroup and dnode available)", True))
    return out


def _mnode_problems(state: ClusterState, dnodes: int, skipped: Dnode | None) -> list[Problem]:
    want = min(MNODE_TARGET, dnodes)
    out = []
    if len(state.mnodes) < want:
        out.append(Problem(f"{len(state.mnodes)} mnodes, {want} wanted"))
    if state.leader is None:
        out.append(Problem("no mnode leader", True))
    for m in state.mnodes:
        if not m.is_settled and not (skipped is not None and m.id == skipped.id):
            # `offline` with status `ready`: for about a second after every restart of its taosd (§15)
            passing = m.role != "offline" or m.status == "ready"
            out.append(Problem(f"mnode on dnode {m.id} is {m.role} (status {m.status or 'unknown'})", passing))
    return out


def _vgroup_problems(h: Health, state: ClusterState, skipped: Dnode | None) -> list[Problem]:
    """Every vgroup led by exactly one leader on a `ready` dnode, every other member its follower, every member's
    applied index known (not `-1/-1`) and caught up (`caught_up`); no vnode still restoring."""
    out = []
    skip_id = skipped.id if skipped is not None else None
    dnodes = {d.id: d for d in state.dnodes}
    for vg in h.vgroups:
        where = f"vgroup {vg.id} ({vg.db})"
        members = [m for m in vg.members if m.dnode_id != skip_id]
        leaders = [m for m in members if m.is_leader]
        if not leaders:
            out.append(Problem(f"{where} has no leader ({vg.describe()})", True))
        elif len(leaders) > 1:
            on = ", ".join(str(m.dnode_id) for m in leaders)
            text = f"{where} shows {len(leaders)} leaders (dnodes {on}): one is the stale row of a dead taosd"
            out.append(Problem(text, True))
        elif (d := dnodes.get(leaders[0].dnode_id)) is None or not d.is_ready:
            status = "gone" if d is None else d.status
            out.append(Problem(f"{where}: its leader is on dnode {leaders[0].dnode_id}, which is {status}", True))
        elif leaders[0].status.endswith("*"):
            text = f"{where}: its leader on dnode {leaders[0].dnode_id} is still restoring ({leaders[0].status})"
            out.append(Problem(text, True))
        top = max((m.applied for m in members if m.is_up and m.applied is not None and m.applied >= 0), default=None)
        for m in members:
            if m.role != "leader" and not (m.is_up and m.role == "follower"):
                down = m.role in ("offline", "dropping", "error", "")
                out.append(Problem(f"{where}: the vnode on dnode {m.dnode_id} is {m.status or 'unknown'}", not down))
            elif m.applied is not None and m.applied < 0:
                out.append(Problem(f"{where}: the vnode on dnode {m.dnode_id} is rejoining (applied -1/-1)", True))
            elif not caught_up(m.applied, top, h.earlier.get(vg.id)):
                text = f"{where}: the vnode on dnode {m.dnode_id} is catching up (applied {m.applied} of {top})"
                out.append(Problem(text, True))
    for v in h.vnodes:
        if v.dnode_id != skip_id and v.is_up and not v.restored:
            text = f"vnode of vgroup {v.vgroup_id} ({v.db}) on dnode {v.dnode_id} is catching up (not restored)"
            out.append(Problem(text, True))
    return out


def caught_up(applied: int | None, top: int | None, earlier: int | None = None) -> bool:
    """A member's applied index against its vgroup's largest now (`top`) and in a reading `REPORT_LAG` seconds
    older (`earlier`): within `APPLIED_SLACK` of `top`, or at least `earlier`. Unknown indexes (a TDengine without
    the column) say nothing."""
    if applied is None or top is None:
        return True
    return applied >= top - APPLIED_SLACK or (earlier is not None and applied >= earlier)


def restart_order(h: Health, naming: Naming, pods: list[str]) -> list[str]:
    """Highest ordinal first; the pod hosting the mnode leader last."""
    ordered = sorted(pods, key=naming.ordinal, reverse=True)
    leader = h.state.leader if h.state is not None else None
    if leader is not None:
        host = naming.pod_of(leader)
        if host in ordered:
            ordered.remove(host)
            ordered.append(host)
    return ordered


def next_step(h: Health, naming: Naming, members: list[str], full: bool = False) -> RollStep:
    """What the roll does next (the table in this module's docstring)."""
    waiting = pod_problems(h, naming, members)
    sts = h.statefulset
    pods = {p.name: p for p in h.pods}
    if (
        sts is None
        or sts.observed_generation < sts.generation
        or any(pods.get(m) is None or pods[m].deleting for m in members)
    ):
        return RollStep(StepKind.WAIT, reason=waiting[0] if waiting else "", problems=tuple(waiting))
    assert sts is not None
    stale = [m for m in members if pods[m].revision != sts.update_revision]
    every = _problems(h, naming, members)
    found = [p.text for p in every]
    if not found:
        if not stale:
            return RollStep(StepKind.DONE, reason="every pod runs the StatefulSet's current revision")
        if full:
            return RollStep(StepKind.RESTART_ALL, tuple(stale), "every pod at once (allowFullRestart)")
        first = restart_order(h, naming, stale)[0]
        return RollStep(StepKind.RESTART, (first,), f"{len(stale)} of {len(members)} pods left to restart")
    casualty = _casualty(h, naming, members, stale)
    if casualty and not problems(h, naming, members, skip=casualty):
        return RollStep(
            StepKind.RESTART,
            (casualty,),
            f"{casualty} is down and left behind by a roll that stopped half way: it is down already, so it restarts "
            "first",
        )
    if len(stale) < len(members) or all(p.transient for p in every):
        return RollStep(StepKind.WAIT, reason=found[0], problems=tuple(found))
    hard = [p.text for p in every if not p.transient]
    return RollStep(StepKind.REFUSE, reason=hard[0], problems=tuple(found))


def _casualty(h: Health, naming: Naming, members: list[str], stale: list[str]) -> str:
    """The one member pod that is down and needs a restart, when the pods run mixed revisions (a roll stopped half
    way: this is what it left down); '' otherwise, e.g. for a crash while every pod ran the same revision."""
    pods = {p.name: p for p in h.pods}
    state = h.state

    def down(pod: str) -> bool:
        dnode = state.dnode_of(naming.fqdn(pod)) if state is not None else None
        return not pods[pod].ready or (dnode is not None and not dnode.is_online)

    sick = [m for m in members if down(m)]
    if len(sick) != 1 or sick[0] not in stale:
        return ""
    return sick[0] if len({pods[m].revision for m in members}) > 1 else ""
