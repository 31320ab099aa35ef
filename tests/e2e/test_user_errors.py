"""What a user who got a setting wrong sees from plain `pulumi preview` and `pulumi up`, through the real CLI and
its Python language host: one error naming the setting and the fix, never a traceback, and nothing changed.

Only refusals the program itself makes (invalid settings, an unknown key, a scale-in below 3 dnodes without the
acknowledgement): no TDengine fault is injected. One stack for the module, each test going on from the last.
"""

from __future__ import annotations

from tests.e2e.harness import NAMESPACE
from tests.e2e.pulumi_cli import Run
from tests.e2e.real import STACK_RESOURCES, RealCluster

REAL = True
STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "3", **STACK_RESOURCES}
NOT_FOR_A_USER = ("Traceback", "Program exited with non-zero exit code", "unhandled exception")


def assert_one_clear_error(run: Run, message: str) -> None:
    """Failed, with `message` once and none of the noise a bug would bring."""
    assert run.code != 0, run.output
    assert run.output.count(message) == 1, run.output
    for noise in NOT_FOR_A_USER:
        assert noise not in run.output, f"{noise!r} in:\n{run.output}"


def test_an_invalid_setting_is_one_error_under_plain_preview(e2e: RealCluster) -> None:
    e2e.project.init({**STACK, "replicas": "0"})
    run = e2e.project.preview()
    assert_one_clear_error(run, "replicas: 0 is invalid; must be an integer >= 1")


def test_a_typo_fails_preview_and_up_naming_the_key_it_meant(e2e: RealCluster) -> None:
    e2e.project.set("replicas", "3")
    e2e.project.set("storgeSize", "10Gi")
    message = "storgeSize: unknown setting; did you mean storageSize? Fix: `pulumi config rm storgeSize`"
    assert_one_clear_error(e2e.project.preview(), message)
    up = e2e.project.up()
    assert_one_clear_error(up, message)
    assert "+ 1 created" in up.stdout  # the stack's own record only:
    assert "kubernetes:" not in up.stdout and "tdengine:index" not in up.stdout and "random:" not in up.stdout
    assert NAMESPACE not in {n["metadata"]["name"] for n in e2e.plane.get("namespaces")["items"]}
    e2e.project.pulumi("config", "rm", "storgeSize").check()
    e2e.project.preview().check()


def test_a_scale_in_below_three_dnodes_is_one_error_and_changes_nothing(e2e: RealCluster) -> None:
    e2e.project.up().check()
    before = e2e.project.outputs()
    e2e.project.set("replicas", "2")
    run = e2e.project.up()
    assert_one_clear_error(run, "replicas: 2 is invalid")
    assert "allowFewerThanThreeDnodes" in run.output
    assert e2e.project.outputs() == before and len(before["podFqdns"]) == 3
    e2e.project.set("replicas", "3")
    e2e.project.pulumi("preview", "--expect-no-changes").check()
