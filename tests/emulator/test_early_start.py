"""The next environment started while a function is rebuilt (`serve --watch`,
emulator/early_start.py): its runtime waits at its gate until the new tree is in place, then
imports the new code; anything that does not fit falls back to a fresh environment."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_helpers import write_zip

from uv_lambda.config import FunctionConfig
from uv_lambda.emulator.early_start import EarlyStart, _top_names
from uv_lambda.emulator.function import LocalFunction, RunOptions, start_early
from uv_lambda.emulator.runtime_folder import installed_runtime_folder, runtime_folder_intact
from uv_lambda.emulator.sandbox import bwrap_problem
from uv_lambda.emulator.unpack_cache import finish_background_work
from uv_lambda.model import Function

SOURCE = """
import sys
MESSAGE = {message!r}

def handler(event, context):
    return {{"message": MESSAGE, "start": sys.orig_argv[3]}}
"""
SETTINGS = Function.configured(FunctionConfig(name="early", handler="app.handler", runtime="python3.13"))
OPTIONS = RunOptions(sandbox="require")

sandboxed = pytest.mark.skipif(bwrap_problem()[0] is None, reason="an early start needs the sandbox")


def _open(code: Path, early: EarlyStart | None = None, settings: Function = SETTINGS) -> LocalFunction:
    return LocalFunction.open(settings, code, (), OPTIONS, early)


@pytest.fixture
def first(tmp_path: Path) -> Iterator[tuple[Path, LocalFunction]]:
    code = write_zip(tmp_path / "function.zip", {"app.py": SOURCE.format(message="first")})
    function = _open(code)
    finish_background_work()  # the draft of its tree is linked
    yield code, function
    function.close()


def _payload(function: LocalFunction) -> dict[str, str]:
    result = function.invoke(b"{}")
    assert not result.function_error, result.payload
    document: dict[str, str] = json.loads(result.payload)
    return document


@sandboxed
def test_the_next_environment_starts_during_the_rebuild_and_runs_the_new_code(
    first: tuple[Path, LocalFunction],
) -> None:
    code, function = first
    assert _payload(function)["message"] == "first"
    early = EarlyStart.replacing(function)
    write_zip(code, {"app.py": SOURCE.format(message="second")})  # the rebuild
    replacement = _open(code, early)
    try:
        assert replacement.spec.layout.changed == {"task/app.py"}
        replacement.prewarm(early).result(timeout=60)
        assert early.adopted
        result = replacement.invoke(b"{}")
        assert json.loads(result.payload) == {"message": "second", "start": "sandbox-gated"}
        assert replacement.pool.environments_started == 1  # the one started early
        init = re.search(r"Init Duration: ([\d.]+) ms", result.log)
        assert result.cold_start and init is not None and float(init.group(1)) > 0
        # The replaced function keeps its own tree.
        assert _payload(function)["message"] == "first"
    finally:
        replacement.close()


@sandboxed
def test_a_changed_module_the_runtime_client_imported_starts_the_runtime_afresh(
    first: tuple[Path, LocalFunction],
) -> None:
    code, function = first
    early = EarlyStart.replacing(function)
    write_zip(code, {"app.py": SOURCE.format(message="second")})
    replacement = _open(code, early)
    try:
        # As if the rebuild had changed a module named like one the runtime client imports.
        layout = dataclasses.replace(replacement.spec.layout, changed=frozenset({"task/app.py", "task/json.py"}))
        spec = dataclasses.replace(replacement.spec, layout=layout)
        replacement.pool.prewarm(lambda: early.adopt(spec)).result(timeout=60)
        assert early.adopted
        assert _payload(replacement) == {"message": "second", "start": "sandbox"}  # exec'd ungated
    finally:
        replacement.close()


@sandboxed
def test_an_environment_that_does_not_fit_is_replaced_by_a_fresh_one(first: tuple[Path, LocalFunction]) -> None:
    code, function = first
    early = EarlyStart.replacing(function)
    write_zip(code, {"app.py": SOURCE.format(message="second")})
    changed = Function.configured(dataclasses.replace(SETTINGS.config, memory=256))  # a setting changed
    replacement = _open(code, early, changed)
    try:
        replacement.prewarm(early).result(timeout=60)
        assert not early.adopted
        assert _payload(replacement) == {"message": "second", "start": "sandbox"}
        assert replacement.pool.environments_started == 1
    finally:
        replacement.close()


def test_top_level_names_of_changed_files() -> None:
    changed = frozenset(
        {
            "task/app/main.py",
            "task/app/__pycache__/main.cpython-313.pyc",
            "task/util.py",
            "task/_speedups.cpython-313-x86_64-linux-gnu.so",
            "opt",
            "opt/python/lib/python3.13/site-packages/requests/api.py",
            "opt/python/helpers.py",
        }
    )
    assert _top_names(changed) == {"app", "util", "_speedups", "lib", "requests", "helpers"}
    assert _top_names(frozenset({"task/app.py", "opt/lib/libfoo.so"})) is None  # not imported by name
    assert _top_names(None) is None


ONE_SHOT = RunOptions(sandbox="require", draft=False)


@sandboxed
@pytest.mark.parametrize("edited", [True, False], ids=["after-an-edit", "nothing-changed"])
def test_a_one_shot_run_starts_its_environment_before_the_rebuild(tmp_path: Path, edited: bool) -> None:
    code = write_zip(tmp_path / "function.zip", {"app.py": SOURCE.format(message="first")})
    with LocalFunction.open(SETTINGS, code, (), ONE_SHOT) as function:  # `invoke`: its tree stays, unheld
        assert _payload(function)["message"] == "first"
    early = start_early(SETTINGS, code, [], ONE_SHOT)
    message = "second" if edited else "first"
    write_zip(code, {"app.py": SOURCE.format(message=message)})  # the rebuild
    with LocalFunction.open(SETTINGS, code, (), ONE_SHOT, early) as function:
        assert function.spec.layout.changed == ({"task/app.py"} if edited else set())
        function.prewarm(early)
        assert _payload(function) == {"message": message, "start": "sandbox-gated"}
        assert early.adopted and function.pool.environments_started == 1


@sandboxed
@pytest.mark.slow
def test_a_runtime_folder_changed_since_its_install_gives_the_early_environment_up(tmp_path: Path) -> None:
    """The early start checks the runtime folder while its runtime starts (the runtime runs
    nothing of the function before its gate): a folder that fails the check is not lent, the
    environment is stopped before its gate opens, and the run installs the folder again."""
    code = write_zip(tmp_path / "function.zip", {"app.py": SOURCE.format(message="first")})
    with LocalFunction.open(SETTINGS, code, (), ONE_SHOT) as function:
        assert _payload(function)["message"] == "first"
    folder = installed_runtime_folder("3.13", with_boto3=ONE_SHOT.with_boto3, sdk=SETTINGS.config.runtime_sdk)
    assert folder is not None and runtime_folder_intact(folder)
    (folder / "stray.py").write_text("")  # what a hand in the cache would leave
    early = start_early(SETTINGS, code, [], ONE_SHOT)
    write_zip(code, {"app.py": SOURCE.format(message="second")})
    with LocalFunction.open(SETTINGS, code, (), ONE_SHOT, early) as function:
        function.prewarm(early)
        assert _payload(function)["message"] == "second"
        assert not early.adopted and function.pool.environments_started == 1
    assert runtime_folder_intact(folder) and not (folder / "stray.py").exists()
