"""Unpacking layers: order, OCI whiteouts, and nothing written outside the destination.

The layers here are hand-made tars (pure file logic, no registry involved)."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

from uv_lambda.image.oci import OCI_LAYER_GZIP, OCI_MANIFEST, Descriptor
from uv_lambda.image.reader import PulledImage, unpack
from uv_lambda.image.reference import parse_reference
from uv_lambda.image.store import BlobStore

Entry = tuple[str, bytes | None, str]  # (name, content or None for a folder, symlink target)


def _layer(store: BlobStore, entries: list[Entry]) -> Descriptor:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content, link in entries:
            info = tarfile.TarInfo(name)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            elif content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(content), 0o600
                tar.addfile(info, io.BytesIO(content))
    data = gzip.compress(buffer.getvalue())
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    store.path(digest).parent.mkdir(parents=True, exist_ok=True)
    store.path(digest).write_bytes(data)
    return Descriptor(OCI_LAYER_GZIP, digest, len(data))


def _image(store: BlobStore, *layers: list[Entry]) -> PulledImage:
    descriptors = tuple(_layer(store, entries) for entries in layers)
    return PulledImage(parse_reference("127.0.0.1:1/x:y"), OCI_MANIFEST, {}, descriptors, store)


def test_later_layers_win_and_whiteouts_delete(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "store")
    image = _image(
        store,
        [
            ("var/task/app.py", b"one", ""),
            ("var/task/old.py", b"old", ""),
            ("var/task/pkg/a.py", b"a", ""),
            ("etc/passwd", b"root", ""),
        ],
        [
            ("var/task/app.py", b"two", ""),
            ("var/task/.wh.old.py", b"", ""),
            ("var/task/pkg/.wh..wh..opq", b"", ""),
            ("var/task/pkg/b.py", b"b", ""),
            ("./opt/python/x.py", b"x", ""),
        ],
    )
    root = tmp_path / "root"
    unpack(image, root)
    task = root / "var" / "task"
    assert (task / "app.py").read_bytes() == b"two"
    assert not (task / "old.py").exists()
    assert sorted(p.name for p in (task / "pkg").iterdir()) == ["b.py"]
    assert (root / "opt" / "python" / "x.py").read_bytes() == b"x"
    assert not (root / "etc").exists()  # outside the chosen paths
    assert (task / "app.py").stat().st_mode & 0o777 == 0o644  # readable, as on Lambda


def test_nothing_is_written_outside(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "store")
    outside = tmp_path / "outside"
    outside.mkdir()
    image = _image(
        store,
        [
            ("var/task/../../outside/escape.txt", b"no", ""),
            ("/var/task/abs.py", b"abs is read relative", ""),
            ("var/task/link", None, str(outside)),
        ],
        [("var/task/link/through.txt", b"no", "")],
    )
    root = tmp_path / "root"
    unpack(image, root)
    assert list(outside.iterdir()) == []
    assert (root / "var" / "task" / "abs.py").read_bytes() == b"abs is read relative"
    assert (root / "var" / "task" / "link").is_symlink()
