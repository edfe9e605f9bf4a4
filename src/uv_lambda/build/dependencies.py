"""Third-party dependencies, installed for the target and cached by content.

The cache key covers everything that changes the installed bytes: the pinned, hashed
requirements, runtime, platform, bytecode, uv's version and this module's layout version.
An entry holds the installed tree and a deterministic zip of it, so a build that finds
the entry neither runs `uv pip install` nor recompresses anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from uv_lambda.build import archive, bytecode
from uv_lambda.cache import cache_root
from uv_lambda.errors import BuildError, CommandError
from uv_lambda.runtimes import Architecture, Runtime
from uv_lambda.uv import Uv
from uv_lambda.verify import Target, check_tree, package_sizes

log = logging.getLogger(__name__)

LAYOUT_VERSION = "1"


@dataclass(frozen=True)
class CachedDependencies:
    key: str
    site_packages: Path
    archive: Path  # deterministic zip of site_packages, names relative to it
    package_sizes: dict[str, int]
    file_count: int
    unzipped_size: int


def remove_install_debris(target: Path) -> None:
    """Drop what `uv pip install --target` leaves that must not ship."""
    # Console scripts point at the building interpreter; Lambda cannot run them.
    shutil.rmtree(target / "bin", ignore_errors=True)
    (target / ".lock").unlink(missing_ok=True)  # uv's lock for the target folder
    for cache_dir in list(target.rglob("__pycache__")):
        shutil.rmtree(cache_dir, ignore_errors=True)


def cache_key(requirements: str, runtime: Runtime, arch: Architecture, compile_bytecode: bool, uv: Uv) -> str:
    material = json.dumps(
        {
            "layout": LAYOUT_VERSION,
            "requirements": requirements,
            "platform": runtime.uv_platform(arch),
            "python": runtime.python_version,
            "bytecode": compile_bytecode,
            "uv": uv.version,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _load(entry: Path, key: str) -> CachedDependencies | None:
    info_path = entry / "info.json"
    if not info_path.is_file():
        return None
    info = json.loads(info_path.read_text())
    return CachedDependencies(
        key, entry / "site-packages", entry / "dependencies.zip", info["package_sizes"], info["file_count"], info["unzipped_size"]
    )


def _install(uv: Uv, requirements: Path, target: Path, runtime: Runtime, arch: Architecture) -> None:
    try:
        uv.run(
            [
                "pip", "install",
                "--target", target,
                "--requirements", requirements,
                "--python-platform", runtime.uv_platform(arch),
                "--python-version", runtime.python_version,
                # Wheels only: an sdist would be compiled for this machine, not for Lambda.
                "--only-binary", ":all:",
                "--no-deps",  # the export is the complete, locked set
                "--no-sources",
                "--no-installer-metadata",
                "--no-compile-bytecode",
                "--link-mode", "copy",
            ],
            what="installing dependencies",
        )
    except CommandError as exc:
        raise explain_install_failure(exc, runtime, arch) from None


_NO_WHEEL = re.compile(r"Because (?P<name>[A-Za-z0-9._-]+)(?:\{[^}]*\})?==(?P<version>\S+) has no (?:usable wheels|wheels with a matching)")


def explain_install_failure(exc: CommandError, runtime: Runtime, arch: Architecture) -> BuildError:
    """Name the package that has no wheel for the target, with the fixes that work."""
    target = f"{runtime.name} on {arch.value} ({runtime.uv_platform(arch)})"
    match = _NO_WHEEL.search(exc.output)
    if match:
        name, version = match.group("name"), match.group("version")
        return BuildError(
            f"{name} {version} has no wheel for {target}",
            f"pin a {name} release that publishes a {runtime.manylinux} {arch.machine} wheel "
            f"(uv add '{name}<{version}'), or use a newer runtime (python3.12+ allows manylinux_2_34)",
        )
    return BuildError(
        f"installing dependencies for {target} failed: {exc.message.split(': ', 1)[-1]}",
        "fix the requirement uv names in pyproject.toml, then run `uv lock`",
    )


def ensure(
    uv: Uv,
    requirements: str,
    runtime: Runtime,
    arch: Architecture,
    interpreter: Path | None,
    build_paths: list[Path],
) -> tuple[CachedDependencies, bool]:
    """The cached dependency set for these inputs, installing it first when missing.

    Returns (entry, hit). Verification runs before the entry is stored, so a cached entry
    is always one that passed.
    """
    key = cache_key(requirements, runtime, arch, interpreter is not None, uv)
    root = cache_root() / "dependencies"
    entry = root / key
    cached = _load(entry, key)
    if cached:
        log.debug("dependency cache hit: %s", entry)
        return cached, True
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    try:
        site_packages = scratch / "site-packages"
        site_packages.mkdir()
        requirements_file = scratch / "requirements.txt"
        requirements_file.write_text(requirements)
        if requirements.strip():
            _install(uv, requirements_file, site_packages, runtime, arch)
        remove_install_debris(site_packages)
        check_tree(site_packages, Target(runtime, arch), [*build_paths, scratch])
        if interpreter is not None:
            bytecode.compile_tree(interpreter, site_packages, runtime_prefix="", strict=False)
        files = sorted(p for p in site_packages.rglob("*") if p.is_file())
        sources = [archive.SourceFile(p.relative_to(site_packages).as_posix(), p) for p in files]
        entries = archive.compress_files(sources, scratch / "compressed.bin")
        archive.write_archive(scratch / "dependencies.zip", entries)
        (scratch / "compressed.bin").unlink()
        requirements_file.unlink()
        info = {
            "package_sizes": package_sizes(site_packages),
            "file_count": len(files),
            "unzipped_size": sum(entry.size for entry in entries),
        }
        (scratch / "info.json").write_text(json.dumps(info, sort_keys=True))
        try:
            scratch.rename(entry)
        except OSError:  # another build stored the same entry first: use theirs
            shutil.rmtree(scratch, ignore_errors=True)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    loaded = _load(entry, key)
    assert loaded is not None
    return loaded, False
