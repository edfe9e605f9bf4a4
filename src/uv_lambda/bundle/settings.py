"""Resolve a FunctionConfig into the function to build (model.Function) and how: runtime,
architecture, handler, and where the code comes from."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from uv_lambda.artifact import ROLE_OF_FILE, metadata_path
from uv_lambda.bundle.verify.handler import default_handler, parse_handler
from uv_lambda.config import FunctionConfig
from uv_lambda.errors import ConfigError, UsageError
from uv_lambda.model import Architecture, Format, Function
from uv_lambda.project import Package, Project
from uv_lambda.runtimes import RUNTIMES, Runtime, get_runtime


@dataclass(frozen=True)
class RuntimeChoice:
    """The runtime a build targets, where it came from, and why (the build summary says so)."""

    runtime: Runtime
    origin: str  # "--runtime", "[tool.uv-lambda]", ".python-version", or DEFAULT
    reason: str  # "the oldest supported runtime in requires-python >=3.9; ..."
    warnings: tuple[str, ...] = ()


# The origin of a runtime chosen by requires-python and today's date.
DEFAULT = "default"


@dataclass(frozen=True)
class BuildSettings:
    """The function to build, and what only the build needs to know about it."""

    function: Function
    source: Package  # the package whose folder holds the function's code
    runtime_choice: RuntimeChoice | None = None
    lock_sha256: str = ""  # of uv.lock when settings were resolved: the default runtime's record is keyed by it

    @property
    def config(self) -> FunctionConfig:
        return self.function.config

    @property
    def runtime(self) -> Runtime:
        return self.function.runtime

    @property
    def architecture(self) -> Architecture:
        return self.function.architecture

    @property
    def handler(self) -> str | None:
        return self.function.handler

    @property
    def format(self) -> Format:
        return self.function.format


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


def _deprecation(runtime: Runtime, where: str) -> tuple[str, ...]:
    if not runtime.is_deprecated():
        return ()
    return (
        f"{runtime.name} ({where}) reached end of support on {runtime.deprecated_on}: "
        "AWS no longer patches it; move to a newer runtime",
    )


def _pinned(project: Project, specifier: SpecifierSet | None, source: Package) -> RuntimeChoice | None:
    pin = project.python_version_pin()
    if pin is None:
        return None
    version, path = pin
    try:
        runtime = get_runtime(version)
    except UsageError as exc:
        raise ConfigError(
            f"{path} pins Python {version}: {exc.message}",
            f"pin a supported version in {path.name} ({', '.join(r.python_version for r in RUNTIMES.values())}), "
            "or set runtime in [tool.uv-lambda]",
        ) from None
    if not _runtime_fits(runtime, specifier):
        raise ConfigError(
            f"{path} pins Python {version}, outside requires-python {specifier} of {source.name}",
            f"pin a version that requires-python allows in {path.name}, or change requires-python",
        )
    return RuntimeChoice(runtime, ".python-version", f"pinned by {path}", _deprecation(runtime, f"from {path}"))


def _ended(runtimes: list[Runtime]) -> str:
    """ "python3.10 and python3.11 ended support on 2026-06-30", one clause per date."""
    by_date: dict[object, list[str]] = {}
    for runtime in runtimes:
        by_date.setdefault(runtime.deprecated_on, []).append(runtime.name)
    return "; ".join(
        (f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0]) + f" ended support on {date}"
        for date, names in by_date.items()
    )


def default_runtime(specifier: SpecifierSet | None, source: Package, today: dt.date | None = None) -> RuntimeChoice:
    """The oldest supported runtime the project allows, by today's date, and why.

    requires-python is a lower bound the project is tested against; runtimes past their end of
    support only when nothing else fits.
    """
    within = f"in requires-python {specifier}" if specifier is not None else "(no requires-python)"
    fitting = [runtime for runtime in RUNTIMES.values() if _runtime_fits(runtime, specifier)]
    current = [runtime for runtime in fitting if not runtime.is_deprecated(today)]
    ended = [runtime for runtime in fitting if runtime.is_deprecated(today)]
    if current:
        reason = f"the oldest supported runtime {within}"
        skipped = [runtime for runtime in ended if fitting.index(runtime) < fitting.index(current[0])]
        return RuntimeChoice(current[0], DEFAULT, reason + (f"; {_ended(skipped)}" if skipped else ""))
    if fitting:
        runtime = fitting[0]
        reason = f"the oldest runtime {within}, where every runtime ended support: {_ended(ended)}"
        return RuntimeChoice(runtime, DEFAULT, reason, _deprecation(runtime, f"the default {within}"))
    raise ConfigError(
        f"no Lambda runtime satisfies requires-python {specifier} of {source.name}",
        "supported: " + ", ".join(RUNTIMES) + "; adjust requires-python or set runtime",
    )


def _recorded_default(folder: Path | None) -> tuple[str, str] | None:
    """(runtime, lock_sha256) of the previous build in `folder` when its runtime was the default."""
    if folder is None:
        return None
    for name in ROLE_OF_FILE:
        try:
            with open(metadata_path(folder / name), "rb") as handle:
                document = json.loads(handle.read())
        except (OSError, ValueError):
            continue
        if isinstance(document, dict) and document.get("runtime_origin") == DEFAULT:
            return str(document.get("runtime", "")), str(document.get("lock_sha256", ""))
    return None


def _stable_default(
    choice: RuntimeChoice, specifier: SpecifierSet | None, lock_sha256: str, previous: Path | None
) -> RuntimeChoice:
    """Today's default, unless the previous build of the same uv.lock chose another one by
    date: then that one, with a warning. The default never moves silently (docs/build.md)."""
    recorded = _recorded_default(previous)
    if recorded is None or recorded[0] == choice.runtime.name:
        return choice
    name, recorded_lock = recorded
    if recorded_lock != lock_sha256 or name not in RUNTIMES or not _runtime_fits(RUNTIMES[name], specifier):
        moved = (
            f"the default runtime moved from {name} (the previous build) to {choice.runtime.name}: {choice.reason}; "
            f'set runtime = "{choice.runtime.name}" in [tool.uv-lambda] to keep it from moving again'
        )
        return RuntimeChoice(choice.runtime, choice.origin, choice.reason, (*choice.warnings, moved))
    kept = RUNTIMES[name]
    warning = (
        f"keeping {name}, the default the previous build of this uv.lock chose; the default would now be "
        f"{choice.runtime.name} ({choice.reason}): set runtime in [tool.uv-lambda] to choose one"
    )
    reason = f"the default the previous build of this uv.lock chose (today's would be {choice.runtime.name})"
    return RuntimeChoice(kept, DEFAULT, reason, (warning,))


def choose_runtime(
    config: FunctionConfig, project: Project, source: Package, previous: Path | None = None, lock_sha256: str = ""
) -> RuntimeChoice:
    """The runtime: flag > config > .python-version > the default (see default_runtime).

    `previous` is the folder of the previous build, whose metadata keeps the default stable.
    """
    specifier = _specifier(source) or _specifier(project.members.get(project.package.name, source))
    if config.runtime:
        where = config.origins.get("runtime", "runtime")
        try:
            runtime = get_runtime(config.runtime)
        except UsageError as exc:
            raise UsageError(f"{exc.message} (set by {where})", exc.hint) from None
        if not _runtime_fits(runtime, specifier):
            raise ConfigError(
                f"runtime {runtime.name} ({where}) is outside requires-python {specifier} of {source.name}",
                "choose a runtime that requires-python allows, or widen requires-python",
            )
        return RuntimeChoice(runtime, where, f"set by {where}", _deprecation(runtime, f"set by {where}"))
    pinned = _pinned(project, specifier, source)
    if pinned is not None:
        return pinned
    return _stable_default(default_runtime(specifier, source), specifier, lock_sha256, previous)


def lock_digest(project: Project) -> str:
    try:
        return hashlib.sha256(project.lock_path.read_bytes()).hexdigest()
    except OSError:
        return ""


def resolve(project: Project, config: FunctionConfig, previous: Path | None = None) -> BuildSettings:
    """The build settings of `config`; `previous` is the output folder of its previous build."""
    source = project.source(config)
    lock_sha256 = lock_digest(project)
    choice = choose_runtime(config, project, source, previous, lock_sha256)
    handler: str | None = None
    if config.format.has_code:
        handler = config.handler if config.handler is not None else default_handler(source.path)
        parse_handler(handler)
    function = Function(config, choice.runtime, config.architecture, config.format, handler)
    return BuildSettings(function, source, choice, lock_sha256)
