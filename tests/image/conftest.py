"""Fixtures of the image tests: a real registry on 127.0.0.1, a synthetic base image in it,
and staged function folders (see image_helpers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from image_helpers import (
    BASE_REPOSITORY,
    PASSWORD,
    USERNAME,
    BaseImages,
    OciLayoutWriter,
    Registry,
    Staged,
    make_staged,
    start_registry,
    stop_registry,
)
from token_service import TokenService


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    running = start_registry(tmp_path_factory.mktemp("registry"))
    yield running
    stop_registry(running)


@pytest.fixture(scope="session")
def readonly_registry(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Iterator[Registry]:
    """The same storage served read-only: it holds the base image but refuses every push."""
    running = start_registry(tmp_path_factory.mktemp("readonly"), readonly=True, storage=registry.storage)
    yield running
    stop_registry(running)


@pytest.fixture(scope="session")
def base_images(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> BaseImages:
    layout = OciLayoutWriter(tmp_path_factory.mktemp("base-layout"))
    layout.index("3.13", ["amd64", "arm64"])
    layout.index("amd64-only", ["amd64"])
    images = BaseImages(
        f"{registry.host}/{BASE_REPOSITORY}:3.13",
        f"{registry.host}/{BASE_REPOSITORY}:amd64-only",
        f"{registry.host}/{BASE_REPOSITORY}:docker-v2",
    )
    login = f"{USERNAME}:{PASSWORD}"
    for tag, ref in (("3.13", images.multi_arch), ("amd64-only", images.amd64_only)):
        registry.skopeo(
            "copy",
            "--all",
            "--quiet",
            "--dest-tls-verify=false",
            "--dest-creds",
            login,
            f"oci:{layout.root}:{tag}",
            f"docker://{ref}",
        )
    # skopeo converts the amd64 image to Docker's schema 2, the format older bases use.
    registry.skopeo(
        "copy",
        "--quiet",
        "--format",
        "v2s2",
        "--override-arch",
        "amd64",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--src-creds",
        login,
        "--dest-creds",
        login,
        f"docker://{images.multi_arch}",
        f"docker://{images.docker_v2}",
    )
    return images


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, TokenService]]:
    """A registry that takes only bearer tokens, from a token service on 127.0.0.1; it holds
    the synthetic base image at lambda/python:3.13."""
    root = tmp_path_factory.mktemp("token-registry")
    service = TokenService(USERNAME, PASSWORD)
    service.write_certificate(root / "signer.pem")
    realm = service.start()
    running = start_registry(root, token_auth=(realm, root / "signer.pem"))
    layout = OciLayoutWriter(tmp_path_factory.mktemp("token-base-layout"))
    layout.index("3.13", ["amd64", "arm64"])
    running.skopeo(
        "copy",
        "--all",
        "--quiet",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"{USERNAME}:{PASSWORD}",
        f"oci:{layout.root}:3.13",
        f"docker://{running.host}/{BASE_REPOSITORY}:3.13",
    )
    service.requests.clear()
    yield running, service
    stop_registry(running)
    service.stop()


@pytest.fixture
def staged(tmp_path: Path) -> Staged:
    return make_staged(tmp_path / "staged")


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"
