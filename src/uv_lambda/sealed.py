"""JSON documents that carry the sha256 of their own content: how every cache entry says what
it holds, so that a damaged one reads as absent (a cache miss), never as something else.

The file is the JSON text, a line break, and `sha256:<hex of the JSON text>`. Anything else
(missing, empty, truncated, a flipped bit, not JSON, another shape) reads as None. Only os,
json and hashlib are imported: build records are read this way before anything else loads.
"""

from __future__ import annotations

import hashlib
import json
import os

from uv_lambda import atomic

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from typing import Any

_MARK = b"\nsha256:"


def dumps(document: object) -> bytes:
    body = json.dumps(document, sort_keys=True).encode("utf-8")
    return body + _MARK + hashlib.sha256(body).hexdigest().encode("ascii") + b"\n"


def loads(data: bytes) -> Any:
    """The document, or None when `data` is not a sealed document with a matching digest."""
    body, mark, digest = data.rpartition(_MARK)
    if not mark or digest.rstrip(b"\n") != hashlib.sha256(body).hexdigest().encode("ascii"):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def read(path: str | os.PathLike[str]) -> Any:
    """The sealed document at `path`; None when it is missing, unreadable or damaged."""
    try:
        with open(path, "rb") as handle:
            return loads(handle.read())
    except OSError:
        return None


def read_dict(path: str | os.PathLike[str], *keys: str) -> dict[str, Any] | None:
    """The document at `path` if it is an object holding every one of `keys`, else None."""
    document = read(path)
    if not isinstance(document, dict) or any(key not in document for key in keys):
        return None
    return document


def write(path: str | os.PathLike[str], document: object) -> None:
    atomic.write_bytes(path, dumps(document))
