"""`[tool.uv-lambda]` settings: the schema, validation, and the CLI > config > default order.

Layout in pyproject.toml:

    [tool.uv-lambda]              # defaults for every function of the project
    runtime = "python3.13"
    [tool.uv-lambda.functions.api]  # one table per function (optional)
    handler = "app.main.handler"

Without a `functions` table the project is one function named after the project.

A function's table is merged into the shared one key by key (docs/build.md, Configuration):
a plain value replaces the shared one; a table (`environment`, `tags`) is the shared table
updated with the function's keys; a list (`include`, `exclude`, `exclude-packages`, `layers`,
...) is the shared list followed by the function's, unless the function sets
`<key>-replace = true`. Every value remembers where it came from (`FunctionConfig.origins`),
for `uv-lambda config` and the build summary.

This is the one schema: every default is a FunctionConfig field and every range a SCHEMA
validator (Lambda's own limits and defaults come from limits.py). Command-line values go
through the same validators (`with_overrides`), so `--memory 64` is refused as `memory = 64` is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from uv_lambda import limits
from uv_lambda.errors import ConfigError, UsageError
from uv_lambda.model import Architecture, Format
from uv_lambda.reserved_variables import reserved_keys_in

FORMATS = tuple(Format)


@dataclass(frozen=True)
class FunctionConfig:
    """Everything configurable about one function; build, runner and deploy read it."""

    name: str
    handler: str | None = None
    runtime: str | None = None
    architecture: Architecture = Architecture.X86_64
    package: str | None = None  # the workspace member that holds the function
    python: str | None = None  # interpreter used to compile bytecode (default: found by uv)
    format: Format = Format.ZIP
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    bytecode: bool = True
    exclude_packages: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    # Let uv build dependencies that publish only a source distribution (docs/build.md).
    source_builds: bool = True
    # Names that may be shipped by two owners (bundle/stage/collisions.py); the application's copy wins.
    allow_collisions: tuple[str, ...] = ()
    # Refuse, rather than leave out with a warning, an application file the build must not
    # ship: a link out of the project or to a secret, a secret-looking file (bundle/stage/sources.py).
    strict: bool = False
    # Runner and deploy settings.
    memory: int = limits.DEFAULT_MEMORY_MB
    timeout: int = limits.DEFAULT_TIMEOUT_SECONDS
    environment: Mapping[str, str] = field(default_factory=dict)
    ephemeral_storage: int = limits.DEFAULT_EPHEMERAL_STORAGE_MB
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    layers: tuple[str, ...] = ()  # extra layer ARNs, after the built layer
    role: str | None = None
    function_name: str | None = None  # the name in AWS (default: `name`)
    s3_bucket: str | None = None
    function_url: Mapping[str, Any] | None = None
    alias: str | None = None
    concurrency: int = 4  # local execution environments
    runtime_sdk: str = "bundled"  # the boto3 of the local runtime: "bundled", "latest" or a version
    image_repository: str | None = None
    # attribute -> where its value came from ("[tool.uv-lambda]", "--runtime", ...); an
    # attribute not named here has its default.
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Built in code (tests, the IaC helpers) with plain strings: the same enums as validated ones.
        object.__setattr__(self, "architecture", Architecture(self.architecture))
        object.__setattr__(self, "format", Format(self.format))

    @property
    def aws_name(self) -> str:
        return self.function_name or self.name


Validator = Callable[[str, Any], Any]


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a string")
    return value


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


@dataclass(frozen=True)
class _IntRange:
    """A whole number from low to high; `allowed` is the hint of a flag out of range."""

    low: int
    high: int
    by_lambda: bool = True  # Lambda's limit (limits.py), not one of uv-lambda's own

    def __call__(self, key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            raise TypeError(f"a whole number from {self.low} to {self.high}")
        return value

    @property
    def allowed(self) -> str:
        return f"{'Lambda allows' if self.by_lambda else 'use'} {self.low} to {self.high}"


def _string_list(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError("a list of strings")
    return tuple(value)


def _globs(key: str, value: Any) -> tuple[str, ...]:
    """include/exclude: globs relative to the function's folder, that stay inside the project."""
    from uv_lambda.bundle.stage.sources import check_pattern

    patterns = _string_list(key, value)
    for pattern in patterns:
        reason = check_pattern(pattern)
        if reason is not None:
            raise TypeError(f"a list of globs inside the project ({reason})")
    return patterns


def _string_table(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise TypeError("a table of strings")
    return dict(value)


def _choice(enum: type[Architecture] | type[Format]) -> Validator:
    def check(key: str, value: Any) -> Architecture | Format:
        if value not in tuple(enum):
            raise TypeError("one of " + ", ".join(repr(str(choice)) for choice in enum))
        return enum(value)

    return check


def _sdk(key: str, value: Any) -> str:
    if not isinstance(value, str) or not (value in ("bundled", "latest") or re.fullmatch(r"\d+\.\d+\.\d+", value)):
        raise TypeError('"bundled", "latest" or a boto3 version such as "1.40.4"')
    return value


def _table(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError("a table")
    return dict(value)


# TOML key -> validator. The dataclass attribute is the key with "-" as "_".
SCHEMA: dict[str, Validator] = {
    "handler": _string,
    "runtime": _string,
    "architecture": _choice(Architecture),
    "package": _string,
    "python": _string,
    "format": _choice(Format),
    "include": _globs,
    "exclude": _globs,
    "bytecode": _boolean,
    "exclude-packages": _string_list,
    "extras": _string_list,
    "groups": _string_list,
    "source-builds": _boolean,
    "allow-collisions": _string_list,
    "strict": _boolean,
    "memory": _IntRange(*limits.MEMORY_MB),
    "timeout": _IntRange(*limits.TIMEOUT_SECONDS),
    "environment": _string_table,
    "ephemeral-storage": _IntRange(*limits.EPHEMERAL_STORAGE_MB),
    "description": _string,
    "tags": _string_table,
    "layers": _string_list,
    "role": _string,
    "function-name": _string,
    "s3-bucket": _string,
    "function-url": _table,
    "alias": _string,
    "concurrency": _IntRange(1, 64, by_lambda=False),  # local execution environments
    "image-repository": _string,
    "runtime-sdk": _sdk,
}

_ATTRIBUTES = {f.name for f in fields(FunctionConfig)} - {"origins"}
assert all(key.replace("-", "_") in _ATTRIBUTES for key in SCHEMA)

# Keys whose shared and per-function values combine instead of replacing each other.
LIST_KEYS = frozenset({"include", "exclude", "exclude-packages", "extras", "groups", "allow-collisions", "layers"})
TABLE_KEYS = frozenset({"environment", "tags"})  # function-url is one value: replaced whole
assert set(SCHEMA) >= LIST_KEYS | TABLE_KEYS
REPLACE_SUFFIX = "-replace"
SHARED_TABLE = "tool.uv-lambda"


def _validate_table(table: Mapping[str, Any], where: str, source: Path) -> dict[str, Any]:
    """The table's values by attribute name; `<key>-replace` flags stay under their TOML key."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key.endswith(REPLACE_SUFFIX) and key.removesuffix(REPLACE_SUFFIX) in LIST_KEYS | TABLE_KEYS:
            _check_replace_flag(key, value, where, source)
            values[key] = value
            continue
        validator = SCHEMA.get(key)
        if validator is None:
            from difflib import get_close_matches  # only for a key that is wrong

            close = get_close_matches(key, SCHEMA, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(SCHEMA)
            raise ConfigError(f"{source}: unknown key {key!r} in [{where}]", hint)
        try:
            values[key.replace("-", "_")] = validator(key, value)
        except TypeError as exc:
            raise ConfigError(
                f"{source}: [{where}] {key} must be {exc}, not {value!r}",
                f"fix {key!r} in {source.name}",
            ) from None
    reserved = reserved_keys_in(values.get("environment", {}))
    if reserved:
        # Lambda refuses such a configuration; so do build, invoke and deploy.
        raise ConfigError(
            f"{source}: [{where}] environment sets {reserved[0]}, which Lambda reserves",
            f"remove {', '.join(reserved)} from environment: Lambda sets it itself and rejects a function that sets it",
        )
    return values


def _check_replace_flag(key: str, value: Any, where: str, source: Path) -> None:
    if where == SHARED_TABLE:
        raise ConfigError(
            f"{source}: {key} is set in [{where}], where there is nothing to replace",
            f"move it to the [{where}.functions.NAME] table whose {key.removesuffix(REPLACE_SUFFIX)} "
            "should replace the shared one",
        )
    if not isinstance(value, bool):
        raise ConfigError(f"{source}: [{where}] {key} must be true or false, not {value!r}", f"fix {key!r}")


def _merge(
    shared: dict[str, Any], own: dict[str, Any], shared_where: str, own_where: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """One function's values and their origins: `own` merged into `shared` (see the module doc)."""
    values = dict(shared)
    origins = dict.fromkeys(shared, f"[{shared_where}]")
    for key in LIST_KEYS | TABLE_KEYS:
        attribute = key.replace("-", "_")
        if own.pop(key + REPLACE_SUFFIX, False):
            values[attribute] = own.pop(attribute, () if key in LIST_KEYS else {})
            origins[attribute] = f"[{own_where}] ({key}{REPLACE_SUFFIX})"
        elif attribute in own and attribute in shared:
            mine = own.pop(attribute)
            if key in LIST_KEYS:
                values[attribute] = (*shared[attribute], *(item for item in mine if item not in shared[attribute]))
            else:
                values[attribute] = {**shared[attribute], **mine}
            origins[attribute] = f"[{shared_where}] + [{own_where}]"
    values.update(own)
    origins.update(dict.fromkeys(own, f"[{own_where}]"))
    return values, origins


def function_configs(tool_table: Mapping[str, Any], default_name: str, source: Path) -> dict[str, FunctionConfig]:
    """Validate `[tool.uv-lambda]` and return one FunctionConfig per function, by name."""
    if not isinstance(tool_table, Mapping):
        raise ConfigError(f"{source}: [tool.uv-lambda] must be a table", "see the README")
    shared = dict(tool_table)
    functions = shared.pop("functions", None)
    defaults = _validate_table(shared, SHARED_TABLE, source)
    if functions is None:
        origins = dict.fromkeys(defaults, f"[{SHARED_TABLE}]")
        return {default_name: FunctionConfig(name=default_name, **defaults, origins=origins)}
    if not isinstance(functions, Mapping) or not functions:
        raise ConfigError(
            f"{source}: [tool.uv-lambda.functions] must hold one table per function",
            'add e.g. [tool.uv-lambda.functions.api] with handler = "app.main.handler"',
        )
    configs: dict[str, FunctionConfig] = {}
    for name, table in functions.items():
        where = f"{SHARED_TABLE}.functions.{name}"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: [{where}] must be a table", "see the README")
        values, origins = _merge(defaults, _validate_table(table, where, source), SHARED_TABLE, where)
        configs[name] = FunctionConfig(name=name, **values, origins=origins)
    return configs


# Command-line flags not spelled like the attribute they set (the origin `uv-lambda config` shows).
_FLAGS = {"architecture": "--arch", "bytecode": "--no-bytecode"}


def flag_of(attribute: str) -> str:
    return _FLAGS.get(attribute, f"--{attribute.replace('_', '-')}")


def check_override(attribute: str, value: Any) -> Any:
    """A command-line value, validated by the schema that validates the configuration (and
    converted the same way: "arm64" is Architecture.ARM64); a UsageError names the flag."""
    key = attribute.replace("_", "-")
    validator = SCHEMA.get(key)
    if validator is None:
        if attribute in _ATTRIBUTES:  # a flag beyond the schema's keys: taken as it is
            return value
        raise ValueError(f"not a FunctionConfig field: {attribute}")
    # The command line gives lists as tuples; the schema reads TOML's lists.
    try:
        return validator(key, list(value) if isinstance(value, tuple) else value)
    except TypeError as exc:
        if isinstance(validator, _IntRange) and isinstance(value, int):
            raise UsageError(f"{flag_of(attribute)} {value} is out of range", validator.allowed) from None
        raise UsageError(f"{flag_of(attribute)} must be {exc}, not {value!r}", f"fix {flag_of(attribute)}") from None


def with_overrides(config: FunctionConfig, **overrides: Any) -> FunctionConfig:
    """Apply command-line values (validated as configuration is); None means "not given" and
    keeps the configured value."""
    given = {key: check_override(key, value) for key, value in overrides.items() if value is not None}
    flags = {key: flag_of(key) for key in given}
    return replace(config, **given, origins={**config.origins, **flags})
