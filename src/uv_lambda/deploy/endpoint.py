"""`--endpoint-url` and `--region` checked before any AWS call (import-light: no botocore)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from uv_lambda.errors import UsageError

_HINT = "give a full URL such as http://127.0.0.1:5000 or https://lambda.eu-west-1.amazonaws.com"


def check_endpoint_url(url: str | None) -> str | None:
    """The URL unchanged if botocore can send requests to it; else a one-line UsageError."""
    if url is None:
        return None
    if not url.strip():
        raise UsageError(f"--endpoint-url {url!r} is empty (is the variable it comes from unset?)", _HINT)
    if any(char.isspace() or not char.isprintable() for char in url):
        raise UsageError(f"--endpoint-url {url!r} is not a valid URL (it holds a space or a control character)", _HINT)
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


# botocore's rule for a region name: one DNS label (it becomes part of the endpoint's host name).
_REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?", re.ASCII)


def check_region(region: str | None, source: str = "--region") -> None:
    """A region given on the command line (or found in the environment or a profile) is one
    botocore can put in a host name; an empty one is refused, not replaced by the default."""
    if region is None:
        return
    if not region.strip():
        raise UsageError(f"{source} is empty", "pass a region such as us-east-1 (is the variable it comes from unset?)")
    if not _REGION.fullmatch(region):
        raise UsageError(f"{source} {region!r} is not a valid AWS region", "pass a region such as us-east-1")
