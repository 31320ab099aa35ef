"""CI runs exactly the test command the README documents."""

from __future__ import annotations

from tests.harness import ROOT


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = readme.split("The test command", 1)[1].split("```bash\n", 1)[1].split("\n", 1)[0]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert command == "venv/bin/python -m pytest"
    assert ci[-1] == command
    assert "venv/bin/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt" in ci


def test_direct_dependencies_are_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r")):
                assert "==" in line, f"{name}: {line} is not pinned"
