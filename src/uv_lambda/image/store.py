"""A content-addressed folder of blobs (`blobs/sha256/<hex>`), the layout OCI image folders use.

Built layers and downloaded base-image layers land here once; later builds, pushes and
`--output` read them from here instead of compressing or downloading again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from uv_lambda import atomic
from uv_lambda.cache import cache_root


def default_cache_dir() -> Path:
    return cache_root() / "image"


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        return self.root / "blobs" / algorithm / hexdigest

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    @contextmanager
    def temporary(self) -> Iterator[tuple[IO[bytes], Path]]:
        """A temporary file inside the store, removed unless committed (renamed) meanwhile."""
        folder = self.root / "blobs" / "sha256"
        folder.mkdir(parents=True, exist_ok=True)
        # Named for the store's folder: the blob's name (its digest) is known only once written.
        name = atomic.temporary_name(folder / "blob")
        handle = open(name, "xb")  # noqa: SIM115 (closed below, after the caller's block)
        try:
            yield handle, Path(name)
        finally:
            handle.close()
            Path(name).unlink(missing_ok=True)

    def commit(self, temp: Path, digest: str) -> Path:
        target = self.path(digest)
        atomic.commit(temp, target)
        return target

    # Small JSON records (what a layer source fingerprint produced) kept beside the blobs.
    def read_record(self, kind: str, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads((self.root / kind / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_record(self, kind: str, key: str, record: dict[str, Any]) -> None:
        folder = self.root / kind
        folder.mkdir(parents=True, exist_ok=True)
        atomic.write_text(folder / f"{key}.json", json.dumps(record))
