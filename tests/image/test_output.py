"""`--output`: an OCI layout folder and a docker-archive tar, read by skopeo and podman."""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from image_helpers import Staged, build
from tests.support.registry import BaseImages, Registry

from uv_lambda import proc
from uv_lambda.errors import UsageError
from uv_lambda.image.assemble import build_image
from uv_lambda.image.oci import OCI_INDEX, OCI_MANIFEST
from uv_lambda.image.reference import image_target, parse_output
from uv_lambda.ui import Reporter


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def podman(tmp_path: Path) -> Iterator[Callable[..., proc.Completed]]:
    """podman with its own storage; the run root is short because podman caps it at 50 chars."""
    runroot = Path(tempfile.mkdtemp(prefix="uvl-podman-"))

    def run(*args: str) -> proc.Completed:
        storage = ["--root", str(tmp_path / "podman"), "--runroot", str(runroot)]
        return proc.run(["podman", *storage, "--storage-driver", "vfs", *args], what="podman")

    yield run
    shutil.rmtree(runroot, ignore_errors=True)


def test_oci_layout(
    registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "out" / "image"
    result = build_image(
        staged,
        image_target(output=f"oci-layout:{folder}", base_image=base_images.multi_arch, tag="api:v1"),
        reporter=Reporter(quiet=True),
        cache_dir=cache_dir,
        registry_credentials=registry.creds_map,
    )
    assert json.loads((folder / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((folder / "index.json").read_text())
    assert index["mediaType"] == OCI_INDEX
    [entry] = index["manifests"]
    assert entry["digest"] == result.digest and entry["mediaType"] == OCI_MANIFEST
    assert entry["annotations"] == {"org.opencontainers.image.ref.name": "api:v1"}
    manifest_bytes = (folder / "blobs" / "sha256" / result.digest[7:]).read_bytes()
    manifest = json.loads(manifest_bytes)
    for descriptor in [manifest["config"], *manifest["layers"]]:
        blob = (folder / "blobs" / "sha256" / descriptor["digest"][7:]).read_bytes()
        assert _sha(blob) == descriptor["digest"] and len(blob) == descriptor["size"]
    inspected = json.loads(registry.skopeo("inspect", f"oci:{folder}:api:v1"))
    assert inspected["Digest"] == result.digest
    assert inspected["Architecture"] == "amd64" and len(inspected["Layers"]) == 4
    assert not [p for p in folder.parent.iterdir() if p.name != "image"]  # no temporary left


def test_docker_archive(
    registry: Registry,
    base_images: BaseImages,
    staged: Staged,
    cache_dir: Path,
    tmp_path: Path,
    podman: Callable[..., proc.Completed],
) -> None:
    archive = tmp_path / "image.tar"
    result = build_image(
        staged,
        image_target(output=f"docker-archive:{archive}", base_image=base_images.multi_arch, tag="api"),
        reporter=Reporter(quiet=True),
        cache_dir=cache_dir,
        registry_credentials=registry.creds_map,
    )
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        [entry] = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        assert entry["RepoTags"] == ["api:latest"]
        assert entry["Config"] in names and all(layer in names for layer in entry["Layers"])
        assert len(entry["Layers"]) == 4
        config = json.loads(tar.extractfile(entry["Config"]).read())  # type: ignore[union-attr]
        assert config["config"]["Cmd"] == ["app.main.handler"]
        assert len(config["rootfs"]["diff_ids"]) == 4
    # skopeo reads the docker-archive (manifest.json) side and checks every layer's diff_id.
    copied = tmp_path / "copied"
    registry.skopeo("copy", "--quiet", f"docker-archive:{archive}", f"oci:{copied}:x")
    # podman load takes it like a `docker save` tar.
    loaded = podman("load", "-i", str(archive))
    assert "api:latest" in loaded.stdout
    images = json.loads(podman("images", "--format", "json").stdout)
    assert [image["Id"] for image in images] == [result_config_id(archive)]
    assert result.output == f"docker-archive:{archive}"


def result_config_id(archive: Path) -> str:
    with tarfile.open(archive) as tar:
        [entry] = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    return str(entry["Config"]).rsplit("/", 1)[-1]


def test_output_twice_is_identical(
    registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path, tmp_path: Path
) -> None:
    first = build(
        staged,
        registry,
        base_images.multi_arch,
        cache_dir,
        output=f"docker-archive:{tmp_path}/a.tar",
    )
    second = build(
        staged,
        registry,
        base_images.multi_arch,
        cache_dir,
        output=f"docker-archive:{tmp_path}/b.tar",
    )
    assert first.digest == second.digest
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()


def test_existing_layout_is_replaced(
    registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "layout"
    build(staged, registry, base_images.multi_arch, cache_dir, output=f"oci-layout:{folder}")
    (staged.app_dir / "app" / "main.py").write_text("def handler(event, context):\n    return 3\n")
    second = build(staged, registry, base_images.multi_arch, cache_dir, output=f"oci-layout:{folder}")
    [entry] = json.loads((folder / "index.json").read_text())["manifests"]
    assert entry["digest"] == second.digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "layout", "staged"]


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("tarball:x.tar", "unknown image output"),
        ("oci-layout:", "unknown image output"),
        ("docker-archive:{folder}", "is a folder"),
        ("oci-layout:{file}", "is not a folder"),
        ("oci-layout:{busy}", "not empty"),
    ],
)
def test_bad_output(spec: str, needle: str, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    path = spec.format(folder=tmp_path / "folder", file=tmp_path / "file", busy=tmp_path / "busy")
    with pytest.raises(UsageError) as raised:
        parse_output(path)
    assert needle in raised.value.message and "\n" not in raised.value.message and raised.value.hint
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_push_and_output_together(
    registry: Registry, base_images: BaseImages, staged: Staged, cache_dir: Path, tmp_path: Path
) -> None:
    target = f"{registry.host}/functions/both:v1"
    result = build(staged, registry, base_images.multi_arch, cache_dir, push=target, output=f"oci-layout:{tmp_path}/o")
    [entry] = json.loads((tmp_path / "o" / "index.json").read_text())["manifests"]
    assert entry["digest"] == result.digest == registry.inspect(target)["Digest"]
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == target
