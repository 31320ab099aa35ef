"""The root password and the kubeconfig: replaced default, rotation, and where they may and may not appear.

Every secret here is a distinctive string, searched for verbatim in: the serialized providers and every
registration the program makes (`tests/harness.py`), the outputs the REAL dynamic-provider host returns
over gRPC for create/update/delete (`tests/host.py`), stderr (progress lines), error messages (also the
gRPC details, which carry the whole traceback) and `python -m components render` output.

The password is kept in one output on purpose: `rootPassword`, so that `update` can log in with the old
password to rotate it. `engine_view` applies the engine's two rules that store that output encrypted
(the same-named input is secret, pulumi#13260; `additional_secret_outputs`) to the host's answers, and
the tests assert that nothing else the engine would store in plain text holds a secret.

Over 300 lines: every place a secret could leak, searched with the same strings and helpers.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import dill
import grpc
import pytest
import yaml
from pulumi.runtime import rpc

from components.args import ClusterArgs, ConfigError
from components.membership import provider
from components.membership.props import MembershipProps
from components.tdengine.errors import ClusterError, TDengineError
from components.tdengine.rest import AdminClient
from tests.engine import Engine, props
from tests.harness import ROOT, run_program, stack_config
from tests.host import ProviderHost, from_struct, provider_blob
from tests.sim import SimCluster
from tests.sim.kube_api import FakeKubeApi

FIRST = "F1rst-Rt.pw-71a9"
SECOND = "Rot4ted;pw-c3d2"  # a ';' is one of TDengine's specials: it must not split the statement
BY_HAND = "ByH4nd-pw.e85b"
WEAK = "weakpass1x"  # two character classes: TDengine answers 9800 "Invalid password"
TOKEN = "kube-token-secret-9f1e"
SECRETS = (FIRST, SECOND, BY_HAND, WEAK, TOKEN)
NS, STS = "tdengine-test", "tdengine"
DECOMMISSION, MEMBERSHIP = "DnodeDecommission", "ClusterMembership"
TYPE = {
    DECOMMISSION: "pulumi-python:dynamic/tdengine:DnodeDecommission",
    MEMBERSHIP: "pulumi-python:dynamic/tdengine:ClusterMembership",
}


def alter(password: str) -> str:
    return f"alter user root pass '{password}'"


def assert_absent(text: str, *secrets: str) -> None:
    for secret in secrets or SECRETS:
        assert secret not in text, f"{secret!r} leaked into: {text[:2000]}"


def alters(sim: SimCluster) -> list[str]:
    return [m for m in sim.mutations() if m.startswith("alter user")]


# -- the engine's rules for what it stores encrypted --------------------------------------------------------
def contains_secrets(value: Any) -> bool:
    if rpc.is_rpc_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secrets(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secrets(v) for v in value)
    return False


def secret(value: Any) -> dict[str, Any]:
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


def annotate_secrets(outs: dict[str, Any], ins: dict[str, Any]) -> dict[str, Any]:
    """pulumi/pulumi pkg/resource/plugin/provider_plugin.go `annotateSecrets`, which the engine runs on the
    outputs of a provider that does not accept secrets (the dynamic host): an output is made secret when
    the input of the same name contains a secret (objects recurse)."""
    out = dict(outs)
    for key, in_value in ins.items():
        if key not in out:
            continue
        value = out[key]
        if isinstance(value, dict) and isinstance(in_value, dict) and not rpc.is_rpc_secret(in_value):
            out[key] = annotate_secrets(value, in_value)
        elif not rpc.is_rpc_secret(value) and contains_secrets(in_value):
            out[key] = secret(value)
    return out


def engine_view(outs: dict[str, Any], registered: Any) -> dict[str, Any]:
    """The outputs as the engine checkpoints them: `annotateSecrets` against the inputs the program
    registered, then every `additionalSecretOutputs` key made secret."""
    view = annotate_secrets(outs, registered.inputs)
    return {k: secret(v) if k in registered.additional_secret_outputs and not rpc.is_rpc_secret(v) else v
            for k, v in view.items()}  # fmt: skip


def plaintext(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every value the state would hold unencrypted."""
    if rpc.is_rpc_secret(value):
        return
    if isinstance(value, (dict, list)) and not value:
        yield path, json.dumps(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from plaintext(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from plaintext(v, f"{path}[{i}]")
    else:
        yield path, json.dumps(value)


# -- the program: what it registers with the engine ----------------------------------------------------------
@pytest.fixture(scope="module")
def program():
    """The real program with a configured password and kubeconfig, both secret stack config."""
    config = {
        **stack_config("dev"),
        "tdengine:rootPassword": SECOND,
        "tdengine:kubeconfig": f"apiVersion: v1\nusers:\n- name: u\n  user:\n    token: {TOKEN}\n",
    }
    return run_program(config, secret_keys=("tdengine:rootPassword", "tdengine:kubeconfig"))


def test_serialized_providers_hold_no_secret(program):
    """(a) `__provider`, decoded: a reference to the class, no attribute, not even the secret in bytes."""
    for name in (DECOMMISSION, MEMBERSHIP):
        blob = program.monitor.one(TYPE[name]).inputs["__provider"]
        assert isinstance(blob, str)  # stored as is: not secret-wrapped, so it must hold nothing secret
        raw = base64.b64decode(blob)
        for s in (SECOND, TOKEN):
            assert s.encode() not in raw
        instance = dill.loads(raw)
        assert type(instance).__module__ == "components.membership.provider" and vars(instance) == {}
        assert blob == provider_blob(type(instance)())  # the same constant string the host test sends


def test_every_registration_holds_the_secrets_only_encrypted(program):
    """(b, program side) Every input of every resource, the component's outputs and the stack exports:
    the password and kubeconfig appear only inside secret values."""
    monitor = program.monitor
    values: list[tuple[str, Any]] = [(r.name, r.inputs) for r in monitor.registered]
    values += list(monitor.outputs.items())
    found = [(name, path) for name, v in values for path, text in plaintext(v) for s in (SECOND, TOKEN) if s in text]
    assert found == []
    carrying = {r.name for r in monitor.registered if contains_secrets(r.inputs)}
    assert carrying >= {"tdengine-decommission", "tdengine-membership", "tdengine-root", "kubernetes"}
    for name in (DECOMMISSION, MEMBERSHIP):
        registered = monitor.one(TYPE[name])
        assert {k for k, v in registered.inputs.items() if contains_secrets(v)} == {"rootPassword", "kubeconfig"}
        assert set(registered.additional_secret_outputs) == {"rootPassword", "kubeconfig"}


# -- the providers against the simulator, in the engine's order (in-process) ------------------------------
@pytest.fixture
def default_sim():
    """A cluster from an image that ignores TAOS_ROOT_PASSWORD: root still has the default password."""
    with SimCluster(migration_seconds=0.05) as sim:
        sim.bootstrap(3)
        yield sim
        assert sim.violations == []


def test_default_password_is_replaced_on_create(default_sim, capfd):
    sim = default_sim
    engine = Engine(sim)
    outs = engine.up(3, rootPassword=FIRST)
    assert sim.password == FIRST
    assert alters(sim) == [alter(FIRST)] and sim.mutations()[0] == alter(FIRST)  # before anything else
    assert len(sim.mnodes()) == 3
    with pytest.raises(TDengineError) as refused:
        AdminClient(sim.url, "taosdata").query("show dnodes")
    assert refused.value.code == 855  # the public default no longer logs in
    err = capfd.readouterr().err
    assert "the cluster still uses TDengine's default password (taosdata)" in err
    assert "the cluster accepts the configured rootPassword" in err
    assert_absent(err)
    assert outs["rootPassword"] == FIRST  # for the next rotation; stored encrypted (see the host test)

    engine.up(3, rootPassword=FIRST)
    assert alters(sim) == [alter(FIRST)]  # converged: no second change


def test_changing_the_password_rotates_it_before_the_statefulset(capfd):
    with SimCluster(root_password=FIRST, migration_seconds=0.05) as sim:  # an image that applied it
        sim.bootstrap(3)
        engine = Engine(sim)
        engine.up(3, rootPassword=FIRST)
        assert alters(sim) == []  # the configured password already works: nothing to change

        news = props(sim, 3, rootPassword=SECOND)
        assert provider._diff(engine.decommission_outs, news).changes is True  # a password change is an update
        engine.decommission_outs = engine.decommission.update("id", engine.decommission_outs, news).outs
        assert sim.password == SECOND and alters(sim) == [alter(SECOND)]  # by DnodeDecommission, first
        engine.membership_outs = engine.membership.update("id", engine.membership_outs, news).outs
        assert alters(sim) == [alter(SECOND)]  # ClusterMembership finds it done
        with pytest.raises(TDengineError):
            AdminClient(sim.url, FIRST).query("show dnodes")

        engine.up(4, rootPassword=SECOND)  # the new password carries on: a scale-up with it
        assert {d["endpoint"].split(".")[0] for d in sim.dnodes()} == {f"tdengine-{i}" for i in range(4)}
        assert [o["rootPassword"] for o in (engine.decommission_outs, engine.membership_outs)] == [SECOND] * 2
        assert sim.violations == []
    err = capfd.readouterr().err
    assert "the cluster still uses the previous rootPassword recorded in the state" in err
    assert_absent(err)


def test_a_rotation_interrupted_after_alter_user_resumes_as_a_no_op(default_sim):
    sim = default_sim
    engine = Engine(sim)
    engine.up(3, rootPassword=FIRST)
    recorded = dict(engine.decommission_outs)
    engine.decommission.update("id", recorded, props(sim, 3, rootPassword=SECOND))  # then the run dies:
    assert sim.password == SECOND  # the state still records FIRST for both resources
    engine.decommission_outs = recorded
    outs = engine.up(3, rootPassword=SECOND)
    assert alters(sim) == [alter(FIRST), alter(SECOND)]  # nothing sent again
    assert outs["rootPassword"] == SECOND and engine.decommission_outs["rootPassword"] == SECOND


def test_no_known_password_works_is_a_clear_error_that_changes_nothing(default_sim, capfd):
    sim = default_sim
    engine = Engine(sim)
    engine.up(3, rootPassword=FIRST)
    sim.set_root_password(BY_HAND)  # changed in a taos shell, not through the stack
    before = sim.mutations()
    with pytest.raises(TDengineError) as err:
        engine.up(3, rootPassword=SECOND)
    text = str(err.value)
    assert err.value.code == 855
    assert "accepts neither the rootPassword in stack config, nor the previous rootPassword recorded in the" in text
    assert "nor TDengine's default password" in text and "so nothing was changed" in text
    assert "Fix: set rootPassword to the cluster's current root password" in text
    assert_absent(text + capfd.readouterr().err)
    assert sim.mutations() == before and sim.password == BY_HAND


def test_a_password_tdengine_refuses_fails_without_showing_it(default_sim, capfd):
    """The provider does not validate (ClusterArgs does, for stack config); TDengine's own refusal of the
    `alter user` statement must still not show the password."""
    sim = default_sim
    with pytest.raises(ConfigError):
        ClusterArgs(root_password=WEAK)
    with pytest.raises(ClusterError) as err:
        Engine(sim).up(3, rootPassword=WEAK)
    text = str(err.value)
    assert "changing it from TDengine's default password (taosdata) failed" in text
    assert "(9800): Invalid password (statement: alter user root pass '<redacted>')" in text
    assert "Fix: set rootPassword to one TDengine accepts" in text
    assert_absent(text + capfd.readouterr().err)
    assert sim.password == "taosdata" and sim.mutations() == [alter(WEAK)]  # nothing else was sent


def test_a_lost_answer_to_alter_user_is_checked_not_assumed(default_sim, capfd):
    """HTTP 500 instead of an answer: the statement did not run, the check after it fails with the fix;
    a timeout: the statement ran, the check finds the new password working and carries on."""
    sim = default_sim
    sim.faults.http_error(500, pattern="alter user")
    with pytest.raises(ClusterError) as err:
        Engine(sim).up(3, rootPassword=FIRST)
    text = str(err.value)
    assert "still refuses the configured rootPassword. Nothing else was changed. Fix: re-run" in text
    assert sim.password == "taosdata" and len(sim.mnodes()) == 1  # the 500 came without executing it

    sim.faults.delay("alter user", seconds=1.5)  # past the 1 s statement timeout of tests/engine.py
    Engine(sim).up(3, rootPassword=FIRST)
    assert sim.password == FIRST and len(sim.mnodes()) == 3
    out = capfd.readouterr().err
    assert "answered HTTP 500 (internal error) to: alter user root pass '<redacted>'" in out
    assert "alter user root pass '<redacted>' (the statement may still be running); checking whether" in out
    assert_absent(text + out)


def test_server_errors_quoting_the_statement_are_scrubbed(default_sim):
    """TDengine's parser errors quote the statement back (`syntax error near "..."`)."""
    with pytest.raises(TDengineError) as err:
        AdminClient(default_sim.url, "taosdata").execute(f"alter user 1root pass '{FIRST}'")
    assert err.value.code == 9728
    assert str(err.value) == (
        "TDengine error 0x2600 (9728): syntax error near \"1root pass '<redacted>'\" "
        "(statement: alter user 1root pass '<redacted>')"
    )


def test_reprs_hold_no_secret(default_sim):
    p = MembershipProps.from_inputs(props(default_sim, 3, rootPassword=FIRST, kubeconfig=TOKEN))
    assert_absent(repr(p) + repr(p.connection()) + repr(AdminClient(default_sim.url, FIRST)))


# -- the REAL dynamic-provider host, over gRPC --------------------------------------------------------------
@pytest.fixture
def hosted():
    sim = SimCluster(namespace=NS, statefulset=STS, root_password="taosdata", migration_seconds=0.05)
    sim.start()
    api = FakeKubeApi(sim.kube, NS, STS, ["taosdata"], token=TOKEN)
    try:
        sim.bootstrap(3)
        yield sim, api
    finally:
        api.close()
        sim.stop()


def host_props(sim: SimCluster, api: FakeKubeApi, name: str, password: str) -> dict[str, Any]:
    provider_class = provider.DnodeDecommissionProvider if name == DECOMMISSION else provider.ClusterMembershipProvider
    return {
        **props(sim, 3, rootPassword=password, kubeconfig=api.kubeconfig(), kubeContext=""),
        "__provider": provider_blob(provider_class()),
    }


def test_outputs_through_the_real_host_hold_the_password_only_where_the_engine_encrypts_it(hosted, program):
    """(b) create (default replaced), update (rotated), update with no known password (error), delete;
    (c) the host's stderr; (d) the gRPC error details."""
    sim, api = hosted
    config = {"tdengine:rootPassword": FIRST, "tdengine:kubeconfig": api.kubeconfig()}
    answers: list[tuple[str, str, dict[str, Any]]] = []
    with ProviderHost(config) as host:
        dec = host.create(DECOMMISSION, "d", host_props(sim, api, DECOMMISSION, FIRST))
        mem = host.create(MEMBERSHIP, "m", host_props(sim, api, MEMBERSHIP, FIRST))
        answers += [
            (DECOMMISSION, FIRST, from_struct(dec.properties)),
            (MEMBERSHIP, FIRST, from_struct(mem.properties)),
        ]
        assert sim.password == FIRST and alters(sim) == [alter(FIRST)]

        old_dec, old_mem = answers[0][2], answers[1][2]
        dec2 = host.update(DECOMMISSION, "d", dec.id, old_dec, host_props(sim, api, DECOMMISSION, SECOND))
        mem2 = host.update(MEMBERSHIP, "m", mem.id, old_mem, host_props(sim, api, MEMBERSHIP, SECOND))
        answers += [(DECOMMISSION, SECOND, from_struct(dec2.properties))]
        answers += [(MEMBERSHIP, SECOND, from_struct(mem2.properties))]
        assert sim.password == SECOND and alters(sim) == [alter(FIRST), alter(SECOND)]

        sim.set_root_password(BY_HAND)
        with pytest.raises(grpc.RpcError) as caught:
            host.update(MEMBERSHIP, "m", mem.id, answers[-1][2], host_props(sim, api, MEMBERSHIP, FIRST))
        details = caught.value.details()
        assert caught.value.code() == grpc.StatusCode.UNKNOWN and "Authentication failure" in details

        host.delete(DECOMMISSION, "d", dec.id, answers[2][2])
        stderr = host.stderr_text()

    assert "root password: the cluster still uses TDengine's default password (taosdata)" in stderr
    assert "root password: the cluster still uses the previous rootPassword recorded in the state" in stderr
    assert_absent(stderr + details)

    for name, password, outs in answers:
        assert "kubeconfig" not in outs and outs["kubeconfigSet"] is True
        assert outs["rootPassword"] == password  # plain to the host: the engine strips secrets for it...
        stored = engine_view(outs, program.monitor.one(TYPE[name]))
        assert {k for k, v in stored.items() if rpc.is_rpc_secret(v)} == {"rootPassword"}  # ...and encrypts it
        assert_absent(json.dumps(list(plaintext(stored))))
        assert {path.split(".")[0].split("[")[0] for path, _ in plaintext(stored)} == set(outs) - {"rootPassword"}


# -- render -------------------------------------------------------------------------------------------------
def test_render_never_shows_configured_secrets(tmp_path):
    """(e) `python -m components render` for a stack with secure values and, carelessly, a plain one."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "components", project / "components", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "Pulumi.yaml", project)
    ciphertext = "AAABAHNlY3VyZS1jaXBoZXJ0ZXh0LTRhNmI="
    config = {
        "tdengine:namespace": "prod",
        "tdengine:rootPassword": {"secure": ciphertext},
        "tdengine:kubeconfig": {"secure": ciphertext + "k"},
    }
    (project / "Pulumi.prod.yaml").write_text(yaml.safe_dump({"config": config}))
    careless = {**config, "tdengine:rootPassword": FIRST, "tdengine:kubeconfig": f"token: {TOKEN}"}
    (project / "Pulumi.careless.yaml").write_text(yaml.safe_dump({"config": careless}))

    for stack in ("prod", "careless"):
        out_dir = tmp_path / stack
        runs = [
            subprocess.run(
                [sys.executable, "-m", "components", "render", "--stack", stack, *extra],
                cwd=project,
                capture_output=True,
                text=True,
                timeout=60,
            )
            for extra in ([], ["--out", str(out_dir)])
        ]
        for run in runs:
            assert run.returncode == 0, run.stderr
        written = "".join(p.read_text() for p in sorted(out_dir.iterdir()))
        text = "".join(r.stdout + r.stderr for r in runs) + written
        assert_absent(text, FIRST, TOKEN, ciphertext)
        docs = list(yaml.safe_load_all(runs[0].stdout))
        assert [d for d in docs if d["kind"] == "Secret"] == []  # no Secret at all, so no password, real or fake
        assert not any(k in text for k in ("stringData", "<redacted>"))
        sts = next(d for d in docs if d["kind"] == "StatefulSet")
        env = {e["name"]: e for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["TAOS_ROOT_PASSWORD"] == {
            "name": "TAOS_ROOT_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "tdengine-root", "key": "TAOS_ROOT_PASSWORD"}},
        }  # by reference only; the header shows the `kubectl create secret` for it, with no value
        assert '--from-literal=TAOS_ROOT_PASSWORD="$TAOS_ROOT_PASSWORD"' in runs[0].stdout
        assert docs[0]["metadata"]["name"] == "prod"  # the stack's other values were read
