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
    target = tmp_path / f"new-{template}"
    created = cli("init", target, "--template", template)
    assert created.returncode == 0, created.stderr
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
