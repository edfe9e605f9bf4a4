"""`uv-lambda invoke --image` and `serve --image`: the guide's app, built and pushed to the real
local registry by the CLI, pulled back and run here without a container engine."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.registry import PASSWORD, USERNAME, BaseImages, Registry

from uv_lambda import proc

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi-hello"

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    # Read when used: the session fixtures of tests/conftest.py set the cache and PATH first.
    return {**os.environ, "UV_LAMBDA_REGISTRY_USERNAME": USERNAME, "UV_LAMBDA_REGISTRY_PASSWORD": PASSWORD}


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uv_lambda", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def pushed(
    tmp_path_factory: pytest.TempPathFactory, registry: Registry, base_images: BaseImages
) -> tuple[str, dict[str, str]]:
    """The guide's app pushed as an image by `uv-lambda build --format image --push`; (ref, env)."""
    tmp_path = tmp_path_factory.mktemp("invoke-image")
    project = tmp_path / "fastapi-hello"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dist", ".venv", "__pycache__"))
    target = f"{registry.host}/invoke/fastapi-hello:v1"
    env = _env()
    built = _cli(
        "build", "--format", "image", "--push", target, "--base-image", base_images.multi_arch, cwd=project, env=env
    )
    assert built.returncode == 0, built.stderr
    return target, env


def test_invoke_image_prints_the_guides_response(pushed: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    reference, env = pushed

    result = _cli(
        "invoke",
        "--image",
        reference,
        "--event",
        str(EXAMPLE / "event.json"),
        "--no-credentials",
        cwd=tmp_path,
        env=env,
    )

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 200
    assert response["body"] == '"Hello, world!"'
    assert "START RequestId:" in result.stderr and "REPORT RequestId:" in result.stderr


def test_invoke_image_flags_override_the_image(pushed: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    reference, env = pushed

    result = _cli(
        "invoke", "--image", reference, "--handler", "app.main.missing", "--no-credentials", cwd=tmp_path, env=env
    )

    assert result.returncode == 1
    assert json.loads(result.stdout)["errorType"] == "Runtime.HandlerNotFound"


def test_invoke_image_refuses_artifact_and_unknown_images(pushed: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    reference, env = pushed

    mixed = _cli("invoke", "--image", reference, "--artifact", "x.zip", cwd=tmp_path, env=env)
    missing = _cli("invoke", "--image", reference.replace(":v1", ":nope"), cwd=tmp_path, env=env)

    assert mixed.returncode == 2 and "--image cannot be combined with --artifact" in mixed.stderr
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) <= 3


@pytest.fixture
def served(pushed: tuple[str, dict[str, str]], tmp_path: Path) -> Iterator[str]:
    reference, env = pushed
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    process = proc.spawn(
        [sys.executable, "-m", "uv_lambda", "serve", "--image", reference, "--port", "0", "--no-credentials"],
        env=env,
        cwd=tmp_path,
        stdout=log.fileno(),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not (found := re.search(rb"on (http://127\.0\.0\.1:\d+)", log_path.read_bytes())):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)
        yield found.group(1).decode()
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_serve_image_answers_http(served: str) -> None:
    with urllib.request.urlopen(served + "/", timeout=60) as response:
        assert response.status == 200
        assert json.loads(response.read()) == "Hello, world!"
