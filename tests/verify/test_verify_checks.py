"""The pure parts of `verify`: vgroup spread, cluster health, the failover refusal, taosBenchmark's command."""

from __future__ import annotations

import shlex

import pytest

from components.args import ClusterArgs, ConfigError
from components.tdengine.naming import Naming
from components.tdengine.redact import scrub
from components.tdengine.rows import Member, Vgroup, parse_state, parse_vgroups
from components.verify import bench, checks
from components.verify.checks import Refusal

NAMING = Naming("tdengine", "taosd", "tdengine-test", "cluster.local", 6030)


def ep(ordinal: int) -> str:
    return f"tdengine-{ordinal}.taosd.tdengine-test.svc.cluster.local:6030"


def state(
    dnodes: list[tuple[int, int, str]],
    mnodes: list[tuple[int, int, str]],
    databases: list[tuple[str, int | None]] = (),
    transactions: list[tuple[int, str, str]] = (),
):
    """dnodes: (id, ordinal, status); mnodes: (id, ordinal, role); databases: (name, replica);
    transactions: (id, oper, stage)."""
    return parse_state(
        [
            {"id": i, "endpoint": ep(o), "vnodes": 0, "support_vnodes": 9, "status": st, "note": ""}
            for i, o, st in dnodes
        ],
        [{"id": i, "endpoint": ep(o), "role": role, "status": "ready"} for i, o, role in mnodes],
        [{"name": n, "replica": r} for n, r in databases],
        [{"id": i, "oper": oper, "stage": stage} for i, oper, stage in transactions],
    )


READY = [(1, 0, "ready"), (3, 1, "ready"), (2, 2, "ready")]
MNODES = [(1, 0, "leader"), (3, 1, "follower"), (2, 2, "follower")]
HEALTHY = state(READY, MNODES)


def vgroup_row(vgroup_id: int, db: str, *members: tuple[int, str]) -> dict:
    row: dict = {"vgroup_id": vgroup_id, "db_name": db, "tables": 3}
    for n in range(1, 5):
        dnode, status = members[n - 1] if n <= len(members) else (None, None)
        row[f"v{n}_dnode"], row[f"v{n}_status"] = dnode, status
    return row


def test_parse_vgroups_reads_every_set_slot_and_skips_nulls():
    vgroups = parse_vgroups(
        [vgroup_row(5, "db", (1, "follower"), (2, "leader*"), (3, "follower"), (4, "learner")), vgroup_row(2, "db")]
    )
    assert [v.id for v in vgroups] == [2, 5]
    five = vgroups[1]
    assert five.leader == Member(2, "leader*") and five.leader.role == "leader"
    assert [m.dnode_id for m in five.voters] == [1, 2, 3]  # the learner is a move in progress, not a replica
    assert vgroups[0].members == ()


@pytest.mark.parametrize(
    ("members", "replica", "expected"),
    [
        ([(1, "leader"), (2, "follower"), (3, "follower")], 3, []),
        ([(1, "leader**"), (2, "follower"), (3, "follower")], 3, []),
        ([(1, "follower"), (2, "follower"), (3, "candidate")], 3, ["vgroup 7 of t has no leader"]),
        ([(1, "leader"), (2, "leader"), (3, "follower")], 3, ["vgroup 7 of t has 2 leaders"]),
        ([(1, "leader"), (2, "follower")], 3, ["vgroup 7 of t has 2 replicas, expected 3"]),
        ([(1, "leader"), (1, "follower"), (1, "follower")], 3, ["vgroup 7 of t has 3 replicas on dnode 1"]),
        ([(1, "leader"), (2, "follower"), (3, "offline")], 3, ["vgroup 7 of t: the replica on dnode 3 is offline"]),
        ([(1, "leader"), (2, "follower"), (3, "follower"), (4, "learner")], 3, []),
        ([(2, "leader")], 1, []),
    ],
)
def test_spread_problems_name_the_vgroup_and_what_is_wrong(members, replica, expected):
    vgroups = parse_vgroups([vgroup_row(7, "t", *members)])
    problems = checks.spread_problems(vgroups, replica, "t")
    assert len(problems) == len(expected), problems
    for problem, text in zip(problems, expected, strict=True):
        assert problem.startswith(text), problem


def test_an_empty_database_is_a_problem_and_vnodes_are_counted_per_dnode():
    assert checks.spread_problems((), 3, "t") == ["database t has no vgroups"]
    vgroups = (Vgroup(2, "t", (Member(1, "leader"), Member(2, "follower"))), Vgroup(3, "t", (Member(2, "leader"),)))
    assert checks.vnodes_per_dnode(vgroups) == {1: 1, 2: 2}


def test_row_count_problem_names_both_numbers():
    assert checks.row_count_problem(1000, 1000, "x.meters") is None
    assert checks.row_count_problem(990, 1000, "x.meters") == (
        "select count(*) from x.meters = 990, expected 1000 (tables x rows written by taosBenchmark)"
    )


def test_cluster_problems_name_each_node():
    assert checks.cluster_problems(HEALTHY, NAMING) == []
    sick = state([(1, 0, "ready"), (3, 1, "offline"), (2, 2, "ready")], [(1, 0, "follower"), (3, 1, "offline")])
    assert checks.cluster_problems(sick, NAMING) == [
        "dnode 3 (tdengine-1) is offline",
        "2 mnodes, expected 3 (pulumi up keeps them)",
        "no mnode is leader: mnode 1 follower, mnode 3 offline",
        "mnode 3 (tdengine-1) is offline",
    ]


def test_failover_targets_the_pod_of_the_mnode_leader():
    led_by_dnode_3 = state(READY, [(1, 0, "follower"), (3, 1, "leader"), (2, 2, "follower")])
    target = checks.plan_failover(led_by_dnode_3, NAMING, (), 3)
    assert not isinstance(target, Refusal)
    assert (target.pod, target.dnode.id, target.mnode.id) == ("tdengine-1", 3, 3)


REPLICA1 = parse_vgroups(
    [
        vgroup_row(4, "metrics", (1, "leader")),
        vgroup_row(5, "other", (3, "leader")),
        vgroup_row(6, "pulumi_verify", (1, "leader")),  # the check's own: recreated by taosBenchmark anyway
    ]
)


@pytest.mark.parametrize(
    ("cluster", "vgroups", "replica", "reason", "fix"),
    [
        (HEALTHY, (), 1, "needs replica 3, not 1", "--replica 3"),
        (
            state([(1, 0, "ready"), (2, 1, "ready")], [(1, 0, "leader"), (2, 1, "follower")]),
            (),
            3,
            "the cluster has 2 dnode(s)",
            "scale to 3 or more dnodes",
        ),
        (
            state(READY, [(1, 0, "leader")]),
            (),
            3,
            "the cluster has 1 mnode(s)",
            "ClusterMembership keeps 3 mnodes",
        ),
        (
            state([(1, 0, "ready"), (3, 1, "ready"), (2, 2, "offline")], MNODES),
            (),
            3,
            "already degraded: dnode 2 (tdengine-2) is offline",
            "wait until every dnode is ready",
        ),
        (
            state(READY, MNODES, transactions=[(7, "create-mnode", "redoAction")]),
            (),
            3,
            "transaction(s) 7 create-mnode (redoAction) are running",
            "wait until `show transactions` is empty",
        ),
        (
            state(READY, [(1, 0, "candidate"), (3, 1, "follower"), (2, 2, "follower")]),
            (),
            3,
            "no mnode is leader",
            "wait until `show mnodes` shows a leader",
        ),
        (
            state(READY, MNODES, [("metrics", 1), ("other", 1), ("pulumi_verify", 1)]),
            REPLICA1,
            3,
            "replica-1 database(s) metrics have vnodes on dnode 1 (tdengine-0)",
            "alter database metrics replica 3",
        ),
    ],
    ids=[
        "test-replica-1",
        "two-dnodes",
        "one-mnode",
        "dnode-offline",
        "transaction",
        "no-leader",
        "replica-1-database",
    ],
)
def test_failover_refusals_say_why_and_how_to_fix(cluster, vgroups, replica, reason, fix):
    refusal = checks.plan_failover(cluster, NAMING, vgroups, replica)
    assert isinstance(refusal, Refusal), refusal
    assert reason in refusal.reason and fix in refusal.fix
    assert str(refusal).startswith("failover refused: ") and "Nothing was changed. Fix: " in str(refusal)


def test_replica1_databases_elsewhere_do_not_block_the_failover():
    cluster = state(READY, MNODES, [("other", 1), ("pulumi_verify", 1)])
    target = checks.plan_failover(cluster, NAMING, REPLICA1, 3)
    assert not isinstance(target, Refusal) and target.pod == "tdengine-0"


def test_the_password_goes_to_stdin_never_into_the_command():
    command = bench.benchmark_command("pulumi_verify", 10, 100, 3)
    assert command[:2] == ["sh", "-c"]
    words = shlex.split(command[2])
    assert words[:5] == ["read", "-r", "TDPW", "&&", "exec"]
    assert words[5:] == (
        ["taosBenchmark", "-y", "-I", "stmt", "-d", "pulumi_verify", "-t", "10", "-n", "100", "-a", "3", "-p$TDPW"]
    )
    assert bench.benchmark_stdin("Tdengine-2025!") == "Tdengine-2025!\n"


def test_scrub_removes_every_secret_longest_first():
    text = "password: Abc-123-xyz\nkubeconfig token Abc-123\n"
    assert scrub(text, ["Abc-123", "Abc-123-xyz", ""]) == "password: <redacted>\nkubeconfig token <redacted>\n"
    assert bench.tail("a\n\nb\nc\n", lines=2) == "    b\n    c"


def test_tail_drops_taosbenchmarks_colours():
    # what the real 3.3.7.5 taosBenchmark printed on stderr when its database could not be created
    stderr = (
        "\x1b[31mERROR: Call engine failed. error code: 0x800003ba, reason: Vnodes exhausted command CREATE "
        "DATABASE IF NOT EXISTS pulumi_verify replica 1 PRECISION 'ms';\n\x1b[0m"
    )
    assert bench.tail(stderr) == (
        "    ERROR: Call engine failed. error code: 0x800003ba, reason: Vnodes exhausted command CREATE DATABASE IF "
        "NOT EXISTS pulumi_verify replica 1 PRECISION 'ms';"
    )


def test_verify_settings_are_validated_together_with_replicas():
    small = {"replicas": "1", "allowFewerThanThreeDnodes": "true"}
    assert ClusterArgs.from_mapping(small).verify_replica == 3  # off: not checked against replicas
    with pytest.raises(ConfigError) as err:
        ClusterArgs.from_mapping({**small, "verify": "true"})
    assert err.value.problems == [
        "verifyReplica: 3 is invalid with replicas 1; a replica-3 database needs 3 dnodes "
        "(set verifyReplica 1, or verify false)"
    ]
    args = ClusterArgs.from_mapping({**small, "verify": "true", "verifyReplica": "1", "verifyRows": "5"})
    assert (args.verify, args.verify_replica, args.verify_rows, args.verify_tables) == (True, 1, 5, 10)
