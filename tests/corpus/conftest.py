"""The corpus session: one copy of the projects, one uv-lambda cache (the suite's) and uv's
own download cache for every case, and a count of the projects that passed at the end."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest

PROJECTS = Path(__file__).resolve().parent / "projects"

# project -> outcome of each of its cases ("passed" when built and invoked as expected)
_OUTCOMES: dict[str, list[bool]] = defaultdict(list)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of tests/corpus/projects/: builds never write into the repository."""
    target = tmp_path_factory.mktemp("corpus") / "projects"
    shutil.copytree(PROJECTS, target, ignore=shutil.ignore_patterns("dist", ".venv", "__pycache__"))
    return target


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "test_corpus.py::test_project[" not in report.nodeid or report.skipped:
        return  # skipped: this machine lacks the case's interpreter
    if report.when == "call" or (report.when == "setup" and not report.passed):
        case = report.nodeid.partition("[")[2].rstrip("]")
        _OUTCOMES[case.partition("@")[0]].append(report.passed)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _OUTCOMES:
        return
    passed = sum(all(outcomes) for outcomes in _OUTCOMES.values())
    cases = sum(len(outcomes) for outcomes in _OUTCOMES.values())
    good_cases = sum(sum(outcomes) for outcomes in _OUTCOMES.values())
    terminalreporter.write_line(
        f"corpus: {passed}/{len(_OUTCOMES)} projects built and invoked ({good_cases}/{cases} cases passed)"
    )
