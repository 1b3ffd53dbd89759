"""Reliability suite: prints the counts it gathered (fuzz cases, soak operations, kills survived, losses).

Every test here checks a promise about not losing or corrupting work, so each failed test is counted as a
loss in the summary line; `losses 0` means every promise held in this run.
"""
from __future__ import annotations

from tests.reliability import tally


def pytest_runtest_logreport(report):
    """Count failed reliability tests (this hook only sees the items under this folder)."""
    if report.failed and report.when == "call":
        tally.add("losses")


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 - pytest hook signature
    line = tally.summary()
    if line:
        terminalreporter.write_sep("-", "reliability counts")
        terminalreporter.write_line(line)
