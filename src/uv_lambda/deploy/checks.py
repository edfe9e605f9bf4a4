"""Checks that refuse a deploy before any AWS call: AWS would refuse it, or worse, accept it.

Moto (and some AWS-compatible endpoints) accept bytes that are not a zip and sizes Lambda
refuses, so these limits are checked here, on the files, not left to the endpoint.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uv_lambda.artifact import ArtifactMetadata, digests
from uv_lambda.deploy.errors import DeployError
from uv_lambda.deploy.models import MAX_LAYERS, Cors, UrlSpec, ZipArtifact
from uv_lambda.errors import ConfigError
from uv_lambda.limits import UNZIPPED_LIMIT
from uv_lambda.ui import human_size

ENVIRONMENT_LIMIT = 4 * 1024  # bytes of all keys and values together


def inspect_zip(path: Path) -> ZipArtifact:
    """Digests and sizes of a zip, read from the file itself (not from its metadata)."""
    try:
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise DeployError(f"{path} is not a zip file ({exc})", "rebuild it with `uv-lambda build`") from None
    sha256, code_sha256 = digests(path)
    return ZipArtifact(path, sha256, code_sha256, path.stat().st_size, unzipped)


def check_build_metadata(metadata: ArtifactMetadata, path: Path) -> None:
    """What deploy takes from the metadata next to the zip (runtime, architecture, handler) is
    what a build writes: a hand-edited or foreign file is refused, not sent to Lambda."""
    from uv_lambda.bundle.verify.handler import parse_handler
    from uv_lambda.runtimes import RUNTIMES, Architecture

    where = f"{path.name}.json"
    hint = "rebuild with `uv-lambda build`: the metadata was edited, or not written by uv-lambda"
    if metadata.runtime not in RUNTIMES:
        raise DeployError(f"{where} names runtime {metadata.runtime!r}, which uv-lambda does not deploy", hint)
    if metadata.architecture not in tuple(Architecture):
        raise DeployError(f"{where} names architecture {metadata.architecture!r}; Lambda runs x86_64 or arm64", hint)
    if metadata.handler is not None:
        try:
            parse_handler(metadata.handler)
        except ConfigError:
            raise DeployError(f"{where} names a malformed handler {metadata.handler!r}", hint) from None


def check_unzipped_size(code: ZipArtifact, layer: ZipArtifact | None) -> None:
    total = code.unzipped_size + (layer.unzipped_size if layer else 0)
    if total > UNZIPPED_LIMIT:
        parts = f"code {human_size(code.unzipped_size)}"
        if layer:
            parts += f" + layer {human_size(layer.unzipped_size)}"
        raise DeployError(
            # AWS's "250 MB" is 250 MiB: say it as AWS does, with the exact figure.
            f"the function is {human_size(total)} unzipped ({parts}); Lambda allows "
            f"{UNZIPPED_LIMIT // 2**20} MB ({UNZIPPED_LIMIT:,} bytes) for code and layers together",
            "drop packages (exclude-packages, exclude) or deploy a container image instead",
        )


def check_layer_count(built_layer: bool, extra_layers: tuple[str, ...]) -> None:
    count = len(extra_layers) + (1 if built_layer else 0)
    if count > MAX_LAYERS:
        raise ConfigError(
            f"the function would have {count} layers; Lambda allows {MAX_LAYERS}",
            "remove entries from `layers` in [tool.uv-lambda]",
        )


def check_environment(environment: Mapping[str, str]) -> None:
    size = sum(len(key.encode()) + len(value.encode()) for key, value in environment.items())
    if size > ENVIRONMENT_LIMIT:
        raise ConfigError(
            f"environment variables take {size} bytes; Lambda allows {ENVIRONMENT_LIMIT}",
            "move large values to SSM Parameter Store or Secrets Manager and read them at start-up",
        )


_URL_KEYS = {"auth", "cors"}
# Lambda's Cors limits: AllowMethods items are methods of at most 6 characters, or "*".
CORS_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "*")
CORS_MAX_AGE = 86400
_CORS_KEYS = {
    "allow-origins",
    "allow-methods",
    "allow-headers",
    "expose-headers",
    "allow-credentials",
    "max-age",
}


def url_spec(table: Mapping[str, Any] | None) -> UrlSpec | None:
    """Parse `function-url = { auth = "NONE", cors = { allow-origins = ["*"] } }`."""
    if table is None:
        return None
    unknown = set(table) - _URL_KEYS
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(sorted(unknown))} in function-url", "known keys: auth, cors")
    auth = table.get("auth", "AWS_IAM")
    if auth not in ("NONE", "AWS_IAM"):
        raise ConfigError(
            f'function-url auth must be "NONE" or "AWS_IAM", not {auth!r}',
            "NONE makes the URL public; AWS_IAM needs signed requests",
        )
    cors_table = table.get("cors")
    if cors_table is None:
        return UrlSpec(auth)
    if not isinstance(cors_table, Mapping) or set(cors_table) - _CORS_KEYS:
        raise ConfigError(
            "function-url cors must be a table with keys " + ", ".join(sorted(_CORS_KEYS)),
            'e.g. cors = { allow-origins = ["https://example.com"] }',
        )

    def strings(key: str) -> tuple[str, ...]:
        value = cors_table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"function-url cors {key} must be a list of strings", f"fix {key}")
        return tuple(value)

    credentials = cors_table.get("allow-credentials", False)
    max_age = cors_table.get("max-age", 0)
    if not isinstance(credentials, bool) or isinstance(max_age, bool) or not isinstance(max_age, int):
        raise ConfigError(
            "function-url cors: allow-credentials must be true/false, max-age a number of seconds",
            "fix the cors table",
        )
    if not 0 <= max_age <= CORS_MAX_AGE:
        raise ConfigError(
            f"function-url cors max-age must be from 0 to {CORS_MAX_AGE} seconds, not {max_age}",
            "fix max-age in the cors table (browsers cap it lower still)",
        )
    for method in strings("allow-methods"):
        if method not in CORS_METHODS:
            raise ConfigError(
                f"function-url cors allow-methods {method!r} is not an HTTP method Lambda accepts",
                "use " + ", ".join(CORS_METHODS[:-1]) + " or *",
            )
    cors = Cors(
        allow_origins=strings("allow-origins"),
        allow_methods=strings("allow-methods"),
        allow_headers=strings("allow-headers"),
        expose_headers=strings("expose-headers"),
        allow_credentials=credentials,
        max_age=max_age,
    )
    return UrlSpec(auth, cors)
