"""The [tool.uv-lambda] table and the flags that override it: defaults, per-function tables, one
schema for both, refused values."""

from __future__ import annotations

from pathlib import Path

import pytest

from uv_lambda.config import FunctionConfig, function_configs, with_overrides
from uv_lambda.errors import ConfigError, UsageError
from uv_lambda.model import Format
from uv_lambda.runtimes import Architecture


def test_config_defaults_functions_and_overrides(tmp_path: Path) -> None:
    source = tmp_path / "pyproject.toml"
    configs = function_configs(
        {"memory": 512, "functions": {"a": {"handler": "x.y"}, "b": {"memory": 1024}}}, "p", source
    )
    assert configs["a"].memory == 512 and configs["a"].handler == "x.y" and configs["b"].memory == 1024
    assert function_configs({}, "proj", source) == {"proj": FunctionConfig(name="proj")}
    overridden = with_overrides(configs["a"], architecture="arm64", runtime=None)
    assert overridden.architecture == "arm64" and overridden.runtime is None and overridden.memory == 512
    with pytest.raises(ConfigError, match="memory must be a whole number from 128 to 10240"):
        function_configs({"memory": 64}, "p", source)
    with pytest.raises(ConfigError, match="environment must be a table of strings"):
        function_configs({"environment": {"A": 1}}, "p", source)
    with pytest.raises(ConfigError, match="functions] must hold one table"):
        function_configs({"functions": {}}, "p", source)
    # Lambda refuses a configuration that sets a reserved variable; unreserved ones override.
    with pytest.raises(ConfigError, match=r"environment sets AWS_REGION, which Lambda reserves"):
        function_configs({"functions": {"a": {"environment": {"AWS_REGION": "x", "TZ": "y"}}}}, "p", source)
    assert function_configs({"environment": {"TZ": "Europe/Paris", "PATH": "/opt/bin"}}, "p", source)
    assert function_configs({"runtime-sdk": "1.40.4"}, "p", source)["p"].runtime_sdk == "1.40.4"
    with pytest.raises(ConfigError, match="runtime-sdk must be"):
        function_configs({"runtime-sdk": "newest"}, "p", source)


def test_flags_and_configuration_share_one_schema(tmp_path: Path) -> None:
    """A command-line value is validated and converted as the same key in pyproject.toml is;
    every range comes from limits.py (or is uv-lambda's own, said so)."""
    from uv_lambda import limits
    from uv_lambda.config import SCHEMA, check_override

    config = FunctionConfig(name="f")
    assert (config.memory, config.timeout, config.ephemeral_storage) == (
        limits.DEFAULT_MEMORY_MB,
        limits.DEFAULT_TIMEOUT_SECONDS,
        limits.DEFAULT_EPHEMERAL_STORAGE_MB,
    )
    for key, (low, high), hint in [
        ("memory", limits.MEMORY_MB, "Lambda allows"),
        ("timeout", limits.TIMEOUT_SECONDS, "Lambda allows"),
        ("ephemeral_storage", limits.EPHEMERAL_STORAGE_MB, "Lambda allows"),
        ("concurrency", (1, 64), "use"),
    ]:
        assert check_override(key, low) == low and check_override(key, high) == high
        for wrong in (low - 1, high + 1):
            flag = "--" + key.replace("_", "-")
            with pytest.raises(UsageError, match=f"{flag} {wrong} is out of range") as refused:
                with_overrides(config, **{key: wrong})
            assert refused.value.hint == f"{hint} {low} to {high}"
            with pytest.raises(ConfigError, match=f"from {low} to {high}"):
                function_configs({key.replace("_", "-"): wrong}, "p", tmp_path / "pyproject.toml")
    arm = with_overrides(config, architecture="arm64", format="split")
    assert arm.architecture is Architecture.ARM64 and arm.format is Format.SPLIT
    assert arm.origins == {"architecture": "--arch", "format": "--format"}
    with pytest.raises(UsageError, match="--format must be one of 'zip', 'layer', 'split', 'image', not 'tar'"):
        with_overrides(config, format="tar")
    # Built in code with plain strings, a config holds the same enums as a validated one.
    assert FunctionConfig(name="f", architecture="arm64").architecture is Architecture.ARM64  # type: ignore[arg-type]
    assert set(SCHEMA) >= {"memory", "timeout", "ephemeral-storage", "concurrency", "format", "architecture"}
