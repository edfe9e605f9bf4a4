"""Configuration as users meet it: merge rules, `uv-lambda config`, the runtime choice and
exclude-packages, with the real uv and real PyPI packages."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from tests.support.projects import CliRunner, write_project

from uv_lambda.bundle.settings import default_runtime
from uv_lambda.config import function_configs
from uv_lambda.errors import ConfigError
from uv_lambda.project import Package

SOURCE = Path("pyproject.toml")
HANDLER = {"app/__init__.py": "", "app/main.py": "def handler(event, context):\n    return 1\n"}


def test_function_table_merges_into_the_shared_table_key_by_key() -> None:
    shared = {
        "memory": 512,
        "timeout": 30,
        "environment": {"STAGE": "prod", "LOG": "info"},
        "tags": {"team": "a"},
        "exclude-packages": ["boto3"],
        "include": ["app"],
        "exclude": ["app/tests"],
        "layers": ["arn:shared"],
    }
    functions = {
        "api": {
            "memory": 1024,
            "environment": {"LOG": "debug", "API": "1"},
            "tags": {"role": "api"},
            "exclude-packages": ["pydantic-core", "boto3"],
            "include": ["lib"],
            "exclude": ["lib/fixtures"],
            "layers": ["arn:own"],
        },
        "worker": {"layers-replace": True, "environment-replace": True, "environment": {"ONLY": "1"}},
        "plain": {},
    }
    configs = function_configs({**shared, "functions": functions}, "p", SOURCE)
    api, worker, plain = configs["api"], configs["worker"], configs["plain"]
    assert (api.memory, api.timeout) == (1024, 30)
    assert api.environment == {"STAGE": "prod", "LOG": "debug", "API": "1"}
    assert api.tags == {"team": "a", "role": "api"}
    assert api.exclude_packages == ("boto3", "pydantic-core")
    assert (api.include, api.exclude, api.layers) == (
        ("app", "lib"),
        ("app/tests", "lib/fixtures"),
        ("arn:shared", "arn:own"),
    )
    assert worker.layers == () and worker.environment == {"ONLY": "1"} and worker.tags == {"team": "a"}
    assert plain.environment == shared["environment"] and plain.layers == ("arn:shared",)
    assert api.origins["memory"] == "[tool.uv-lambda.functions.api]"
    assert api.origins["timeout"] == "[tool.uv-lambda]"
    assert api.origins["environment"] == "[tool.uv-lambda] + [tool.uv-lambda.functions.api]"
    assert worker.origins["layers"] == "[tool.uv-lambda.functions.worker] (layers-replace)"
    assert "concurrency" not in api.origins  # a default


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ({"layers-replace": True}, "set in [tool.uv-lambda], where there is nothing to replace"),
        ({"functions": {"a": {"layers-replace": "yes"}}}, "layers-replace must be true or false"),
        ({"functions": {"a": {"memory-replace": True}}}, "unknown key 'memory-replace'"),
    ],
)
def test_replace_flags_are_checked(table: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        function_configs(table, "p", SOURCE)


def test_default_runtime_says_why_and_depends_on_the_date() -> None:
    package = Package("p", Path("."), {})
    before = default_runtime(SpecifierSet(">=3.9"), package, dt.date(2026, 1, 1))
    assert (before.runtime.name, before.reason) == (
        "python3.10",
        "the oldest supported runtime in requires-python >=3.9",
    )
    after = default_runtime(SpecifierSet(">=3.9"), package, dt.date(2026, 7, 1))
    assert after.runtime.name == "python3.12"
    assert after.reason == (
        "the oldest supported runtime in requires-python >=3.9; python3.10 and python3.11 ended support on 2026-06-30"
    )
    only_old = default_runtime(SpecifierSet("<3.12"), package, dt.date(2026, 7, 1))
    assert only_old.runtime.name == "python3.10" and "reached end of support" in only_old.warnings[0]


@pytest.fixture
def merged_project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "merged",
        '[project]\nname = "merged"\nversion = "0"\nrequires-python = ">=3.12"\n\n'
        '[tool.uv-lambda]\nenvironment = { STAGE = "prod", LOG = "info" }\nlayers = ["arn:shared"]\n\n'
        '[tool.uv-lambda.functions.api]\nenvironment = { LOG = "debug" }\nlayers = ["arn:own"]\n\n'
        "[tool.uv-lambda.functions.worker]\nlayers-replace = true\nmemory = 256\n",
        HANDLER,
        lock=False,
    )


def test_config_command_prints_values_and_their_origins(cli: CliRunner, merged_project: Path) -> None:
    result = cli("config", merged_project, "--json", "--arch", "arm64")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["api", "worker"]
    api, worker = document["api"], document["worker"]
    assert api["environment"] == {
        "value": {"STAGE": "prod", "LOG": "debug"},
        "origin": "[tool.uv-lambda] + [tool.uv-lambda.functions.api]",
    }
    assert worker["layers"] == {"value": [], "origin": "[tool.uv-lambda.functions.worker] (layers-replace)"}
    assert worker["memory"] == {"value": 256, "origin": "[tool.uv-lambda.functions.worker]"}
    assert api["timeout"] == {"value": 3, "origin": "default"}
    assert api["architecture"] == {"value": "arm64", "origin": "--arch"}
    assert api["handler"]["value"] == "app.main.handler" and api["handler"]["origin"].startswith("default")
    expected = default_runtime(SpecifierSet(">=3.12"), Package("merged", merged_project, {}))
    assert api["runtime"] == {"value": expected.runtime.name, "origin": f"default: {expected.reason}"}

    (merged_project / ".python-version").write_text("3.13\n")
    text = cli("config", merged_project, "--function", "worker")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "worker" and not any(line.startswith("api") for line in lines)
    [runtime] = [line for line in lines if line.split()[0] == "runtime"]
    assert runtime.split()[1] == "python3.13" and f"pinned by {merged_project / '.python-version'}" in runtime

    missing = cli("config", merged_project, "--function", "nope")
    assert missing.returncode == 2 and "functions: api, worker" in missing.stderr


@pytest.mark.parametrize(
    ("pin", "needle"),
    [
        ("3.12", ".python-version pins Python 3.12, outside requires-python >=3.13 of pinned"),
        ("3.9", ".python-version pins Python 3.9: runtime 3.9 is deprecated by AWS Lambda"),
    ],
)
def test_python_version_pin_is_checked_and_named(cli: CliRunner, tmp_path: Path, pin: str, needle: str) -> None:
    project = write_project(
        tmp_path / "pinned",
        '[project]\nname = "pinned"\nversion = "0"\nrequires-python = ">=3.13"\n',
        {**HANDLER, ".python-version": pin + "\n"},
        lock=False,
    )
    for command in ("build", "config"):
        result = cli(command, project)
        assert result.returncode == 2, result.stderr
        [error] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert needle in error and "\nhint: " in result.stderr and "Traceback" not in result.stderr
        assert not (project / "dist").exists()


BOTO_PROJECT = (
    '[project]\nname = "boto-user"\nversion = "0"\nrequires-python = ">=3.12"\ndependencies = ["boto3", "six"]\n\n'
    '[tool.uv-lambda]\nexclude-packages = ["boto3"]\nruntime = "python3.13"\n'
)


@pytest.fixture(scope="module")
def boto_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("exclude") / "boto-user", BOTO_PROJECT, HANDLER)


@pytest.mark.slow
def test_exclude_packages_takes_what_only_it_needed(cli: CliRunner, boto_project: Path) -> None:
    result = cli("build", boto_project)
    assert result.returncode == 0, result.stderr
    # six stays: the project depends on it itself (python-dateutil did too).
    assert "left out by exclude-packages: boto3, botocore, jmespath, python-dateutil, s3transfer, urllib3" in (
        result.stderr
    )
    artifact = boto_project / "dist" / "lambda" / "boto-user" / "function.zip"
    with zipfile.ZipFile(artifact) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert "six.py" in tops and "app" in tops
    assert not tops & {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3"}, tops
    shipped = {
        package["name"] for package in json.loads(artifact.with_name("function.zip.json").read_text())["packages"]
    }
    assert shipped == {"six", "boto-user"}


def test_exclude_packages_typo_is_an_error_with_close_matches(cli: CliRunner, boto_project: Path) -> None:
    pyproject = boto_project / "pyproject.toml"
    pyproject.write_text(BOTO_PROJECT.replace('["boto3"]', '["boto3", "botocor"]'))
    try:
        result = cli("build", boto_project, "--out", boto_project / "typo")
    finally:
        pyproject.write_text(BOTO_PROJECT)
    assert result.returncode == 2
    assert "exclude-packages names 'botocor' ([tool.uv-lambda]), which is not a package of" in result.stderr
    assert "hint: did you mean 'botocore'" in result.stderr
    assert not (boto_project / "typo").exists()


@pytest.mark.slow
def test_default_runtime_does_not_move_while_the_lock_is_unchanged(cli: CliRunner, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "dated",
        '[project]\nname = "dated"\nversion = "0"\nrequires-python = ">=3.10"\n',
        HANDLER,
    )
    first = cli("build", project, "--no-bytecode")
    assert first.returncode == 0, first.stderr
    today = default_runtime(SpecifierSet(">=3.10"), Package("dated", project, {}))
    assert f"runtime {today.runtime.name}: {today.reason}" in first.stderr
    metadata_path = project / "dist" / "lambda" / "dated" / "function.zip.json"
    metadata = json.loads(metadata_path.read_text())
    assert (metadata["runtime"], metadata["runtime_origin"]) == (today.runtime.name, "default")
    assert metadata["runtime_reason"] == today.reason

    # A build of the same lock made on a day when the default was another runtime.
    earlier = "python3.13" if today.runtime.name != "python3.13" else "python3.12"
    metadata_path.write_text(json.dumps({**metadata, "runtime": earlier}))
    kept = cli("build", project, "--no-bytecode", "-q")  # another command line: no app-only rebuild
    assert kept.returncode == 0, kept.stderr
    assert f"warning: keeping {earlier}, the default the previous build of this uv.lock chose" in kept.stderr
    assert f"the default would now be {today.runtime.name}" in kept.stderr
    assert json.loads(metadata_path.read_text())["runtime"] == earlier

    # A new lock: today's default, and the move is said.
    lock = project / "uv.lock"
    lock.write_text(lock.read_text() + "\n")
    moved = cli("build", project, "--no-bytecode", "-v")
    assert moved.returncode == 0, moved.stderr
    assert f"warning: the default runtime moved from {earlier} (the previous build) to {today.runtime.name}" in (
        moved.stderr
    )
    assert json.loads(metadata_path.read_text())["runtime"] == today.runtime.name
