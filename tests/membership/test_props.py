"""The membership resources' inputs: one contract (`MembershipProps`), its round trip, and preview's unknowns."""

from __future__ import annotations

import dataclasses

from pulumi.output import Unknown

from components.args import ALL_SETTINGS, ClusterArgs
from components.membership import provider
from components.membership.props import MembershipProps, input_keys
from components.tdengine.naming import Naming
from tests.engine import props
from tests.harness import run_program, stack_config

NAMING = Naming("tdb", "taosd", "prod", "example.org", 6130)
EVERY_FIELD_SET = MembershipProps(
    members=("tdb-0", "tdb-1", "tdb-2"),
    naming=NAMING,
    rest_port=6141,
    templates=("taosdata", "taoslog"),
    admin_url="http://taos.example.org:6041",
    kube_context="prod",
    kubeconfig="apiVersion: v1\nkind: Config\n",
    root_password="R00t-Passw.rd",
    force_drop_offline=True,
    allow_fewer_than_three=True,
    drain_timeout=120,
    stall_timeout=60,
    ready_timeout=300,
    delete_data_on_destroy=True,
    namespace_created=True,
    poll_interval=0.5,
    statement_timeout=5,
    vnode_copy_mbps=40,
    move_fixed_seconds=0.5,
)


def as_grpc(inputs: dict) -> dict:
    """What the dynamic host hands a provider: every number a float."""
    return {k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in inputs.items()}


def test_inputs_round_trip_through_the_contract():
    assert MembershipProps.from_inputs(EVERY_FIELD_SET.to_inputs()) == EVERY_FIELD_SET
    assert MembershipProps.from_inputs(as_grpc(EVERY_FIELD_SET.to_inputs())) == EVERY_FIELD_SET
    assert set(EVERY_FIELD_SET.to_inputs()) == input_keys()  # every field is an input, under one key


def test_missing_inputs_take_the_contract_defaults():
    """A state written by an older version lacks the newer keys; `from_inputs` fills in the one copy of each."""
    minimal = {"members": ["tdb-0"], "namespace": "prod", "statefulset": "tdb", "service": "taosd"}
    parsed = MembershipProps.from_inputs(minimal)
    defaults = MembershipProps(members=("tdb-0",), naming=Naming("tdb", "taosd", "prod", "cluster.local", 6030))
    assert parsed == defaults


def test_a_missing_input_that_is_a_stack_setting_takes_that_settings_default():
    """The contract holds no default of its own for a setting: `ClusterArgs`' declaration is the one copy. The one
    exception is said where it is declared: createNamespace, which a state from before that input did not set."""
    minimal = {"members": ["tdb-0"], "namespace": "prod", "statefulset": "tdb", "service": "taosd"}
    parsed, cluster = MembershipProps.from_inputs(minimal), ClusterArgs()
    by_key = {s.key: s for s in ALL_SETTINGS}
    compared = []
    for f in dataclasses.fields(MembershipProps):
        key = f.metadata["key"]
        if key in by_key and key not in ("createNamespace", "rootPassword", "kubeconfig"):
            assert getattr(parsed, f.name) == getattr(cluster, by_key[key].field), key
            compared.append(key)
    assert (parsed.naming.cluster_domain, parsed.naming.server_port) == (cluster.cluster_domain, cluster.server_port)
    assert len(compared) >= 10, compared


def test_tuning_inputs_and_an_empty_kubeconfig_are_left_out():
    """Only inputs the program always sent, so an existing stack's Diff sees no change."""
    inputs = MembershipProps(members=("tdb-0",), naming=NAMING).to_inputs()
    assert "pollIntervalSeconds" not in inputs and "statementTimeoutSeconds" not in inputs
    assert "vnodeCopyMBps" not in inputs and "moveFixedSeconds" not in inputs  # added after stacks existed
    assert "kubeconfig" not in inputs and inputs["rootPassword"] == ""


def test_the_program_registers_exactly_the_contract_inputs():
    run = run_program(stack_config("dev"))
    args = ClusterArgs.from_mapping({k.split(":", 1)[1]: v for k, v in stack_config("dev").items()})
    for typ in ("pulumi-python:dynamic/tdengine:DnodeDecommission", "pulumi-python:dynamic/tdengine:ClusterMembership"):
        registered = run.monitor.one(typ).inputs
        inputs = {k: v for k, v in registered.items() if k not in ("__provider", "drained", "topology")}
        parsed = MembershipProps.from_inputs({**inputs, "rootPassword": "x"})
        assert parsed.members == tuple(args.members) and parsed.naming == args.naming
        assert set(inputs) == set(dataclasses.replace(parsed, poll_interval=2, statement_timeout=30).to_inputs())


def test_the_tests_engine_builds_its_inputs_through_the_contract():
    class Sim:
        url, password = "http://127.0.0.1:1", "Pw-123456"

    built = props(Sim(), 4, drainTimeoutSeconds=0.5)
    parsed = MembershipProps.from_inputs(built)
    assert parsed.members == tuple(f"tdengine-{i}" for i in range(4)) and parsed.drain_timeout == 0.5
    assert parsed.admin_url == Sim.url and parsed.root_password == Sim.password


def test_check_in_preview_tolerates_unknowns_and_names_bad_inputs():
    unknown = Unknown()
    news = {**EVERY_FIELD_SET.to_inputs(), "members": unknown, "namespace": unknown, "rootPassword": unknown}
    assert provider._check(news).failures == []
    news = {**EVERY_FIELD_SET.to_inputs(), "members": ["tdb-0", unknown]}
    assert provider._check(news).failures == []
    bad = provider._check({"members": "tdb-0", "statefulset": "tdb", "service": "taosd"}).failures
    assert [(f.property, f.reason) for f in bad] == [
        ("members", "must be a list of pod names"),
        ("namespace", "is required"),
    ]


def test_diff_in_preview_counts_an_unknown_as_a_change():
    olds = EVERY_FIELD_SET.to_inputs()
    assert provider._diff(olds, dict(olds)).changes is False
    diff = provider._diff(olds, {**olds, "members": Unknown()})
    assert diff.changes is True and diff.replaces == []
    assert provider._diff(olds, {**olds, "namespace": Unknown()}).replaces == ["namespace"]
