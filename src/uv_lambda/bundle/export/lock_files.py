"""The lock's own wheel files, handed to uv as a `pylock.toml` (PEP 751) for the install.

uv.lock lists, for every registry package, the URL, size and hash of each of its wheels.
Installed from a requirements.txt, uv asks the index for each package's page again (a
revalidation request per package once its cached page is older than the index allows,
and on some mirrors on every build): 140 of the 185 ms that installing fastapi-hello's
15 packages took here. Given the same wheels by URL in a `pylock.toml`, uv asks no index:
it picks the wheel for the target among the lock's, as it would among the index's files
whose hashes the export pins (the same set), and takes it from its cache.

Only registry packages whose every wheel has a URL are written; the others (direct URLs,
git, a local find-links folder) and packages without a wheel go through the index as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from uv_lambda.project import normalize_name

HEADER = 'lock-version = "1.0"\ncreated-by = "uv-lambda"\n'


def _string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's for these characters)."""
    return json.dumps(value)


def package_block(package: Mapping[str, Any]) -> str | None:
    """The `[[packages]]` table of one uv.lock package, or None when it cannot be one."""
    source, wheels = package.get("source"), package.get("wheels")
    if not isinstance(source, dict) or not isinstance(source.get("registry"), str) or not wheels:
        return None
    if not isinstance(package.get("name"), str) or not isinstance(package.get("version"), str):
        return None
    files = []
    for wheel in wheels:
        url, digest, size = wheel.get("url"), wheel.get("hash"), wheel.get("size")
        algorithm, _, value = str(digest).partition(":")
        if not isinstance(url, str) or not value:
            return None
        sized = f", size = {size}" if isinstance(size, int) else ""
        files.append(f"  {{ url = {_string(url)}{sized}, hashes = {{ {algorithm} = {_string(value)} }} }},\n")
    return (
        "[[packages]]\n"
        f"name = {_string(package['name'])}\n"
        f"version = {_string(package['version'])}\n"
        f"index = {_string(source['registry'])}\n"
        f"wheels = [\n{''.join(files)}]\n"
    )


def blocks_by_pin(packages: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """`name==version` (normalised name) -> its pylock table, for each package that has one."""
    blocks = {}
    for package in packages:
        block = package_block(package)
        if block is not None:
            blocks[f"{normalize_name(package['name'])}=={package['version']}"] = block
    return blocks


def pylock_text(blocks: Iterable[str]) -> str:
    """A whole `pylock.toml` of the given package tables."""
    return HEADER + "".join("\n" + block for block in blocks)
