"""The distribution client against a real registry (docker-registry 2.8 with htpasswd)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from tests.support.registry import Registry

from uv_lambda.image.auth import Challenge, Credentials, parse_challenge, token_from, token_url
from uv_lambda.image.oci import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, Descriptor, manifest_json
from uv_lambda.image.reference import parse_reference
from uv_lambda.image.registry import RegistryClient, RegistryError


def _client(registry: Registry, credentials: Credentials | None = None) -> RegistryClient:
    return RegistryClient(registry.host, credentials or registry.credentials, plain_http=True)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_parse_challenge() -> None:
    bearer = parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'
    )
    assert bearer.scheme == "bearer"
    assert bearer.params == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:a/b:pull,push",
    }
    assert parse_challenge('Basic realm="x"').scheme == "basic"


def test_token_request_and_answer() -> None:
    challenge = Challenge("bearer", {"realm": "https://auth.example/token", "service": "reg"})
    url = token_url(challenge, "repository:a/b:pull,push repository:c:pull")
    assert url == (
        "https://auth.example/token?service=reg&scope=repository%3Aa%2Fb%3Apull%2Cpush&scope=repository%3Ac%3Apull"
    )
    assert token_from(b'{"token":"t1"}') == "t1"
    assert token_from(b'{"access_token":"t2","expires_in":60}') == "t2"
    assert token_from(b"<html>") is None and token_from(b"{}") is None


def test_upload_head_and_read_back(registry: Registry) -> None:
    client = _client(registry)
    ref = parse_reference(f"{registry.host}/client/blobs:t")
    data = os.urandom(3000)
    digest = _digest(data)
    assert not client.blob_exists(ref, digest)
    client.upload_blob(ref, digest, data)
    assert client.blob_exists(ref, digest)
    assert client.get_blob(ref, digest) == data
    assert client.bytes_uploaded == len(data)


def test_chunked_upload(registry: Registry) -> None:
    client = _client(registry)
    client.chunk_size = 1000  # the registry sees three PATCH requests and a closing PUT
    ref = parse_reference(f"{registry.host}/client/chunked:t")
    data = os.urandom(2500)
    digest = _digest(data)
    client.upload_blob(ref, digest, data)
    assert client.get_blob(ref, digest) == data


def test_cross_repository_mount(registry: Registry) -> None:
    client = _client(registry)
    source = parse_reference(f"{registry.host}/client/source:t")
    target = parse_reference(f"{registry.host}/client/target:t")
    data = os.urandom(100)
    digest = _digest(data)
    client.upload_blob(source, digest, data)
    before = client.bytes_uploaded
    assert client.mount_blob(target, digest, source.repository)
    assert client.blob_exists(target, digest)
    assert client.bytes_uploaded == before
    # A blob the registry does not have cannot be mounted: the caller uploads instead.
    assert not client.mount_blob(target, _digest(b"absent"), source.repository)


def test_manifest_round_trip(registry: Registry) -> None:
    client = _client(registry)
    ref = parse_reference(f"{registry.host}/client/manifest:v1")
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    client.upload_blob(ref, _digest(config), config)
    manifest = manifest_json(OCI_MANIFEST, Descriptor(OCI_CONFIG, _digest(config), len(config)), [])
    assert client.put_manifest(ref, OCI_MANIFEST, manifest) == _digest(manifest)
    media_type, body, digest = client.get_manifest(ref)
    assert (media_type, body, digest) == (OCI_MANIFEST, manifest, _digest(manifest))
    assert client.get_manifest(ref.with_digest(digest))[1] == manifest


def _one_line(error: RegistryError, *needles: str) -> None:
    assert "\n" not in error.message
    for needle in needles:
        assert needle in error.message
    assert error.hint


def test_unreachable_registry() -> None:
    client = RegistryClient("127.0.0.1:9", None, plain_http=True, timeout=5)
    with pytest.raises(RegistryError) as raised:
        client.get_manifest(parse_reference("127.0.0.1:9/app:v1"))
    _one_line(raised.value, "127.0.0.1:9", "unreachable", "127.0.0.1:9/app:v1")


def test_wrong_password(registry: Registry) -> None:
    client = _client(registry, Credentials("lambda", "wrong"))
    ref = parse_reference(f"{registry.host}/lambda/python:3.13")
    with pytest.raises(RegistryError) as raised:
        client.get_manifest(ref)
    _one_line(raised.value, registry.host, "401", str(ref))


def test_no_credentials(registry: Registry) -> None:
    client = RegistryClient(registry.host, None, plain_http=True)
    ref = parse_reference(f"{registry.host}/lambda/python:3.13")
    with pytest.raises(RegistryError) as raised:
        client.get_manifest(ref)
    _one_line(raised.value, registry.host, "needs a login", str(ref))


def test_tag_not_found(registry: Registry) -> None:
    ref = parse_reference(f"{registry.host}/client/manifest:no-such-tag")
    with pytest.raises(RegistryError) as raised:
        _client(registry).get_manifest(ref)
    _one_line(raised.value, "not found", str(ref), registry.host, "MANIFEST_UNKNOWN")


def test_manifest_naming_a_missing_blob_is_refused(registry: Registry) -> None:
    ref = parse_reference(f"{registry.host}/client/refused:v1")
    missing = Descriptor(OCI_LAYER_GZIP, _digest(b"nowhere"), 7)
    manifest = manifest_json(OCI_MANIFEST, Descriptor(OCI_CONFIG, _digest(b"{}"), 2), [missing])
    with pytest.raises(RegistryError) as raised:
        _client(registry).put_manifest(ref, OCI_MANIFEST, manifest)
    _one_line(raised.value, "refused the push", str(ref), registry.host, "BLOB_UNKNOWN")
    assert json.loads(manifest)["layers"]  # the manifest itself was well-formed


def test_chunked_upload_from_a_file(registry: Registry, tmp_path: Path) -> None:
    client = _client(registry)
    client.chunk_size = 1024
    ref = parse_reference(f"{registry.host}/client/chunked-file:t")
    blob = tmp_path / "blob"
    blob.write_bytes(os.urandom(5000))
    digest = _digest(blob.read_bytes())
    client.upload_blob(ref, digest, blob)
    assert client.get_blob(ref, digest) == blob.read_bytes()
    assert client.bytes_uploaded == 5000
    downloaded = tmp_path / "store" / "blob"
    assert client.download_blob(ref, digest, downloaded) == 5000
    assert downloaded.read_bytes() == blob.read_bytes()
