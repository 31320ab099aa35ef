"""Shared pytest hooks: lines that tests want printed in the terminal summary (e.g. property-test counts), the
end-to-end tier (tests/e2e), which runs only with `--e2e` (README, "Tests"), and the differential test against a
real TDengine build (tests/real), which runs only with `--real` (docs/testing.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parent / "e2e"
REAL = Path(__file__).resolve().parent / "real"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--e2e",
        action="store_true",
        help="also collect tests/e2e: the real Pulumi CLI and Kubernetes control plane (scripts/e2e-tools first)",
    )
    parser.addoption(
        "--real",
        action="store_true",
        help="also collect tests/real: the simulator against a real TDengine 3.3.7.5 cluster (as root)",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    for folder, option in ((E2E, "--e2e"), (REAL, "--real")):
        if not config.getoption(option) and (collection_path == folder or folder in collection_path.parents):
            return True
    return None


_SUMMARY = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def property_summary(pytestconfig: pytest.Config) -> list[str]:
    """Append a line here to have it printed after the test results, even with -q."""
    return pytestconfig.stash.setdefault(_SUMMARY, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for line in config.stash.get(_SUMMARY, []):
        terminalreporter.write_line(line)
