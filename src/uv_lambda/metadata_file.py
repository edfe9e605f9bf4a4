"""The metadata file beside an artifact, as JSON: where it is, how it is written, digests.

Kept apart from artifact.py (the typed model) because an app-only rebuild updates these
files without loading the model: see bundle/rebuild/incremental.py.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os

from uv_lambda import atomic

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any


def metadata_path(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + ".json")


def digests(path: Path) -> tuple[str, str]:
    """(hex sha256, base64 sha256) of a file: the second is Lambda's CodeSha256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return formatted(digest.digest())


def file_sha256(path: str | os.PathLike[str]) -> str | None:
    """Hex sha256 of a file's bytes, None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except FileNotFoundError:
        return None


def formatted(sha256: bytes) -> tuple[str, str]:
    """A raw sha256 as (hex, base64): how the metadata and AWS's CodeSha256 spell it."""
    return sha256.hex(), binascii.b2a_base64(sha256, newline=False).decode("ascii")


def read_document(artifact: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(metadata_path(artifact).read_text())
    return document


def document_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write_document(artifact: Path, document: dict[str, Any]) -> None:
    """Write the metadata atomically, beside its artifact."""
    atomic.write_text(metadata_path(artifact), document_text(document))
