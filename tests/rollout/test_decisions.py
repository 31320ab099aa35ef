"""The pure decisions of a day-2 change as tables: TDengine's version rules, the classification of each change,
and the health gates with the choice of the next pod."""

from __future__ import annotations

import dataclasses

import pytest

from components.args import ClusterArgs
from components.resource_inputs import shape_of
from components.rollout import versions
from components.rollout.classify import classify, same_offset
from components.rollout.gates import Health, StepKind, caught_up, next_step, problems, restart_order
from components.rollout.shape import ClusterShape, quantity_bytes
from components.settings import Kind
from components.tdengine.kube_types import PodInfo, StatefulSetInfo
from components.tdengine.naming import Naming
from components.tdengine.rows import ClusterState, Database, Dnode, Member, Mnode, Transaction, Vgroup, Vnode

# -- TDengine's version rules ------------------------------------------------------------------------------------
VERSIONS = [
    ("tdengine/tdengine:3.3.6.13", "tdengine/tdengine:3.3.6.14", versions.Jump.MAINTENANCE, True),
    ("tdengine/tdengine:3.3.6.14", "tdengine/tdengine:3.3.6.13", versions.Jump.MAINTENANCE, True),
    ("tdengine/tdengine:3.3.6.13", "tdengine/tsdb:3.3.6.13", versions.Jump.SAME, True),
    ("tdengine/tdengine:3.3.6.13", "tdengine/tdengine:3.3.6.13@sha256:" + "a" * 64, versions.Jump.SAME, True),
    ("tdengine/tdengine:3.3.6.13", "tdengine/tdengine:3.3.7.0", versions.Jump.FEATURE, False),
    ("tdengine/tdengine:3.3.7.0", "tdengine/tdengine:3.3.6.13", versions.Jump.FEATURE, False),
    ("tdengine/tdengine:3.3.6.13", "tdengine/tdengine:3.4.0.0", versions.Jump.MAJOR, False),
    ("tdengine/tdengine:3.4.0.0", "tdengine/tdengine:3.3.6.13", versions.Jump.MAJOR, False),
    ("tdengine/tdengine:3.3.6.13", "tdengine/tdengine:4.0.0.0", versions.Jump.MAJOR_PLUS, False),
    ("tdengine/tdengine:3.3.6.13", "reg.example.com:5000/td/tdengine:3.3.6.15-arm64", versions.Jump.MAINTENANCE, True),
    ("tdengine/tdengine:3.3.6.13", "tdengine/tdengine:stable", versions.Jump.UNKNOWN, False),
    ("mirror/tdengine:stable", "other/tdengine:stable", versions.Jump.SAME, True),
]


@pytest.mark.parametrize(("old", "new", "jump", "rolls"), VERSIONS)
def test_tdengine_version_rules(old, new, jump, rolls):
    verdict = versions.judge(old, new)
    assert (verdict.jump, verdict.rolls) == (jump, bool(rolls))
    if not rolls:
        assert verdict.fix and (versions.RULES_SOURCE in verdict.rule or jump == versions.Jump.UNKNOWN)


def test_a_template_change_without_a_named_setting_says_so():
    old, new = shape_of(BASE), shape_of(dataclasses.replace(BASE, cpu_request="1"))
    # a state written before the settings were recorded
    assert (
        "(the pod template changed; which setting"
        in classify(dataclasses.replace(old, template_settings={}), new).summary()
    )
    # the program's own template changed, no setting
    same = dataclasses.replace(new, template_settings=old.template_settings)
    assert "(the pod template changed, no setting: this program's template)" in classify(old, same).summary()


def test_a_major_downgrade_says_it_cannot_go_back():
    verdict = versions.judge("tdengine/tdengine:3.4.0.0", "tdengine/tdengine:3.3.6.13")
    assert "cannot be rolled back" in verdict.rule and "cannot go back" in verdict.fix


# -- what each change of settings does ---------------------------------------------------------------------------
BASE = ClusterArgs(namespace="tdengine-test", storage_class="standard")


def plan(**changes):
    return classify(shape_of(BASE), shape_of(dataclasses.replace(BASE, **changes)))


CLASSIFIED = [
    ({}, (Kind.NONE,) * 0, ""),
    ({"image": "tdengine/tdengine:3.3.7.6"}, (Kind.ROLLING_RESTART,), "rolling restart of 3 pods"),
    ({"cpu_request": "600m"}, (Kind.ROLLING_RESTART,), "one at a time (cpuRequest 500m -> 600m)"),
    ({"taos_settings": {"TAOS_SUPPORT_VNODES": "32"}}, (Kind.ROLLING_RESTART,), "(taosSettings TAOS_SUPPORT_VNODES)"),
    ({"labels": {"team": "db"}, "memory_limit": ""}, (Kind.ROLLING_RESTART,), "(memoryLimit 4Gi -> '', labels team)"),
    ({"timezone": "Asia/Hong_Kong"}, (Kind.ROLLING_RESTART,), "the same UTC offset all year"),
    ({"storage_size": "10Gi"}, (Kind.VOLUME_EXPANSION,), "taosdata 5Gi -> 10Gi"),
    ({"pod_management_policy": "OrderedReady"}, (Kind.RECREATE,), "recreated, no restart"),
    ({"replicas": 4}, (Kind.SCALE,), "scale-out 3 -> 4"),
    ({"replicas": 4, "image": "tdengine/tdengine:3.3.7.6"}, (Kind.SCALE, Kind.ROLLING_RESTART), "restart of 4"),
    ({"storage_size": "10Gi", "cpu_request": "1"}, (Kind.VOLUME_EXPANSION, Kind.ROLLING_RESTART), "then rolling"),
    ({"image": "tdengine/tdengine:3.3.8.0", "allow_full_restart": True}, (Kind.FULL_RESTART,), "at once"),
    ({"pod_disruption_budget": False, "drain_timeout": 60, "verify": True}, (), ""),
]


@pytest.mark.parametrize(("changes", "kinds", "says"), CLASSIFIED)
def test_each_change_is_classified(changes, kinds, says):
    p = plan(**changes)
    assert p.kinds == kinds and not p.refusals
    assert says in (p.summary() if kinds else "")


REFUSED = [
    ({"namespace": "other"}, "namespace", "endpoint"),
    ({"cluster_name": "td2"}, "clusterName", "endpoint"),
    ({"service_name": "taos"}, "serviceName", "endpoint"),
    ({"cluster_domain": "example.local"}, "clusterDomain", "endpoint"),
    ({"server_port": 6130, "rest_port": 6141}, "serverPort", "endpoint"),
    ({"rest_port": 6042}, "restPort", "old port"),
    ({"storage_class": "fast"}, "storageClass", "moving every dnode's data"),
    ({"storage_size": "1Gi"}, "storageSize", "cannot shrink"),
    ({"log_storage_size": "1Gi"}, "logStorageSize", "taoslog added"),
    ({"timezone": "UTC"}, "timezone", "timezone not match"),
    ({"taos_settings": {"TAOS_MONITOR": "1"}}, "taosSettings", "monitor not match"),
    ({"image": "tdengine/tdengine:3.3.8.0"}, "image", "Feature version"),
    ({"image": "tdengine/tdengine:3.4.0.0", "allow_full_restart": False}, "image", "Major version"),
    ({"image": "tdengine/tdengine:3.2.3.0", "allow_full_restart": True}, "image", "cannot go back"),
    ({"storage_size": "10Gi", "replicas": 4}, "replicas", "in an `up` of its own"),
]


@pytest.mark.parametrize(("changes", "key", "says"), REFUSED)
def test_each_unsafe_change_is_refused_with_why_and_the_way(changes, key, says):
    p = plan(**changes)
    assert p.kinds == (Kind.REFUSED,)
    refusal = next(r for r in p.refusals if r.key == key)
    assert says in refusal.text() and refusal.fix
    assert "Fix: " in p.summary()


def test_create_namespace_false_is_refused_only_when_the_namespace_would_be_deleted():
    deleting = dataclasses.replace(BASE, delete_data_on_destroy=True)
    p = classify(shape_of(deleting), shape_of(dataclasses.replace(deleting, create_namespace=False)))
    assert [r.key for r in p.refusals] == ["createNamespace"]
    assert not plan(create_namespace=False).refusals


def test_shape_round_trips_through_grpc_floats():
    shape = shape_of(BASE)
    inputs = {k: float(v) if type(v) is int else v for k, v in shape.to_inputs().items()}
    assert ClusterShape.from_inputs(inputs) == shape


def test_quantities_and_time_zones():
    assert quantity_bytes("5Gi") == 5 * 2**30 and quantity_bytes("500M") == 5e8 and quantity_bytes("1e3") == 1000
    with pytest.raises(ValueError):
        quantity_bytes("5GB")
    assert same_offset("Asia/Shanghai", "Asia/Hong_Kong") and not same_offset("Europe/Berlin", "Africa/Lagos")


# -- the gates -----------------------------------------------------------------------------------------------------
NAMING = Naming("tdengine", "taosd", "ns", "cluster.local", 6030)
MEMBERS = ["tdengine-0", "tdengine-1", "tdengine-2"]
NEW, OLD = "tdengine-new", "tdengine-old"


def dnode(i, status="ready", reboot=100.0):
    return Dnode(i + 1, f"tdengine-{i}.taosd.ns.svc.cluster.local:6030", 2, 16, status, "", reboot)


def health(
    revisions=(OLD, OLD, OLD),
    ready=(True, True, True),
    statuses=("ready", "ready", "ready"),
    leader=1,
    transactions=(),
    vgroups=None,
    vnodes=(),
    started=(0.0, 0.0, 0.0),
    reboots=(100.0, 100.0, 100.0),
    mnode_roles=None,
    alive=1,
    restarted=None,
    earlier=None,
):
    pods = tuple(
        PodInfo(f"tdengine-{i}", i, ready[i], "Running", False, f"uid-{i}", revisions[i], "", started[i])
        for i in range(3)
    )
    dnodes = tuple(dnode(i, statuses[i], reboots[i]) for i in range(3))
    roles = ["offline" if d.status != "ready" else ("leader" if d.id == leader else "follower") for d in dnodes]
    mnodes = tuple(
        Mnode(d.id, d.endpoint, *((mnode_roles or {}).get(d.id) or (role, "")))
        for d, role in zip(dnodes, roles, strict=True)
    )
    state = ClusterState(dnodes, mnodes, (Database("app", 3),), tuple(transactions))
    if vgroups is None:
        vgroups = (Vgroup(2, "app", (Member(1, "leader", 12), Member(2, "follower", 12), Member(3, "follower", 11))),)
    return Health(
        StatefulSetInfo(2, 2, NEW, 3, "OnDelete"),
        pods,
        state,
        tuple(vgroups),
        tuple(vnodes),
        alive,
        restarted or {},
        earlier or {},
    )


def group(*members):
    return (Vgroup(2, "app", tuple(Member(d, status, applied) for d, status, applied in members)),)


def test_a_healthy_cluster_restarts_the_highest_ordinal_first_and_the_leaders_pod_last():
    step = next_step(health(), NAMING, MEMBERS)
    assert (step.kind, step.pods) == (StepKind.RESTART, ("tdengine-2",))
    assert restart_order(health(leader=3), NAMING, MEMBERS) == ["tdengine-1", "tdengine-0", "tdengine-2"]
    assert next_step(health((NEW, NEW, NEW)), NAMING, MEMBERS).kind is StepKind.DONE


HARD = [
    ({"statuses": ("ready", "offline", "ready")}, "dnode 2 of tdengine-1 is offline"),
    ({"ready": (True, False, True)}, "pod tdengine-1 is not Ready"),
    ({"transactions": (Transaction(7, "redoAction", "drop-dnode", 0, ""),)}, "transaction 7 (drop-dnode"),
]
PASSING = [
    ({"leader": 0}, "no mnode leader"),
    ({"vgroups": (Vgroup(2, "app", (Member(1, "follower"), Member(2, "follower"))),)}, "has no leader"),
    ({"vgroups": (Vgroup(2, "app", (Member(1, "leader*"), Member(2, "follower"))),)}, "still restoring"),
    ({"vgroups": (Vgroup(2, "app", (Member(1, "leader"), Member(2, "candidate"))),)}, "is candidate"),
    ({"vnodes": (Vnode(2, 2, "app", "follower", False),)}, "catching up"),
    ({"started": (0.0, 200.0, 0.0)}, "has not reported from the taosd of the new pod"),
    # what TDengine 3.3.7.5 showed around a restart (tdengine-admin.md §15)
    ({"reboots": (100.0, 0.0, 100.0)}, "dnode 2 of tdengine-1 shows reboot_time 0"),
    ({"restarted": {"tdengine-2": 100.0}}, "dnode 3 still shows the reboot_time of the taosd tdengine-2 ran before"),
    ({"mnode_roles": {3: ("offline", "ready")}}, "mnode on dnode 3 is offline (status ready)"),
    ({"vgroups": group((1, "leader", 9), (2, "follower", 9), (3, "leader", 9))}, "shows 2 leaders (dnodes 1, 3)"),
    ({"vgroups": group((1, "candidate", 9), (2, "candidate", 9), (3, "follower", 9))}, "has no leader"),
    ({"vgroups": group((1, "leader", 17), (2, "follower", -1), (3, "follower", 17))}, "rejoining (applied -1/-1)"),
    ({"vgroups": group((1, "leader", 50), (2, "follower", 47), (3, "follower", 35))}, "catching up (applied 35 of 50)"),
    ({"vnodes": (Vnode(3, 2, "app", "follower", False),)}, "is catching up (not restored)"),
    ({"alive": 2}, "show cluster alive says 2"),
]


def scaled_out(note: str, reboot: float) -> Health:
    """A scale-out to 4 with no template change: tdengine-3's dnode created, offline with `note`."""
    h = health(revisions=(NEW, NEW, NEW))
    fourth = PodInfo("tdengine-3", 3, True, "Running", False, "uid-3", NEW, "", 0.0)
    joining = dataclasses.replace(dnode(3, "offline", reboot), vnodes=0, support_vnodes=0, note=note)
    state = dataclasses.replace(h.state, dnodes=(*h.state.dnodes, joining))
    sts = dataclasses.replace(h.statefulset, replicas=4)
    return dataclasses.replace(h, statefulset=sts, pods=(*h.pods, fourth), state=state)


def test_a_joining_dnode_is_waited_for_as_new_and_a_stopped_one_is_offline():
    members = [*MEMBERS, "tdengine-3"]
    # TDengine's note for a dnode whose taosd never reported (tdengine-admin.md §7, 'status not received')
    step = next_step(scaled_out("status not received", 0.0), NAMING, members)
    assert step.kind is StepKind.WAIT
    assert step.reason == "waiting for dnode 4 of tdengine-3 to report (new, not yet seen)"
    assert not any("offline" in p for p in step.problems)
    # one that reported and stopped ('status msg timeout') is offline, as before
    stopped = problems(scaled_out("status msg timeout", 100.0), NAMING, members)
    assert "dnode 4 of tdengine-3 is offline (status msg timeout)" in stopped


@pytest.mark.parametrize(("unwell", "says"), HARD)
def test_an_unhealthy_cluster_before_the_roll_is_refused(unwell, says):
    h = health(**unwell)
    assert any(says in p for p in problems(h, NAMING, MEMBERS)), problems(h, NAMING, MEMBERS)
    step = next_step(h, NAMING, MEMBERS)
    assert step.kind is StepKind.REFUSE and any(says in p for p in step.problems)


@pytest.mark.parametrize(("unwell", "says"), PASSING)
def test_what_passes_by_itself_is_waited_for_before_the_roll(unwell, says):
    h = health(**unwell)
    step = next_step(h, NAMING, MEMBERS)
    assert step.kind is StepKind.WAIT and any(says in p for p in step.problems)


@pytest.mark.parametrize(("unwell", "says"), HARD[2:] + PASSING)
def test_an_unhealthy_cluster_during_the_roll_is_waited_for(unwell, says):
    h = health(revisions=(OLD, OLD, NEW), **unwell)
    assert next_step(h, NAMING, MEMBERS).kind is StepKind.WAIT


@pytest.mark.parametrize(("unwell", "says"), HARD[:2])
def test_a_pod_down_during_the_roll_that_needs_the_restart_anyway_gets_it(unwell, says):
    h = health(revisions=(OLD, OLD, NEW), **unwell)
    step = next_step(h, NAMING, MEMBERS)
    assert (step.kind, step.pods) == (StepKind.RESTART, ("tdengine-1",))


def test_a_pod_a_failed_roll_left_down_restarts_first():
    """The pods on mixed revisions (a roll stopped half way) and one of them down: it restarts first (its own
    trouble set aside); a crash while every pod ran the same revision is refused instead."""
    for revisions in ((NEW, NEW, "tdengine-bad"), (NEW, "tdengine-bad", "tdengine-bad"), (OLD, OLD, "tdengine-bad")):
        h = health(revisions=revisions, ready=(True, True, False), statuses=("ready", "ready", "offline"))
        step = next_step(h, NAMING, MEMBERS)
        assert (step.kind, step.pods) == (StepKind.RESTART, ("tdengine-2",)), revisions
    same = health(revisions=(OLD, OLD, OLD), ready=(True, True, False), statuses=("ready", "ready", "offline"))
    assert next_step(same, NAMING, MEMBERS).kind is StepKind.REFUSE


def test_waits_for_the_controller_and_for_a_terminating_pod():
    h = health()
    lagging = dataclasses.replace(h, statefulset=StatefulSetInfo(3, 2, NEW, 3, "OnDelete"))
    assert next_step(lagging, NAMING, MEMBERS).kind is StepKind.WAIT
    pods = (h.pods[0], h.pods[1], dataclasses.replace(h.pods[2], deleting=True))
    assert next_step(dataclasses.replace(h, pods=pods), NAMING, MEMBERS).kind is StepKind.WAIT


def test_full_restart_restarts_every_pod_at_once():
    step = next_step(health(), NAMING, MEMBERS, full=True)
    assert step.kind is StepKind.RESTART_ALL and set(step.pods) == set(MEMBERS)


def test_a_leader_on_a_dnode_that_is_not_ready_is_no_leader():
    h = health(revisions=(OLD, OLD, NEW), statuses=("ready", "offline", "ready"))
    h = dataclasses.replace(h, vgroups=group((1, "follower", 9), (2, "leader", 9), (3, "follower", 9)))
    assert "vgroup 2 (app): its leader is on dnode 2, which is offline" in problems(h, NAMING, MEMBERS)


def test_two_leaders_are_never_one():
    (vg,) = group((1, "leader", 9), (2, "follower", 9), (3, "leader", 9))
    assert vg.leader is None and [m.dnode_id for m in vg.leaders] == [1, 3]


@pytest.mark.parametrize(
    ("applied", "top", "earlier", "caught"),
    [
        (12, 12, None, True),
        (8, 12, None, True),  # the settled spread: one second of writes (§15: 0-4)
        (7, 12, None, False),
        (35, 50, None, False),  # a rejoined member, 15 behind (§15, SIGKILL back after 10 s)
        (900, 1000, 880, True),  # a busy vgroup: behind by more than the slack, but past where it was 2 s ago
        (870, 1000, 880, False),
        (None, 12, None, True),  # a TDengine without the column says nothing
    ],
)
def test_caught_up_is_within_the_slack_or_past_an_older_reading(applied, top, earlier, caught):
    assert caught_up(applied, top, earlier) is caught
