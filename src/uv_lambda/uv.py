"""The one wrapper around the uv binary: finding it, checking its version, and the calls we make."""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from uv_lambda import proc
from uv_lambda.cache import remembered
from uv_lambda.errors import CommandError, UsageError

# The oldest uv the test suite runs against; older ones differ in export and platform flags.
MINIMUM_VERSION = (0, 13, 9)
_UPGRADE_HINT = "upgrade it with `pip install -U uv` (uv-lambda depends on the `uv` package) or `uv self update`"


# What uv prints when it cannot reach an index (as opposed to a resolution that has no answer).
NETWORK_FAILURE = re.compile(
    r"dns error|error sending request|failed to lookup address|Connection (?:refused|reset)|timed out|"
    r"Failed to fetch|Could not connect",
    re.IGNORECASE,
)
NETWORK_HINT = "uv could not reach the package index: check the network, the proxy (HTTPS_PROXY) and the indexes"
# uv's words for an index that refused a download for want of credentials (or for wrong
# ones). Checked before NETWORK_FAILURE, whose "Failed to fetch" such output also holds.
_AUTH_FAILURE = re.compile(r"\((?P<status>40[13] [A-Za-z ]+)\) for url \((?P<url>[^)\s]+)\)")
AUTH_HINT = (
    "give uv the index's credentials as `uv sync` needs them: UV_INDEX_<NAME>_USERNAME and "
    "UV_INDEX_<NAME>_PASSWORD for the [[tool.uv.index]] named NAME, or a ~/.netrc entry for its host"
)


def auth_refusal(output: str) -> str | None:
    """The message for an index's refusal ("the package index refused URL (401
    Unauthorized)"), when uv's output holds one."""
    match = _AUTH_FAILURE.search(output)
    return f"the package index refused {match.group('url')} ({match.group('status')})" if match else None


def _version_tuple(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        raise UsageError(f"could not read uv's version from {text.strip()!r}", _UPGRADE_HINT)
    return tuple(int(part) for part in match.groups())


@dataclass(frozen=True)
class Uv:
    path: Path
    version: str

    def run(
        self,
        args: Sequence[str | os.PathLike[str]],
        *,
        cwd: Path | None = None,
        what: str | None = None,
        hint: str | None = None,
        extra_env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> proc.Completed:
        # No colour or progress bars in captured output; never download a Python behind the
        # user's back (a build must use interpreters the user chose).
        env = {
            "NO_COLOR": "1",
            "UV_NO_PROGRESS": "1",
            "UV_PYTHON_DOWNLOADS": "never",
            **(extra_env or {}),
        }
        return proc.run(
            [self.path, *args],
            cwd=cwd,
            extra_env=env,
            what=what or f"uv {args[0]}",
            hint=hint,
            check=check,
        )

    def find_python(self, version: str, explicit: str | None = None) -> Path:
        """An interpreter of exactly `version` (e.g. "3.13"): `explicit` if given, else via uv."""
        remedies = (
            f"install one with `uv python install {version}`, pass `--python PATH` to a python{version} "
            "interpreter, or build with `--no-bytecode`"
        )
        if explicit:
            candidate = Path(explicit)
            resolved = shutil.which(explicit) if not candidate.exists() else str(candidate)
            if not resolved:
                raise UsageError(f"interpreter {explicit} does not exist", remedies)
            found = proc.run(
                [resolved, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                what=f"{explicit} --version",
                check=False,
            )
            if found.returncode != 0 or found.stdout.strip() != version:
                raise UsageError(
                    f"{explicit} is Python {found.stdout.strip() or '?'}, but the runtime needs Python {version}",
                    remedies,
                )
            return Path(resolved)
        # Remembered per PATH: the lookup is a subprocess on every build otherwise.
        key = [self.version, version, os.environ.get("PATH"), os.environ.get("PYENV_ROOT"), os.environ.get("UV_PYTHON")]
        found_path = remembered("python", key, lambda: self._discover_python(version), os.path.exists)
        if not found_path:
            raise UsageError(f"no Python {version} interpreter found", remedies)
        return Path(found_path)

    def _discover_python(self, version: str) -> str:
        """uv's discovery, then pyenv's real folders; "" when there is none."""
        # Run from a neutral folder: inside a project uv would weigh its requires-python.
        with tempfile.TemporaryDirectory() as neutral:
            result = self.run(
                ["python", "find", "--no-project", "--no-python-downloads", version],
                cwd=Path(neutral),
                check=False,
            )
        path = result.stdout.strip()
        if result.returncode == 0 and path:
            return path
        pyenv = _pyenv_interpreter(version)
        return str(pyenv) if pyenv else ""


def _pyenv_interpreter(version: str) -> Path | None:
    """pyenv's real interpreters: uv's discovery stops at pyenv shims that are not activated."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    matches = sorted(
        root.glob(f"{version}.*/bin/python{version}"),
        key=lambda p: _version_tuple(p.parent.parent.name),
    )
    return matches[-1] if matches else None


def _bundled_uv() -> tuple[str, str] | None:
    """The binary the `uv` wheel installed and the wheel's version, read from its RECORD.

    uv-lambda depends on the `uv` package, whose wheel ships the binary: the installer
    wrote the file RECORD names (path and size), so that file is that version, and
    `uv --version` (a subprocess on every first build) need not be asked. None when
    anything does not match (no such package, two dist-info folders, a binary replaced
    since): find_uv then asks the binary itself.
    """
    from importlib.util import find_spec

    try:
        spec = find_spec("uv")
    except (ImportError, ValueError):
        return None
    folders = spec.submodule_search_locations if spec is not None else None
    if not folders:
        return None
    return wheel_binary(os.path.dirname(next(iter(folders))))


def wheel_binary(site_packages: str) -> tuple[str, str] | None:
    """(path, version) of the uv binary that the `uv` wheel in `site_packages` installed, if
    its RECORD names one and that file still has the recorded size (see _bundled_uv)."""
    try:
        dist_infos = [
            entry.name
            for entry in os.scandir(site_packages)
            # `uv-<version>.dist-info`: a wheel's folder name escapes the name's own dashes.
            if entry.name.startswith("uv-") and entry.name.endswith(".dist-info") and "-" not in entry.name[3:-10]
        ]
        if len(dist_infos) != 1:
            return None
        with open(os.path.join(site_packages, dist_infos[0], "RECORD"), encoding="utf-8") as record:
            lines = record.read().splitlines()
    except OSError:
        return None
    executable = "uv.exe" if os.name == "nt" else "uv"
    for line in lines:
        name, _, rest = line.partition(",")
        size = rest.rpartition(",")[2]
        if name.replace("\\", "/").rsplit("/", 2)[-2:] not in (["bin", executable], ["Scripts", executable]):
            continue
        path = os.path.normpath(os.path.join(site_packages, name))
        try:
            if not size.isdigit() or os.stat(path).st_size != int(size):
                return None
        except OSError:
            return None
        return path, dist_infos[0][len("uv-") : -len(".dist-info")]
    return None


def _candidates() -> list[str]:
    found: list[str] = []
    try:
        # The `uv` package from PyPI, which uv-lambda depends on, ships the binary.
        from uv import find_uv_bin

        found.append(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    on_path = shutil.which("uv")
    if on_path:
        found.append(on_path)
    return found


@functools.cache
def find_uv() -> Uv:
    """The bundled uv first, then uv on PATH; refuses one older than MINIMUM_VERSION."""
    override = os.environ.get("UV_LAMBDA_UV")
    bundled = None if override else _bundled_uv()
    if bundled is not None:
        return _checked(Path(bundled[0]), bundled[1])
    candidates = [override] if override else _candidates()
    if not candidates:
        raise UsageError("uv was not found", "install it with `pip install uv` (or reinstall uv-lambda)")
    path = Path(candidates[0])

    def ask_version() -> str:
        try:
            return proc.run([path, "--version"], what="uv --version").stdout
        except CommandError as exc:
            raise UsageError(f"{path} does not run: {exc.message}", _UPGRADE_HINT) from None

    try:
        stat = path.stat()
        identity = [str(path.resolve()), stat.st_size, stat.st_mtime_ns]
    except OSError:
        identity = []
    # The same binary (path, size, mtime) always prints the same version: ask it once.
    output = remembered("uv-version", identity, ask_version, lambda _: bool(identity)) if identity else ask_version()
    return _checked(path, output)


def _checked(path: Path, version_text: str) -> Uv:
    version = _version_tuple(version_text)
    if version < MINIMUM_VERSION:
        minimum = ".".join(map(str, MINIMUM_VERSION))
        raise UsageError(
            f"uv {'.'.join(map(str, version))} at {path} is older than {minimum}, the oldest uv-lambda supports",
            _UPGRADE_HINT,
        )
    return Uv(path, ".".join(map(str, version)))
