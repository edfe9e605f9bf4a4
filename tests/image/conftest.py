"""Fixtures of the image tests only: the shared registry served read-only, a registry behind a
token service, and staged function folders (the registry and base image: tests/fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from image_helpers import Staged, make_staged
from tests.support.registry import (
    BASE_REPOSITORY,
    PASSWORD,
    USERNAME,
    OciLayoutWriter,
    Registry,
    start_registry,
    stop_registry,
)
from tests.support.token_service import TokenService


@pytest.fixture(scope="session")
def readonly_registry(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Iterator[Registry]:
    """The same storage served read-only: it holds the base image but refuses every push."""
    running = start_registry(tmp_path_factory.mktemp("readonly"), readonly=True, storage=registry.storage)
    yield running
    stop_registry(running)


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
