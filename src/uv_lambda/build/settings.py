"""Resolve a FunctionConfig into concrete build settings: runtime, architecture, handler."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from uv_lambda.config import FunctionConfig
from uv_lambda.errors import ConfigError
from uv_lambda.handler import default_handler, parse_handler
from uv_lambda.project import Package, Project
from uv_lambda.runtimes import RUNTIMES, Architecture, Runtime, get_architecture, get_runtime


@dataclass(frozen=True)
class BuildSettings:
    config: FunctionConfig
    source: Package  # the package whose folder holds the function's code
    runtime: Runtime
    architecture: Architecture
    handler: str | None  # None when only a layer is built
    format: str


def _specifier(package: Package) -> SpecifierSet | None:
    if package.requires_python is None:
        return None
    try:
        return SpecifierSet(package.requires_python)
    except InvalidSpecifier:
        raise ConfigError(
            f"{package.path / 'pyproject.toml'}: requires-python {package.requires_python!r} is not valid",
            'write it as e.g. ">=3.12"',
        ) from None


def _runtime_fits(runtime: Runtime, specifier: SpecifierSet | None) -> bool:
    # A runtime is "3.13.x": test with a patch version so ">=3.13" and "==3.13.*" both match.
    return (
        specifier is None
        or specifier.contains(f"{runtime.python_version}.99", prereleases=True)
        or specifier.contains(f"{runtime.python_version}.0", prereleases=True)
    )


def resolve_runtime(config: FunctionConfig, project: Project, source: Package) -> Runtime:
    specifier = _specifier(source) or _specifier(project.members.get(project.package.name, source))
    if config.runtime:
        runtime = get_runtime(config.runtime)
        if not _runtime_fits(runtime, specifier):
            raise ConfigError(
                f"runtime {runtime.name} is outside requires-python {specifier} of {source.name}",
                "choose a runtime that requires-python allows, or widen requires-python",
            )
        return runtime
    pinned = project.python_version_file()
    if pinned:
        return get_runtime(pinned)
    # The oldest supported runtime the project allows: requires-python is a lower bound
    # the project is tested against; deprecated runtimes only when nothing else fits.
    fitting = [runtime for runtime in RUNTIMES.values() if _runtime_fits(runtime, specifier)]
    current = [runtime for runtime in fitting if not runtime.is_deprecated()]
    if current or fitting:
        return (current or fitting)[0]
    raise ConfigError(
        f"no Lambda runtime satisfies requires-python {specifier} of {source.name}",
        "supported: " + ", ".join(RUNTIMES) + "; adjust requires-python or set runtime",
    )


def resolve(project: Project, config: FunctionConfig) -> BuildSettings:
    source = project.source(config)
    runtime = resolve_runtime(config, project, source)
    architecture = get_architecture(config.architecture)
    handler: str | None = None
    if config.format != "layer":
        handler = config.handler if config.handler is not None else default_handler(source.path)
        parse_handler(handler)
    return BuildSettings(config, source, runtime, architecture, handler, config.format)
