"""Every configuration key given a value of each wrong type, and pyproject.toml tables of the
wrong type where uv-lambda reads them: exit 2, one error line naming the key, a hint, no
traceback and nothing written. The cases come from config.SCHEMA, so a new key is covered."""

from __future__ import annotations

from pathlib import Path

import pytest

from uv_lambda.cli import main
from uv_lambda.config import SCHEMA

PROJECT = """\
[project]
name = "shape"
version = "0.1.0"
requires-python = ">=3.12"
dependencies = []
"""

# One sample of each TOML type: (TOML text, the value tomllib reads from it).
SAMPLES: dict[str, tuple[str, object]] = {
    "string": ('"text"', "text"),
    "integer": ("7", 7),
    "negative": ("-1", -1),
    "float": ("1.5", 1.5),
    "boolean": ("true", True),
    "datetime": ("1979-05-27T07:32:00Z", None),
    "integer-list": ("[1, 2]", [1, 2]),
    "string-list": ('["a"]', ["a"]),
    "string-table": ('{ a = "b" }', {"a": "b"}),
    "integer-table": ("{ a = 1 }", {"a": 1}),
}


def _accepts(key: str, value: object) -> bool:
    if value is None:  # a datetime: no validator takes one
        return False
    try:
        SCHEMA[key](key, value)
    except TypeError:
        return False
    return True


CASES = [
    pytest.param(key, toml, id=f"{key}={kind}")
    for key in SCHEMA
    for kind, (toml, value) in SAMPLES.items()
    if not _accepts(key, value)
]


def _build(project: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["build", str(project)])
    captured = capsys.readouterr()
    return code, captured.err


def _assert_config_error(code: int, stderr: str, key: str, project: Path) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    hints = [line for line in stderr.splitlines() if line.startswith("hint:")]
    assert len(errors) == 1 and len(hints) == 1, stderr
    assert key in errors[0], stderr
    assert not (project / "dist").exists()


def test_every_key_has_wrong_types() -> None:
    assert len(CASES) >= 5 * len(SCHEMA)


@pytest.mark.parametrize(("key", "toml"), CASES)
def test_a_wrong_type_for_a_key_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, toml: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(f"{PROJECT}\n[tool.uv-lambda]\n{key} = {toml}\n")
    code, stderr = _build(tmp_path, capsys)
    _assert_config_error(code, stderr, key, tmp_path)


@pytest.mark.parametrize("key", ["memory", "include", "bytecode", "environment"])
def test_a_wrong_type_in_a_function_table_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(f'{PROJECT}\n[tool.uv-lambda.functions.api]\n{key} = "1979"\n')
    code, stderr = _build(tmp_path, capsys)
    _assert_config_error(code, stderr, key, tmp_path)
    assert "functions.api" in stderr


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param('[tool]\nuv = "oops"\n', "uv", id="tool.uv-string"),
        pytest.param("[tool]\nuv = 3\n", "uv", id="tool.uv-integer"),
        pytest.param('[tool.uv]\nworkspace = "all"\n', "workspace", id="workspace-string"),
        pytest.param('[tool.uv.workspace]\nmembers = "pkg/*"\n', "members", id="members-string"),
        pytest.param("[tool.uv.workspace]\nmembers = [1]\n", "members", id="members-integers"),
        pytest.param('[tool.uv.workspace]\nexclude = "x"\n', "exclude", id="workspace-exclude-string"),
        pytest.param('[tool]\nuv-lambda = "zip"\n', "uv-lambda", id="tool.uv-lambda-string"),
        pytest.param('[tool.uv-lambda]\nfunctions = "api"\n', "functions", id="functions-string"),
        pytest.param('[tool.uv-lambda.functions]\napi = "x"\n', "functions.api", id="function-string"),
        pytest.param("[tool.uv-lambda]\nmemroy = 256\n", "memroy", id="misspelt-key"),
    ],
)
def test_a_table_of_the_wrong_type_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(f"{PROJECT}\n{text}")
    code, stderr = _build(tmp_path, capsys)
    _assert_config_error(code, stderr, key, tmp_path)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param('tool = "x"\n' + PROJECT, "tool", id="tool-string"),
        pytest.param(PROJECT.replace('"shape"', "3"), "name", id="name-integer"),
        pytest.param(PROJECT.replace('">=3.12"', "312"), "requires-python", id="requires-python-integer"),
        pytest.param(PROJECT.replace('"0.1.0"', "1"), "version", id="version-integer"),
        pytest.param('project = "shape"\n', "project", id="project-string"),
        pytest.param('build-system = "hatchling"\n' + PROJECT, "build-system", id="build-system-string"),
    ],
)
def test_project_tables_of_the_wrong_type_are_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    code, stderr = _build(tmp_path, capsys)
    _assert_config_error(code, stderr, key, tmp_path)
