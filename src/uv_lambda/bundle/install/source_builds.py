"""Dependencies that publish only a source distribution: built by uv with the target's Python.

Many older pure-Python packages have no wheel at all (docopt 0.6.2). uv builds those, and
only those (the lock names them: a registry package with an sdist and no wheel), with the
interpreter of the runtime's Python version. What comes out must fit the target: a pure
wheel does; one with compiled code is built for this machine, not for Lambda, and is
refused. `source-builds = false` refuses every source build. Local packages (workspace
members, path dependencies, vendored wheels) are held to the same rule (check_local_wheels).
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from uv_lambda.bundle.verify.platform_checks import Target, dist_info_name, supported_tags, wheel_tags
from uv_lambda.errors import BuildError, CommandError, UsageError
from uv_lambda.runtimes import Architecture, Runtime

_NOT_COMPATIBLE = re.compile(r"The built wheel `(?P<wheel>[^`]+)` is not compatible with the target")
_FAILED = re.compile(r"Failed to (?:download and )?build `(?P<name>[A-Za-z0-9._-]+)")


def _target_name(runtime: Runtime, arch: Architecture) -> str:
    return f"{runtime.name} {arch.machine}"


def native_code_error(name: str, runtime: Runtime, arch: Architecture, built: str) -> BuildError:
    return BuildError(
        f"{name} publishes only a source distribution with C code: no wheel for {_target_name(runtime, arch)} "
        f"(built here: {built})",
        f"replace {name} with a package that publishes manylinux wheels, or build a {runtime.manylinux} "
        f"{arch.machine} wheel of it for CPython {runtime.python_version} (in a manylinux or Amazon Linux "
        "container) and depend on that file (`uv add ./wheels/<file>.whl`)",
    )


def refused(names: list[str], runtime: Runtime) -> UsageError:
    """`source-builds = false` and the lock holds packages without a wheel."""
    listed = ", ".join(names)
    return UsageError(
        f"{listed} publish{'es' if len(names) == 1 else ''} only a source distribution, and "
        "source-builds = false allows wheels only",
        f"remove `source-builds = false` from [tool.uv-lambda] to let uv build "
        f"{'it' if len(names) == 1 else 'them'} with Python {runtime.python_version}, "
        f"or replace {'it' if len(names) == 1 else 'them'} with packages that publish wheels",
    )


def no_interpreter(names: list[str], runtime: Runtime) -> UsageError:
    version = runtime.python_version
    return UsageError(
        f"{', '.join(names)} must be built from source with Python {version}, and no Python {version} "
        "interpreter was found",
        f"install one with `uv python install {version}`, or pass `--python PATH` to a python{version} interpreter",
    )


def explain_failure(exc: CommandError, names: list[str], runtime: Runtime, arch: Architecture) -> BuildError:
    """uv's failure to build or accept a source-only package, as what it means for the user."""
    incompatible = _NOT_COMPATIBLE.search(exc.output)
    failed = _FAILED.search(exc.output)
    name = failed.group("name").split("==")[0] if failed else ", ".join(names)
    if incompatible:  # uv built it for this machine and refused it for the target itself
        try:
            built = ".".join(sorted(str(tag) for tag in parse_wheel_filename(incompatible.group("wheel"))[3]))
        except InvalidWheelFilename:
            built = incompatible.group("wheel")
        return native_code_error(name, runtime, arch, built)
    return BuildError(
        f"building {name} from source for {_target_name(runtime, arch)} failed: {exc.message.split(': ', 1)[-1]}",
        f"{name} publishes only a source distribution: fix what its build reports (run with -v for uv's "
        "whole output), or replace it with a package that publishes wheels",
    )


def check_built(site_packages: Path, names: list[str], runtime: Runtime, arch: Architecture) -> None:
    """Every package built from source is a pure wheel or one that fits the target."""
    supported = supported_tags(Target(runtime, arch))
    wanted = set(names)
    for wheel_file in sorted(site_packages.glob("*.dist-info/WHEEL")):
        name = dist_info_name(wheel_file.parent.name)
        if name not in wanted:
            continue
        lines, tags = wheel_tags(wheel_file)
        if not tags & supported:
            raise native_code_error(name, runtime, arch, ", ".join(lines) or "no tags")


def check_local_wheels(wheels: list[Path], runtime: Runtime, arch: Architecture) -> None:
    """Every local package's wheel (built here with the target's Python, or a vendored file)
    fits the target: one with compiled code built on this machine does not, and uv's own
    refusal ("incompatible with the current platform") would not say why."""
    supported = supported_tags(Target(runtime, arch))
    for wheel in wheels:
        name, _, _, tags = parse_wheel_filename(wheel.name)
        if tags & supported:
            continue
        built = ".".join(sorted(str(tag) for tag in tags))
        here = any(tag.platform.startswith("linux_") for tag in tags)
        what = f"compiled code built for this machine ({built})" if here else f"only a wheel for {built}"
        raise BuildError(
            f"local package {name} has {what}, no wheel for {_target_name(runtime, arch)}",
            f"build a {runtime.manylinux} {arch.machine} wheel of {name} for CPython {runtime.python_version} "
            "(in a manylinux or Amazon Linux container) and depend on that file (`uv add ./wheels/<file>.whl`), "
            "or keep its code pure Python",
        )
