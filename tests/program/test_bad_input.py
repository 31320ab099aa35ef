"""Bad input: every setting has invalid values, each gets one clear error, and docs/testing.md shows them all.

The cases and the table generator live in `tests/program/bad_input.py`; the table in docs/testing.md is its output, and
the README's configuration section links to it.
"""

from __future__ import annotations

import pytest

from components.args import ALL_SETTINGS, SECRET_SETTINGS
from tests.harness import ROOT
from tests.program.bad_input import CASES, Case, problems, table

REGENERATE = "venv/bin/python -m tests.program.bad_input"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_bad_value_gets_one_error_naming_the_key_and_what_is_allowed(case: Case):
    got = problems(case)
    assert len(got) == 1, got
    assert case.expect in got[0]
    assert got[0].startswith(f"{case.key}: ")
    if case.key in {s.key for s in SECRET_SETTINGS}:
        assert got[0].startswith(f"{case.key}: <secret> ")
        if isinstance(case.value, str) and case.value.strip():
            assert case.value not in got[0]


def test_every_setting_has_an_invalid_value_case():
    """A new setting needs a case in tests/program/bad_input.py CASES (and the docs/testing.md table regenerated)."""
    missing = [s.key for s in ALL_SETTINGS if s.key not in {c.key for c in CASES}]
    assert missing == [], (
        f"no invalid-value case for {missing}: add one to tests/program/bad_input.py, then run {REGENERATE}"
    )


def test_the_documented_bad_input_table_is_the_generated_one():
    testing = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    assert "\n## Bad input\n" in testing, "docs/testing.md has lost its ## Bad input section"
    section = testing.split("\n## Bad input\n", 1)[1].split("\n## ", 1)[0]
    documented = "".join(line + "\n" for line in section.splitlines() if line.startswith("|"))
    assert documented == table(), f"docs/testing.md's Bad input table is stale: run {REGENERATE} and paste its output"


def test_the_readme_configuration_links_to_the_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    configuration = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    assert "(docs/testing.md#bad-input)" in configuration


def test_the_table_shows_what_the_user_gets():
    """The generator's own contract: one row per case, the real message in it, secrets as <secret>."""
    rows = table().splitlines()[2:]
    assert len(rows) == len(CASES)
    row = next(r for r in rows if r.startswith("| rootPassword | `abcdefgh1` |"))
    assert "`rootPassword: <secret> is not a strong password;" in row and "?\\|~,." in row  # '|' escaped
    fake = Case("replicas", "7|x", "")
    assert table([fake]).splitlines()[2] == "| replicas | `7\\|x` | `replicas: '7\\|x' is not an integer` |"
