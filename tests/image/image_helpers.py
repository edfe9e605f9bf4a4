"""Helpers for the image tests: staged function folders, and build_image with the test
registry's login (the registry and the base image: tests/support/registry.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.support.registry import Registry

from uv_lambda.image.assemble import ImageResult, build_image
from uv_lambda.image.auth import Credentials
from uv_lambda.image.reference import image_target
from uv_lambda.runtimes import Architecture
from uv_lambda.ui import Reporter

# ---- staged function trees ------------------------------------------------------------------


@dataclass(frozen=True)
class Staged:
    """The folders a staged function provides: what build_image reads."""

    architecture: Architecture
    handler: str
    dependencies_dir: Path
    workspace_dir: Path
    app_dir: Path


def make_staged(root: Path, *, arch: Architecture = Architecture.X86_64, workspace: bool = True) -> Staged:
    deps = root / "deps"
    (deps / "mangum").mkdir(parents=True)
    (deps / "mangum" / "__init__.py").write_text("from mangum.adapter import Mangum\n")
    (deps / "mangum" / "adapter.py").write_text("class Mangum:\n    pass\n" * 50)
    (deps / "bin").mkdir()
    (deps / "bin" / "tool").write_text("#!/bin/sh\necho tool\n")
    (deps / "bin" / "tool").chmod(0o700)  # private on disk: must still be 0755 in the image
    members = root / "workspace"
    members.mkdir()
    if workspace:
        (members / "library").mkdir()
        (members / "library" / "__init__.py").write_text('def hello() -> str:\n    return "Hello from library!"\n')
    app = root / "app"
    (app / "app").mkdir(parents=True)
    (app / "app" / "__init__.py").write_text("")
    (app / "app" / "main.py").write_text("def handler(event, context):\n    return 'Hello, world!'\n")
    (app / "app" / "main.py").chmod(0o600)
    return Staged(arch, "app.main.handler", deps, members, app)


def build(  # noqa: PLR0913  a factory: each test names the few options it varies
    staged: Staged,
    registry: Registry,
    base: str,
    cache_dir: Path,
    *,
    push: str | None = None,
    output: str | None = None,
    credentials: Credentials | None = None,
) -> ImageResult:
    """build_image with the test registry's login and a quiet reporter."""
    return build_image(
        staged,
        image_target(push=push, output=output, base_image=base),
        reporter=Reporter(quiet=True),
        cache_dir=cache_dir,
        registry_credentials={registry.host: credentials or registry.credentials},
    )
