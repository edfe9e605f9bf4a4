"""`uv-lambda init`: each template builds and invokes with no edits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from uv_lambda.cli.init import TEMPLATES, template_files


@pytest.mark.parametrize("template", TEMPLATES)
def test_templates_have_an_event_and_a_handler(template: str) -> None:
    files = template_files(template, "demo")
    assert json.loads(files["event.json"]) == {"httpMethod": "GET", "path": "/", "requestContext": {}, "version": "1.0"}
    assert "def handler" in files["app/main.py"] or "handler = Mangum(app)" in files["app/main.py"]
    assert 'name = "demo"' in files["pyproject.toml"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("template", "body"),
    [("fastapi", '"Hello, world!"'), ("workspace", '"Hello from library!"'), ("handler", None)],
)
def test_init_then_invoke_works_with_no_edits(cli: Any, tmp_path: Path, template: str, body: str | None) -> None:
    # The fastapi template in a folder named like its own dependency: the project is renamed.
    target = tmp_path / ("fastapi" if template == "fastapi" else f"new-{template}")
    created = cli("init", target, "--template", template)
    assert created.returncode == 0, created.stderr
    if template == "fastapi":
        assert 'name = "fastapi-app"' in (target / "pyproject.toml").read_text()
        assert "naming the project 'fastapi-app': 'fastapi' is a package it depends on" in created.stderr
    assert (target / "uv.lock").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no scratch left behind
    result = cli("invoke", target, "--event", target / "event.json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["statusCode"] == 200
    if body is not None:
        assert answer["body"] == body
    else:
        assert json.loads(answer["body"])["message"] == "Hello, world!"


def test_init_refuses_a_folder_that_is_not_empty(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = cli("init", tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {tmp_path} is not empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_init_names_a_project_after_no_dependency(cli: Any, tmp_path: Path) -> None:
    # starlette is not in the template, but fastapi depends on it: only uv's resolution knows.
    renamed = cli("init", tmp_path / "starlette")
    assert renamed.returncode == 0, renamed.stderr
    assert 'name = "starlette-app"' in (tmp_path / "starlette" / "pyproject.toml").read_text()
    assert (tmp_path / "starlette" / "uv.lock").is_file()

    chosen = cli("init", tmp_path / "mine", "--name", "pydantic")
    assert chosen.returncode == 2
    assert "error: uv lock failed: the project name 'pydantic' is also the name of a package it depends on" in (
        chosen.stderr
    )
    assert "hint: choose another --name" in chosen.stderr and "network" not in chosen.stderr
    assert not (tmp_path / "mine").exists()


@pytest.mark.parametrize(
    ("output", "hint"),
    [
        (
            "error: Failed to fetch: `https://pypi.org/simple/fastapi/`\n  dns error",
            "could not reach the package index",
        ),
        (
            "error: Failed to fetch: `https://pypi.corp.example/simple/fastapi/`\n  cause: HTTP status client "
            "error (401 Unauthorized) for url (https://pypi.corp.example/simple/fastapi/)",
            "give uv the index's credentials",
        ),
        (
            "No solution found when resolving dependencies:\n  Because there is no version of fastapi>=99",
            "do not resolve on the index uv uses",
        ),
    ],
)
def test_lock_failure_hint_says_what_failed(output: str, hint: str) -> None:
    from uv_lambda.cli.init import _lock_failure
    from uv_lambda.errors import CommandError

    explained = _lock_failure(CommandError("uv lock failed (exit 1): x", None, output), "demo")
    assert explained.hint is not None and hint in explained.hint
