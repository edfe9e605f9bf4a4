"""build_image against a real registry, checked with skopeo and with our own reader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from image_helpers import Staged, build, make_staged
from tests.support.registry import BASE_ENTRYPOINT, BASE_ENV, BaseImages, Registry

from uv_lambda.errors import UsageError
from uv_lambda.image.auth import Credentials
from uv_lambda.image.oci import DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_MANIFEST
from uv_lambda.image.reader import pull_image, unpack
from uv_lambda.image.reference import parse_reference
from uv_lambda.image.registry import RegistryError
from uv_lambda.runtimes import Architecture


def test_build_and_push(registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path) -> None:
    platforms = [entry["platform"] for entry in registry.inspect(base_images.multi_arch, raw=True)["manifests"]]
    assert {"os": "unknown", "architecture": "unknown"} in platforms  # an attestation, skipped
    target = f"{registry.host}/functions/api:v1"
    result = build(staged, registry, base_images.multi_arch, cache_dir, push=target)

    inspected = registry.inspect(target)
    assert inspected["Digest"] == result.digest
    assert inspected["Architecture"] == "amd64"
    assert inspected["Env"] == BASE_ENV
    assert len(inspected["Layers"]) == 4 == result.layer_count  # base + deps, workspace, app
    assert inspected["Layers"][1:] == [layer.digest for layer in result.layers]
    config = registry.inspect(target, config=True)["config"]
    assert config["Cmd"] == ["app.main.handler"]
    assert config["WorkingDir"] == "/var/task"
    assert config["Entrypoint"] == BASE_ENTRYPOINT
    raw = registry.inspect(target, raw=True)
    assert raw["mediaType"] == OCI_MANIFEST  # one platform manifest: Lambda rejects indexes
    assert "manifests" not in raw
    assert result.pushed == f"{registry.host}/functions/api@{result.digest}"
    document = json.loads(json.dumps(result.to_json()))
    assert document["digest"] == result.digest and document["layer_count"] == 4
    assert [layer["name"] for layer in document["layers"]] == ["dependencies", "workspace", "application"]


def test_docker_schema2_base_gives_a_docker_schema2_image(
    registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path
) -> None:
    assert registry.inspect(base_images.docker_v2, raw=True)["mediaType"] == DOCKER_MANIFEST
    target = f"{registry.host}/functions/docker:v1"
    result = build(staged, registry, base_images.docker_v2, cache_dir, push=target)
    raw = registry.inspect(target, raw=True)
    assert raw["mediaType"] == result.manifest_type == DOCKER_MANIFEST
    assert raw["config"]["mediaType"] == DOCKER_CONFIG
    assert {layer["mediaType"] for layer in raw["layers"]} == {DOCKER_LAYER_GZIP}
    assert registry.inspect(target, config=True)["config"]["Cmd"] == ["app.main.handler"]


def test_single_manifest_base_of_another_architecture(
    registry: Registry, base_images: BaseImages, tmp_path: Path, cache_dir: Path
) -> None:
    staged = make_staged(tmp_path / "arm", arch=Architecture.ARM64)
    with pytest.raises(RegistryError) as raised:
        build(staged, registry, base_images.docker_v2, cache_dir)
    _check(raised.value, base_images.docker_v2, "linux/amd64, not linux/arm64", registry.host)


def test_pull_back_with_own_reader(
    registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path, tmp_path: Path
) -> None:
    target = f"{registry.host}/functions/pulled:v1"
    result = build(staged, registry, base_images.multi_arch, cache_dir, push=target)
    image = pull_image(
        parse_reference(target),
        Architecture.X86_64,
        cache_dir=tmp_path / "reader-cache",
        registry_credentials=registry.credentials,
    )
    assert image.reference.digest == result.digest
    assert image.cmd == ["app.main.handler"]
    assert image.env["LAMBDA_TASK_ROOT"] == "/var/task"
    root = tmp_path / "root"
    unpack(image, root, prefixes=("var/task", "lambda-entrypoint.sh"))
    task = root / "var" / "task"
    assert (task / "app" / "main.py").read_text() == (staged.app_dir / "app" / "main.py").read_text()
    assert (task / "app" / "main.py").stat().st_mode & 0o777 == 0o644
    assert (task / "bin" / "tool").stat().st_mode & 0o777 == 0o755
    assert (task / "library" / "__init__.py").is_file()
    assert (task / "mangum" / "adapter.py").is_file()
    assert (task / ".keep").is_file()  # from the base image's own layer
    assert (root / "lambda-entrypoint.sh").is_file()


def test_arm64_uses_the_arm64_base(
    registry: Registry, base_images: BaseImages, tmp_path: Path, cache_dir: Path
) -> None:
    staged = make_staged(tmp_path / "arm", arch=Architecture.ARM64)
    target = f"{registry.host}/functions/arm:v1"
    build(staged, registry, base_images.multi_arch, cache_dir, push=target)
    assert registry.inspect(target)["Architecture"] == "arm64"
    image = pull_image(
        parse_reference(target),
        Architecture.ARM64,
        cache_dir=tmp_path / "reader-cache",
        registry_credentials=registry.credentials,
    )
    unpack(image, tmp_path / "root", prefixes=("etc",))
    assert (tmp_path / "root" / "etc" / "arch").read_text() == "arm64"


def test_same_inputs_same_digest_and_nothing_to_upload(
    registry: Registry, base_images: BaseImages, tmp_path: Path
) -> None:
    target = f"{registry.host}/functions/same:v1"
    first = build(
        make_staged(tmp_path / "one"),
        registry,
        base_images.multi_arch,
        tmp_path / "c1",
        push=target,
    )
    blobs = registry.blob_count()
    # Another checkout, another cache: the layers are rebuilt from scratch, byte for byte.
    second = build(
        make_staged(tmp_path / "two"),
        registry,
        base_images.multi_arch,
        tmp_path / "c2",
        push=target,
    )
    assert second.digest == first.digest
    assert [layer.digest for layer in second.layers] == [layer.digest for layer in first.layers]
    assert second.uploaded == ()
    assert registry.blob_count() == blobs
    assert second.bytes_uploaded < 2000  # the manifest alone


def test_app_edit_uploads_only_the_app_layer(
    registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path
) -> None:
    target = f"{registry.host}/functions/edited:v1"
    before = build(staged, registry, base_images.multi_arch, cache_dir, push=target)
    blobs = registry.blob_count()
    (staged.app_dir / "app" / "main.py").write_text("def handler(event, context):\n    return 'edited'\n")
    after = build(staged, registry, base_images.multi_arch, cache_dir, push=target)

    app_before, app_after = before.layers[-1], after.layers[-1]
    assert app_after.digest != app_before.digest
    assert [layer.digest for layer in after.layers[:-1]] == [layer.digest for layer in before.layers[:-1]]
    config_digest = registry.inspect(target, raw=True)["config"]["digest"]
    assert after.uploaded == (
        app_after.digest,
        config_digest,
    )  # a new config must name the new layer
    # On disk the registry keeps manifests as blobs too: app layer + config + manifest.
    assert registry.blob_count() == blobs + 3
    manifest_size = len(
        registry.skopeo(
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            f"{registry.credentials.username}:{registry.credentials.password}",
            f"docker://{target}",
        ).encode()
    )
    config_size = registry.inspect(target, raw=True)["config"]["size"]
    assert after.bytes_uploaded <= app_after.size + config_size + manifest_size + 2


def test_base_layers_are_mounted_not_uploaded(
    registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path
) -> None:
    result = build(staged, registry, base_images.multi_arch, cache_dir, push=f"{registry.host}/fresh/repo:v1")
    assert len(result.mounted) == result.base_layer_count == 1
    assert result.mounted[0] not in result.uploaded
    assert not (cache_dir / "blobs" / "sha256" / result.mounted[0][7:]).exists()  # never downloaded


def test_no_workspace_members_no_workspace_layer(
    registry: Registry, base_images: BaseImages, tmp_path: Path, cache_dir: Path
) -> None:
    staged = make_staged(tmp_path / "plain", workspace=False)
    result = build(
        staged,
        registry,
        base_images.multi_arch,
        cache_dir,
        push=f"{registry.host}/functions/plain:v1",
    )
    assert [layer.name for layer in result.layers] == ["dependencies", "application"]
    assert len(registry.inspect(f"{registry.host}/functions/plain:v1")["Layers"]) == 3


# ---- bad input: one line that names the registry and the reference -------------------------


def _check(error: Exception, *needles: str) -> None:
    assert isinstance(error, UsageError | RegistryError)
    assert "\n" not in error.message and error.hint
    for needle in needles:
        assert needle in error.message, error.message


def test_index_without_the_target_architecture(
    registry: Registry, base_images: BaseImages, tmp_path: Path, cache_dir: Path
) -> None:
    staged = make_staged(tmp_path / "arm", arch=Architecture.ARM64)
    with pytest.raises(RegistryError) as raised:
        build(
            staged,
            registry,
            base_images.amd64_only,
            cache_dir,
            push=f"{registry.host}/functions/x:v1",
        )
    _check(raised.value, "linux/arm64", base_images.amd64_only, registry.host, "it has: linux/amd64")


def test_base_image_not_found(registry: Registry, staged: Staged, cache_dir: Path) -> None:
    base = f"{registry.host}/lambda/python:9.99"
    with pytest.raises(RegistryError) as raised:
        build(staged, registry, base, cache_dir, push=f"{registry.host}/functions/x:v1")
    _check(raised.value, "not found", base, registry.host)


def test_registry_unreachable(registry: Registry, staged: Staged, cache_dir: Path) -> None:
    with pytest.raises(RegistryError) as raised:
        build(
            staged,
            registry,
            "127.0.0.1:9/lambda/python:3.13",
            cache_dir,
            push=f"{registry.host}/f/x:v1",
        )
    _check(raised.value, "127.0.0.1:9", "unreachable", "127.0.0.1:9/lambda/python:3.13")


def test_wrong_credentials(registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path) -> None:
    with pytest.raises(RegistryError) as raised:
        build(
            staged,
            registry,
            base_images.multi_arch,
            cache_dir,
            push=f"{registry.host}/functions/x:v1",
            credentials=Credentials("lambda", "wrong"),
        )
    _check(raised.value, "401", registry.host, base_images.multi_arch)


def test_push_refused(readonly_registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path) -> None:
    base = base_images.multi_arch.replace(base_images.multi_arch.split("/")[0], readonly_registry.host)
    target = f"{readonly_registry.host}/functions/readonly:v1"
    with pytest.raises(RegistryError) as raised:
        build(staged, readonly_registry, base, cache_dir, push=target)
    _check(raised.value, "refused the push", target, readonly_registry.host)


def test_no_handler(registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path) -> None:
    from dataclasses import replace

    with pytest.raises(UsageError) as raised:
        build(replace(staged, handler=None), registry, base_images.multi_arch, cache_dir)  # type: ignore[arg-type]
    _check(raised.value, "handler")


def test_push_to_a_digest_is_refused(registry: Registry, staged: Staged, cache_dir: Path) -> None:
    with pytest.raises(UsageError) as raised:
        build(staged, registry, "unused/base", cache_dir, push=f"{registry.host}/f@sha256:{'0' * 64}")
    _check(raised.value, "digest")
    assert not cache_dir.exists()  # refused before any work


def test_layers_survive_a_copied_tree(tmp_path: Path) -> None:
    """The staged trees may be copied around (a CI cache restore): digests do not move."""
    staged = make_staged(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    from uv_lambda.image.layers import build_layer
    from uv_lambda.image.store import BlobStore

    one = build_layer(staged.app_dir, BlobStore(tmp_path / "s"), name="application")
    two = build_layer(tmp_path / "b" / "app", BlobStore(tmp_path / "s"), name="application")
    assert one.digest == two.digest
