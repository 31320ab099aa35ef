"""CI sets up and tests exactly as the README's "Tests" section says, and that set-up is one script."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from tests.harness import ROOT

SETUP = "scripts/dev-setup"
TEST = "venv/bin/python -m pytest"
INSTALL = "venv/bin/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt"
CHECKS = ["venv/bin/ruff check .", "venv/bin/ruff format --check .", "venv/bin/lint-imports", "venv/bin/mypy"]
"""Lint, format, the import-linter layers and mypy: what CI runs between the set-up and the tests."""


def _fast_tier_blocks() -> list[list[str]]:
    """The commands of each bash block of the README's "Tests" section, before the e2e tier's part."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Tests\n", 1)[1].split("\n## ", 1)[0].split("<!-- tests-e2e -->", 1)[0]
    blocks = [part.split("```", 1)[0] for part in section.split("```bash\n")[1:]]
    return [[line.split("#", 1)[0].strip() for line in b.splitlines() if line.strip()] for b in blocks]


E2E = ["scripts/e2e-tools", "venv/bin/python -m pytest --e2e --real tests/real tests/e2e"]
"""The end-to-end tier: build the toolchain (cached), then its tests."""


def _ci_commands() -> list[str]:
    """`.ci/run`'s commands, without its `timed` wrapper, its helpers and a package install."""
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    skip = ("#", "set ", "cd ", "timed()", "command -v ")
    return [line.removeprefix("timed ") for line in lines if line and not line.startswith(skip)]


def _e2e_block() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Tests\n", 1)[1].split("\n## ", 1)[0].split("<!-- tests-e2e -->", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_tests_section_is_one_set_up_command_then_the_test_command():
    assert _fast_tier_blocks()[0] == [SETUP, TEST]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Tests\n", 1)[1].split("\n## ", 1)[0]
    assert "<!-- tests-fast -->" in section and "<!-- tests-e2e -->" in section  # markers the e2e tier fills in


def test_the_readme_documents_the_checks_ci_runs():
    assert _fast_tier_blocks()[1:] == [CHECKS]


def test_ci_sets_up_checks_and_tests_as_the_readme_says():
    ci = _ci_commands()
    assert ci[0] == SETUP and ci[1 : 1 + len(CHECKS)] == CHECKS  # set up, then every documented check, in order
    assert ci[1 + len(CHECKS) :] == [TEST, *E2E]  # the fast tier, then the end-to-end tier, last
    assert INSTALL not in ci  # the one set-up command, not a copy of what it does


def test_the_readme_documents_the_end_to_end_tier_as_ci_runs_it():
    assert _e2e_block() == E2E
    run = (ROOT / ".ci" / "run").read_text()
    assert (
        "timed scripts/e2e-tools" in run and "timed venv/bin/python -m pytest --e2e --real tests/real tests/e2e" in run
    )


def test_the_checks_are_configured_and_their_tools_pinned():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "[tool.mypy]" in pyproject and "strict = true" in pyproject
    assert "[tool.importlinter]" in pyproject and 'type = "layers"' in pyproject and 'type = "forbidden"' in pyproject
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert all(f"{tool}==" in dev for tool in ("ruff", "mypy", "import-linter"))


def test_the_set_up_script_builds_the_venv_from_the_dev_requirements():
    script = ROOT / SETUP
    assert os.access(script, os.X_OK), f"{SETUP} must be executable"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
    assert INSTALL in text and "-m venv venv" in text
    syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert syntax.returncode == 0, syntax.stderr


def test_the_set_up_script_refuses_a_python_that_is_too_old(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / SETUP, tmp_path / SETUP)  # a copy: it works in the directory above its own
    fake = tmp_path / "python-old"
    fake.write_text("#!/bin/sh\nif [ \"$1\" = -V ]; then echo 'Python 3.8.10'; exit 0; fi\nexit 1\n")
    fake.chmod(0o755)
    done = subprocess.run(
        ["bash", str(tmp_path / SETUP)],
        env={"PATH": "/usr/bin:/bin", "PYTHON": str(fake)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and "Python 3.11 or newer" in done.stderr and "Python 3.8.10" in done.stderr
    assert not (tmp_path / "venv").exists()


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_links_between_the_readme_and_docs_resolve():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert [p.name for p in pages[1:]] == [
        "architecture.md",
        "benchmarks.md",
        "changes.md",
        "e2e.md",
        "internals.md",
        "operations.md",
        "seed.md",
        "testing.md",
        "upgrading.md",
    ]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+://", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.is_file(), f"{page.name}: link to missing {target}"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), flags=re.M)
                assert anchor in {_anchor(h) for h in headings}, f"{page.name}: no heading for {target}"


def test_direct_dependencies_are_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r")):
                assert "==" in line, f"{name}: {line} is not pinned"
