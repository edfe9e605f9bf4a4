"""The [tool.uv-lambda] table: defaults, per-function tables, overrides and refused values."""

from __future__ import annotations

from pathlib import Path

import pytest

from uv_lambda.config import FunctionConfig, function_configs, with_overrides
from uv_lambda.errors import ConfigError


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
