"""`--endpoint-url` checked before any AWS call (import-light: no botocore)."""

from __future__ import annotations

from urllib.parse import urlsplit

from uv_lambda.errors import UsageError

_HINT = "give a full URL such as http://127.0.0.1:5000 or https://lambda.eu-west-1.amazonaws.com"


def check_endpoint_url(url: str | None) -> str | None:
    """The URL unchanged if botocore can send requests to it; else a one-line UsageError."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port out of 0-65535 or not a number
    except ValueError as exc:
        raise UsageError(f"--endpoint-url {url!r} is not a valid URL ({exc})", _HINT) from None
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"--endpoint-url {url!r} must start with http:// or https://", _HINT)
    if not parts.hostname:
        raise UsageError(f"--endpoint-url {url!r} names no host", _HINT)
    if port == 0:
        raise UsageError(f"--endpoint-url {url!r}: port 0 cannot be connected to", _HINT)
    return url
