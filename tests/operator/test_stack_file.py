"""The stack file a user edits stays theirs: the first use of a stack, `scale` and `init` keep its comments and
YAML types, and a new stack starts without another stack's encryption salt (its passphrase could not open it)."""

from __future__ import annotations

import io
from pathlib import Path

import yaml
from pulumi import automation as auto

from components.automation import ClusterStack, StackTarget
from components.cli.app import main
from components.cli.runtime import OK, USAGE, Runtime
from components.stack_file import new_stack, restore, set_value
from tests.fake_pulumi import FakeFactory, FakeStack
from tests.harness import SEED_STACK

SEED_TEXT = "# the seed's cluster\nconfig:\n" + "".join(
    f"  {k}: {v}\n" for k, v in SEED_STACK.items()
)  # what a user sees: comments, `replicas: 3` an integer
SALT = "v1:8qUt6Bf4+ME=:v1:WsoxlDh7a4YF1h0y:4r0b0Ld8YZlf0Abc/fqrdPsu2E1gDw=="


def cli_rewrite(text: str, **added: str) -> str:
    """What the Pulumi CLI (3.274) writes when it saves a stack file: no comments, every value a string."""
    doc = yaml.safe_load(text)
    doc["config"] = {k: v if isinstance(v, dict) else str(v) for k, v in doc["config"].items()}
    return yaml.safe_dump({**added, **doc}, default_flow_style=False)


class SaltingFactory(FakeFactory):
    """Creates the stack the way `pulumi stack init` does with a passphrase: it saves the file with its salt."""

    def __call__(self, target: StackTarget, inline: object, opts: auto.LocalWorkspaceOptions) -> FakeStack:
        path = Path(str(target.project_dir)) / f"Pulumi.{target.stack}.yaml"
        path.write_text(cli_rewrite(path.read_text(), encryptionsalt=SALT))
        return super().__call__(target, inline, opts)  # type: ignore[arg-type]


def test_the_first_use_of_a_stack_adds_only_its_salt(tmp_path):
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(SEED_TEXT)
    ClusterStack.open(StackTarget("dev", project_dir=tmp_path), factory=SaltingFactory(FakeStack("dev")))
    text = stack_file.read_text()
    assert text.startswith(SEED_TEXT)  # comments, order and `replicas: 3` as written
    assert yaml.safe_load(text) == {"config": SEED_STACK, "encryptionsalt": SALT}


def test_a_rewrite_that_changed_a_setting_is_the_clis_to_keep():
    changed = cli_rewrite(SEED_TEXT.replace("replicas: 3", "replicas: 4"))
    assert restore(SEED_TEXT, changed) is None
    assert restore(SEED_TEXT, cli_rewrite(SEED_TEXT)) == SEED_TEXT


def test_scale_in_a_project_directory_writes_replicas_as_an_integer(tmp_path):
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(SEED_TEXT)
    fake = FakeStack("dev")
    opened = ClusterStack.open(StackTarget("dev", project_dir=tmp_path), factory=FakeFactory(fake))
    opened.scale(4)
    assert stack_file.read_text() == SEED_TEXT.replace("tdengine:replicas: 3", "tdengine:replicas: 4")
    assert not [c for c in fake.calls if c[0] == "set_all_config"] and fake.operations() == ["up"]


def test_set_value_adds_a_missing_key_with_its_type():
    text = set_value("config:\n  tdengine:namespace: a\n", "tdengine", "replicas", 5)
    assert yaml.safe_load(text) == {"config": {"tdengine:replicas": 5, "tdengine:namespace": "a"}}
    assert yaml.safe_load(set_value("", "tdengine", "replicas", 5)) == {"config": {"tdengine:replicas": 5}}


def run_cli(tmp_path: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    runtime = Runtime(factory=FakeFactory(FakeStack("x")), env={}, home=tmp_path, stdout=out, stderr=err)
    return main([*argv, "--project-dir", str(tmp_path)], runtime), out.getvalue(), err.getvalue()


def test_init_starts_a_stack_from_a_used_one_without_its_salt_or_secrets(tmp_path):
    """`cp Pulumi.dev.yaml Pulumi.prod.yaml` after dev was used carries dev's salt: 'incorrect passphrase'."""
    used = SEED_TEXT + f"  tdengine:rootPassword:\n    secure: v1:abc\nencryptionsalt: {SALT}\n"
    (tmp_path / "Pulumi.dev.yaml").write_text(used)
    code, out, err = run_cli(tmp_path, "init", "--stack", "prod")
    assert code == OK, err
    written = yaml.safe_load((tmp_path / "Pulumi.prod.yaml").read_text())
    assert written == {"config": SEED_STACK}  # the settings, `replicas` still an integer; no salt, no secret
    assert "not copied (encrypted for dev): rootPassword" in out
    code, _out, err = run_cli(tmp_path, "init", "--stack", "prod")
    assert code == USAGE and "Pulumi.prod.yaml exists already" in err


def test_init_from_a_stack_that_does_not_exist_names_those_that_do(tmp_path):
    (tmp_path / "Pulumi.dev.yaml").write_text(SEED_TEXT)
    code, _out, err = run_cli(tmp_path, "init", "--stack", "prod", "--from", "staging")
    assert code == USAGE and "no stack file Pulumi.staging.yaml" in err and "(stacks: dev)" in err
    assert not (tmp_path / "Pulumi.prod.yaml").exists()


def test_new_stack_keeps_the_settings_of_its_source():
    text, secure = new_stack(SEED_TEXT, "Pulumi.dev.yaml", "prod")
    assert yaml.safe_load(text) == {"config": SEED_STACK} and secure == []
