"""AWS's rules for the names and values a deploy sends, checked before any AWS call.

Moto accepts most of what Lambda and IAM refuse (a role that is not an ARN, a layer ARN
without a version, `my.function`), and Lambda refuses some only after the role and the
layer were made. Each rule here is the API's documented pattern or limit; a value that
breaks one is a ConfigError naming the value and what to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from uv_lambda.errors import ConfigError
from uv_lambda.reserved_variables import RESERVED as RESERVED_ENVIRONMENT_KEYS  # Lambda sets them

FUNCTION_NAME_LIMIT = 64
_FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]+")
# Lambda's Role pattern (CreateFunction).
_ROLE_ARN = re.compile(r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-/]+")
_LAYER_VERSION_ARN = re.compile(
    r"arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z]{2}(-[a-z]+)+-\d+):\d{12}"
    r":layer:(?P<name>[a-zA-Z0-9_-]{1,140}):(?P<version>[1-9]\d*)"
)
# EnvironmentVariableName: a letter, then at least one letter, digit or _.
_ENVIRONMENT_KEY = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")
ALIAS_LIMIT = 128
DESCRIPTION_LIMIT = 256
TAG_COUNT_LIMIT = 50  # per resource, uv-lambda's owner tag included
TAG_KEY_LIMIT = 128
TAG_VALUE_LIMIT = 256


def check_function_name(name: str, *, configured: bool) -> None:
    """`configured`: the name comes from `function-name`; else from the function's own name."""
    where = "function-name" if configured else "the function's name (the project's or its table's)"
    suggestion = re.sub(r"[^a-zA-Z0-9_-]+", "-", name).strip("-")[:FUNCTION_NAME_LIMIT] or "my-function"
    hint = f'set function-name = "{suggestion}" in [tool.uv-lambda] (Lambda names: letters, digits, - and _)'
    if not name:
        raise ConfigError(f"function name {name!r} is empty ({where})", hint)
    if len(name) > FUNCTION_NAME_LIMIT:
        raise ConfigError(
            f"function name {name!r} is longer than {FUNCTION_NAME_LIMIT} characters ({where})",
            hint,
        )
    if not _FUNCTION_NAME.fullmatch(name):
        raise ConfigError(f"function name {name!r} may hold only letters, digits, - and _ ({where})", hint)


def check_role_arn(role: str | None) -> None:
    if role is not None and not _ROLE_ARN.fullmatch(role):
        raise ConfigError(
            f"role {role!r} is not an IAM role ARN",
            'set role = "arn:aws:iam::123456789012:role/NAME", or leave role out to let uv-lambda make one',
        )


def check_layer_arns(arns: tuple[str, ...]) -> None:
    """Each a layer *version* ARN, and no layer twice (Lambda refuses two versions of one)."""
    seen: dict[str, str] = {}
    for arn in arns:
        match = _LAYER_VERSION_ARN.fullmatch(arn)
        if match is None:
            raise ConfigError(
                f"layer {arn!r} is not a layer version ARN",
                "list layers as arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION "
                "(`aws lambda list-layer-versions --layer-name NAME` shows them)",
            )
        layer = arn.rsplit(":", 1)[0]
        if layer in seen:
            raise ConfigError(
                f"layer {match['name']} is listed twice (versions {seen[layer]} and {match['version']})",
                "keep one version of each layer in `layers`: Lambda attaches only one",
            )
        seen[layer] = match["version"]


def check_layer_regions(arns: tuple[str, ...], region: str, function: str) -> None:
    for arn in arns:
        match = _LAYER_VERSION_ARN.fullmatch(arn)
        if match is not None and match["region"] != region:
            raise ConfigError(
                f"layer {arn!r} is in {match['region']}, not {region} where {function} is deployed",
                f"Lambda attaches layers from the same region only: publish the layer in {region}",
            )


def check_environment_keys(environment: Mapping[str, str]) -> None:
    hint = "name variables with letters, digits and _, starting with a letter (at least 2 characters)"
    for key in environment:
        if key in RESERVED_ENVIRONMENT_KEYS:
            raise ConfigError(
                f"environment variable {key!r} is reserved by Lambda, which sets it itself",
                "pick another name; " + hint,
            )
        if not _ENVIRONMENT_KEY.fullmatch(key):
            raise ConfigError(f"environment variable {key!r} is not a valid environment variable name", hint)


def check_alias(alias: str | None) -> None:
    if alias is None:
        return
    hint = "pick an alias name such as live or prod (--alias, or alias in [tool.uv-lambda])"
    if alias.isdigit():
        raise ConfigError(f"alias {alias!r} is a version number, not an alias name", hint)
    if len(alias) > ALIAS_LIMIT:
        raise ConfigError(f"alias {alias!r} is longer than {ALIAS_LIMIT} characters", hint)
    if not _FUNCTION_NAME.fullmatch(alias):
        raise ConfigError(f"alias {alias!r} may hold only letters, digits, - and _", hint)


def check_description(description: str) -> None:
    if len(description) > DESCRIPTION_LIMIT:
        raise ConfigError(
            f"description is {len(description)} characters; Lambda allows {DESCRIPTION_LIMIT}",
            "shorten description in [tool.uv-lambda]",
        )


def check_tags(tags: Mapping[str, str], *, owner_tags: int) -> None:
    """`owner_tags`: how many tags uv-lambda adds itself (they count against the limit too)."""
    hint = "fix tags in [tool.uv-lambda]"
    count = len(tags) + owner_tags
    if count > TAG_COUNT_LIMIT:
        raise ConfigError(
            f"the function would carry {count} tags (yours and uv-lambda's owner tag); Lambda allows {TAG_COUNT_LIMIT}",
            f"remove entries from tags in [tool.uv-lambda] (at most {TAG_COUNT_LIMIT - owner_tags})",
        )
    for key, value in tags.items():
        if key.lower().startswith("aws:"):
            raise ConfigError(f"tag key {key!r} starts with aws:, which AWS keeps for itself", hint)
        if not key or len(key) > TAG_KEY_LIMIT:
            raise ConfigError(f"tag key {key!r} is empty or longer than {TAG_KEY_LIMIT} characters", hint)
        if len(value) > TAG_VALUE_LIMIT:
            raise ConfigError(f"tag {key!r} has a value longer than {TAG_VALUE_LIMIT} characters", hint)
