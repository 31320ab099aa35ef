"""Shared pytest hooks: lines that tests want printed in the terminal summary (e.g. property-test counts)."""

from __future__ import annotations

import pytest

_SUMMARY = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def property_summary(pytestconfig: pytest.Config) -> list[str]:
    """Append a line here to have it printed after the test results, even with -q."""
    return pytestconfig.stash.setdefault(_SUMMARY, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for line in config.stash.get(_SUMMARY, []):
        terminalreporter.write_line(line)
