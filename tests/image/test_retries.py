"""Transient failures (throttling, 5xx, dropped connections) are retried; others are not.
The real registry sits behind a proxy that fails chosen requests a given number of times."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_proxy import FaultProxy
from image_helpers import Staged
from tests.support.registry import BaseImages, Registry

from uv_lambda.image.assemble import build_image
from uv_lambda.image.oci import OCI_CONFIG, OCI_MANIFEST, Descriptor, manifest_json
from uv_lambda.image.reference import image_target, parse_reference
from uv_lambda.image.registry import RegistryClient, RegistryError, TransientRegistryError
from uv_lambda.ui import Reporter


@pytest.fixture
def proxy(registry: Registry) -> Iterator[FaultProxy]:
    running = FaultProxy(registry.host)
    running.start()
    yield running
    running.stop()


def _client(proxy: FaultProxy, registry: Registry) -> RegistryClient:
    assert proxy.server is not None
    host = f"127.0.0.1:{proxy.server.server_address[1]}"
    return RegistryClient(host, registry.credentials, plain_http=True, backoff=0.01)


def _blob(size: int = 3000) -> tuple[bytes, str]:
    data = os.urandom(size)
    return data, "sha256:" + hashlib.sha256(data).hexdigest()


def test_throttled_requests_are_sent_again(proxy: FaultProxy, registry: Registry) -> None:
    client = _client(proxy, registry)
    ref = parse_reference(f"{client.registry}/retries/head:t")
    _, digest = _blob()
    proxy.fail("HEAD", "/blobs/", 429, times=2)
    assert not client.blob_exists(ref, digest)
    assert proxy.statuses("HEAD", "/blobs/") == [429, 429, 404]


def test_failed_upload_starts_a_new_session(proxy: FaultProxy, registry: Registry) -> None:
    client = _client(proxy, registry)
    ref = parse_reference(f"{client.registry}/retries/upload:t")
    data, digest = _blob()
    proxy.fail("PUT", r"/blobs/uploads/.*digest=", 500)
    client.upload_blob(ref, digest, data)
    assert proxy.statuses("POST", "/blobs/uploads/") == [202, 202]  # a second session
    assert proxy.statuses("PUT", "/blobs/uploads/") == [500, 201]
    assert client.get_blob(ref, digest) == data


def test_failed_chunk_starts_a_new_session(proxy: FaultProxy, registry: Registry, tmp_path: Path) -> None:
    client = _client(proxy, registry)
    client.chunk_size = 1024
    ref = parse_reference(f"{client.registry}/retries/chunks:t")
    data, digest = _blob(3000)
    (tmp_path / "blob").write_bytes(data)
    proxy.fail("PATCH", "/blobs/uploads/", 502)
    client.upload_blob(ref, digest, tmp_path / "blob")
    assert proxy.statuses("PATCH", "/blobs/uploads/") == [502, 202, 202, 202]
    assert client.get_blob(ref, digest) == data


def test_dropped_connections_and_manifest_retries(proxy: FaultProxy, registry: Registry, tmp_path: Path) -> None:
    client = _client(proxy, registry)
    ref = parse_reference(f"{client.registry}/retries/manifest:v1")
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    client.upload_blob(ref, config_digest, config)
    manifest = manifest_json(OCI_MANIFEST, Descriptor(OCI_CONFIG, config_digest, len(config)), [])
    proxy.fail("PUT", "/manifests/", 503)
    client.put_manifest(ref, OCI_MANIFEST, manifest)
    proxy.fail("GET", "/manifests/", 0)  # the connection is closed without an answer
    assert client.get_manifest(ref)[1] == manifest
    proxy.fail("GET", f"/blobs/{config_digest}", 0)
    assert client.download_blob(ref, config_digest, tmp_path / "config") == len(config)
    assert proxy.statuses("PUT", "/manifests/") == [503, 201]
    assert proxy.statuses("GET", "/manifests/") == [0, 200]


def test_a_registry_that_keeps_failing(proxy: FaultProxy, registry: Registry) -> None:
    client = _client(proxy, registry)
    ref = parse_reference(f"{client.registry}/retries/down:t")
    proxy.fail("HEAD", "/blobs/", 503, times=100)
    with pytest.raises(TransientRegistryError) as raised:
        client.blob_exists(ref, _blob()[1])
    assert proxy.statuses("HEAD", "/blobs/") == [503] * client.attempts
    assert raised.value.message.startswith(f"registry {client.registry} kept failing while pushing {ref}")
    assert "HTTP 503" in raised.value.message and "\n" not in raised.value.message


def test_client_errors_are_not_retried(proxy: FaultProxy, registry: Registry) -> None:
    client = _client(proxy, registry)
    ref = parse_reference(f"{client.registry}/retries/missing:no-such-tag")
    with pytest.raises(RegistryError):
        client.get_manifest(ref)
    assert proxy.statuses("GET", "/manifests/") == [404]


def test_build_and_push_through_a_flaky_registry(
    proxy: FaultProxy, registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path
) -> None:
    client = _client(proxy, registry)
    base = base_images.multi_arch.replace(registry.host, client.registry)
    target = f"{client.registry}/retries/image:v1"
    proxy.fail("PUT", r"/blobs/uploads/.*digest=", 503)  # the first layer upload, once
    result = build_image(
        staged,
        image_target(push=target, base_image=base),
        reporter=Reporter(quiet=True),
        cache_dir=cache_dir,
        registry_credentials={client.registry: registry.credentials},
    )
    assert registry.inspect(f"{registry.host}/retries/image:v1")["Digest"] == result.digest
    assert 503 in proxy.statuses("PUT", "/blobs/uploads/")
