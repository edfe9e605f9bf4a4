"""The guide's FastAPI app and its workspace variant, staged by the real build, pushed as
images to the local registry, pulled back and invoked here with the guide's event."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from tests.support.registry import BaseImages, Registry, registry_login

from uv_lambda.app.image import build_function_image, configured_target
from uv_lambda.app.local import open_image
from uv_lambda.config import FunctionConfig
from uv_lambda.emulator.function import RunOptions
from uv_lambda.image.reference import image_target, parse_reference
from uv_lambda.project import load_project
from uv_lambda.ui import Reporter

pytestmark = pytest.mark.slow


def _push_example(folder: Path, registry: Registry, base: str, cache_dir: Path, target: str) -> tuple[str, list[str]]:
    project = load_project(folder)
    [config] = project.functions().values()
    with registry_login(registry):
        result = build_function_image(
            project,
            config,
            image_target(push=target, base_image=base),
            out_dir=folder / "dist",
            reporter=Reporter(quiet=True),
        )
    assert not (folder / "dist").exists()  # pushed, so nothing saved
    return result.digest, [layer.name for layer in result.layers]


def _invoke(registry: Registry, reference: str, event: bytes, tmp_path: Path) -> dict[str, object]:
    options = RunOptions(pass_credentials=False, region="us-east-1")
    with open_image(
        parse_reference(reference),
        FunctionConfig(name="api", runtime="python3.13", timeout=30),
        options=options,
        cache_dir=tmp_path / "pull-cache",
        registry_credentials=registry.credentials,
    ) as function:
        answer = function.invoke(event)
    assert not answer.function_error, answer.log
    return dict(json.loads(answer.payload))


@pytest.mark.parametrize(
    ("example_name", "layers", "body"),
    [
        ("fastapi-hello", ["dependencies", "application"], '"Hello, world!"'),
        ("workspace", ["dependencies", "workspace", "application"], '"Hello from library!"'),
    ],
)
def test_guide_app_as_an_image(  # noqa: PLR0913  pytest passes fixtures and parameters by name
    example: Callable[[str], Path],
    registry: Registry,
    base_images: BaseImages,
    tmp_path: Path,
    example_name: str,
    layers: list[str],
    body: str,
) -> None:
    folder = example(example_name)
    target = f"{registry.host}/guide/{example_name}:latest"
    digest, names = _push_example(folder, registry, base_images.multi_arch, tmp_path / "cache", target)
    assert names == layers
    inspected = registry.inspect(target)
    assert inspected["Digest"] == digest
    assert len(inspected["Layers"]) == 1 + len(layers)
    response = _invoke(registry, f"{target}", (folder / "event.json").read_bytes(), tmp_path)
    assert response["statusCode"] == 200
    assert response["body"] == body
    assert response["isBase64Encoded"] is False


def test_defaults_without_push_or_output(
    example: Callable[[str], Path],
    registry: Registry,
    base_images: BaseImages,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No --push, no --output, no image-repository: an OCI layout in the output folder."""
    folder = example("fastapi-hello")
    project = load_project(folder)
    [config] = project.functions().values()
    out_dir = folder / "dist" / "lambda" / config.name
    # Nothing is pushed, so the base image's registry login comes from `docker login`'s file.
    login = base64.b64encode(f"{registry.credentials.username}:{registry.credentials.password}".encode())
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text(json.dumps({"auths": {registry.host: {"auth": login.decode()}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    flags = image_target(base_image=base_images.multi_arch)
    result = build_function_image(
        project, config, configured_target(config, flags), out_dir=out_dir, reporter=Reporter(quiet=True)
    )
    index = json.loads((out_dir / "image" / "index.json").read_text())
    [entry] = index["manifests"]
    assert entry["digest"] == result.digest
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == f"{config.name}:latest"
    # With image-repository configured, the same call pushes there instead.
    target = f"{registry.host}/guide/configured"
    with registry_login(registry):
        configured = replace(config, image_repository=target)
        pushed = build_function_image(
            project, configured, configured_target(configured, flags), out_dir=out_dir, reporter=Reporter(quiet=True)
        )
    assert pushed.digest == result.digest
    assert registry.inspect(f"{target}:latest")["Digest"] == result.digest
