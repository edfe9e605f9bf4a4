"""Third-party dependencies, installed for the target and cached by content, per package.

Two levels:
- a package entry per pinned requirement (its hashed requirement text, runtime, platform,
  bytecode, uv version): the package's files and bytecode, verified, as a deterministic zip;
- a set entry per whole requirements text: the packages' compressed entries spliced into
  one archive (a new package's own entry is written in the background meanwhile).

A build whose set is cached does no install and no compression. When the lock changes,
only packages that are not cached yet are installed and compiled; the rest is spliced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import posixpath
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from uv_lambda import atomic, sealed
from uv_lambda import scratch as scratch_module
from uv_lambda.bundle import archive, bytecode
from uv_lambda.bundle.background import Background, start_removal
from uv_lambda.bundle.export import lock_files, markers
from uv_lambda.bundle.install import source_builds
from uv_lambda.bundle.stage import collisions
from uv_lambda.bundle.verify.platform_checks import Target, check_tree, dist_info_name
from uv_lambda.cache import cache_root, miss, tree_listing
from uv_lambda.errors import BuildError, CommandError, DamagedCacheEntry
from uv_lambda.proc import DiskFull
from uv_lambda.project import normalize_name
from uv_lambda.runtimes import Architecture, Runtime
from uv_lambda.uv import AUTH_HINT, NETWORK_FAILURE, NETWORK_HINT, Uv, auth_refusal

log = logging.getLogger(__name__)

LAYOUT_VERSION = "6"  # 6: no RECORD line for the removed bin/ (5: large files deflated in pieces)
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Requirement:
    name: str  # normalised
    text: str  # the export's block for it: pin, marker, hashes


@dataclass(frozen=True)
class CachedDependencies:
    key: str
    folder: Path
    package_sizes: dict[str, int]
    file_count: int
    unzipped_size: int
    top_levels: dict[str, list[tuple[str, bool]]]  # top-level name -> (package, regular) per owner
    archive_sha256: str  # of `archive`: checked as the archive is copied into an artifact

    @property
    def archive(self) -> Path:
        """Deterministic zip of the installed set, names relative to site-packages."""
        return self.folder / "dependencies.zip"

    def layer_archive(self, prefix: str) -> tuple[Path, str]:
        """The set as a layer zip, every name under `prefix`, and its sha256; made once per
        set and prefix, its digest kept in a sealed `layer-*.json` beside it."""
        name = f"layer-{hashlib.sha256(prefix.encode()).hexdigest()[:16]}"
        target, seal = self.folder / f"{name}.zip", self.folder / f"{name}.json"
        info = sealed.read_dict(seal, "sha256", "size")
        if info is not None and _size(target) == info["size"]:
            return target, str(info["sha256"])
        if info is not None or target.exists():
            miss(target, "missing or wrong digest")
        entries = archive.verified_entries(self.archive, self.archive_sha256)
        with atomic.replacing(target) as temporary:
            digest = archive.write_archive(Path(temporary), archive.with_prefix(entries, prefix)).hex()
        sealed.write(seal, {"sha256": digest, "size": _size(target)})
        return target, digest

    def base_sha256(self, base: Path) -> str:
        """The recorded digest of `base`, this set's archive or one of its layer archives."""
        if base == self.archive:
            return self.archive_sha256
        info = sealed.read_dict(base.with_suffix(".json"), "sha256")
        if info is None:
            raise DamagedCacheEntry(str(base), "its digest is missing")
        return str(info["sha256"])

    @property
    def site_packages(self) -> Path:
        """The installed set as a folder (unpacked on first use; the zip is the truth).

        A sealed listing (`site-packages.json`: path, size and mtime of every file) is
        compared on each use; a folder that differs is unpacked again.
        """
        target = self.folder / "site-packages"
        listing = sealed.read(self.folder / "site-packages.json")
        if target.is_dir() and listing is not None and listing == tree_listing(target):
            return target
        if target.exists() or listing is not None:
            miss(target, "its files changed since it was unpacked")
            (self.folder / "site-packages.json").unlink(missing_ok=True)
        if archive.file_sha256(self.archive) != self.archive_sha256:
            raise DamagedCacheEntry(str(self.archive), "its sha256 does not match")
        import zipfile  # only here: most builds never unpack a set

        unpacked = scratch_module.make(self.folder, "unpack")
        try:
            with zipfile.ZipFile(self.archive) as handle:
                handle.extractall(unpacked)
                # extractall drops modes; executables (.so files, tools) must keep 0755.
                for info in handle.infolist():
                    mode = (info.external_attr >> 16) & 0o777
                    if mode:
                        (unpacked / info.filename).chmod(mode)
            atomic.publish_folder(unpacked, target)  # or a concurrent build's, as good
        finally:
            shutil.rmtree(unpacked, ignore_errors=True)
        sealed.write(self.folder / "site-packages.json", tree_listing(target))
        return target


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


@dataclass(frozen=True)
class Request:
    """What `ensure` installs, for which target, and how."""

    requirements: str  # the export's third-party requirements.txt, for the target
    runtime: Runtime
    arch: Architecture
    interpreter: Path | None  # the target's interpreter, compiling bytecode; None: no bytecode
    build_paths: tuple[Path, ...]  # no installed file may contain these (platform_checks.py)
    project: Path  # uv runs here, so that the project's uv configuration applies
    source_only: tuple[str, ...] = ()  # packages with no wheel in the lock: built from source
    source_builds_allowed: bool = True
    build_python: Path | None = None  # builds the source-only packages
    allow_collisions: tuple[str, ...] = ()
    # name -> the pylock table of its wheels in the lock: installed by URL (lock_files.py)
    lock_files: Mapping[str, str] = field(default_factory=dict)

    @property
    def target(self) -> Target:
        return Target(self.runtime, self.arch)


def parse_requirements(text: str) -> list[Requirement]:
    """Split an exported requirements.txt into one block per package."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and blocks:
            blocks[-1].append(line.strip())
        else:
            blocks.append([line.strip()])
    requirements = []
    for block in blocks:
        match = _NAME.match(block[0])
        if match:
            requirements.append(Requirement(normalize_name(match.group(1)), "\n".join(block)))
    return requirements


def _target_material(request: Request, uv: Uv) -> dict[str, object]:
    return {
        "layout": LAYOUT_VERSION,
        "platform": request.runtime.uv_platform(request.arch),
        "python": request.runtime.python_version,
        "bytecode": request.interpreter is not None,
        "uv": uv.version,
    }


def _digest(material: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]


def remove_install_debris(target: Path) -> None:
    """Drop what `uv pip install --target` leaves that must not ship."""
    # Console scripts point at the building interpreter; Lambda cannot run them. Their
    # lines go from each RECORD too: a script's hash there is that of its shebang, the
    # path of whichever Python uv found on this machine (the artifact would differ from
    # one machine to the next), and RECORD lists what is installed.
    if (target / "bin").is_dir():
        shutil.rmtree(target / "bin", ignore_errors=True)
        for record in target.glob("*.dist-info/RECORD"):
            _drop_record_lines(record, "bin/")
    (target / ".lock").unlink(missing_ok=True)  # uv's lock for the target folder
    for cache_dir in list(target.rglob("__pycache__")):
        shutil.rmtree(cache_dir, ignore_errors=True)


def _drop_record_lines(record: Path, prefix: str) -> None:
    """Rewrite `record` without the lines of paths under `prefix`, as a new file: an
    installed file may be a hard link into uv's cache, never written through."""
    lines = record.read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(prefix.encode())]
    if len(kept) != len(lines):
        record.unlink()
        record.write_bytes(b"".join(kept))


_NO_WHEEL = re.compile(
    r"Because (?P<name>[A-Za-z0-9._-]+)(?:\{[^}]*\})?==(?P<version>\S+) has no "
    r"(?:usable wheels|wheels with a matching (?P<kind>platform|Python ABI|Python implementation|Python) tag)"
)
_NO_VERSION = re.compile(
    r"Because there is no version of (?P<name>[A-Za-z0-9._-]+)(?:\{[^}]*\})?==(?P<version>[^\s,]+)"
)
_PLATFORMS = re.compile(r"on the following platforms: (?P<platforms>.+)$", re.MULTILINE)


def _no_wheel_hint(name: str, kind: str | None, runtime: Runtime, arch: Architecture) -> str:
    python = f"CPython {runtime.python_version}"
    if kind != "platform":  # no wheel for this Python at all (ABI, implementation)
        return (
            f"pin a {name} release that publishes wheels for {python}, or choose a runtime that {name} has wheels for"
        )
    glibc = ".".join(map(str, runtime.glibc))
    if runtime.glibc < (2, 34):  # Amazon Linux 2: a newer runtime takes newer manylinux wheels
        return (
            f"pin a {name} release with a {runtime.manylinux} {arch.machine} wheel for {python}, "
            "or use python3.12 or newer (Amazon Linux 2023 takes manylinux_2_34 wheels)"
        )
    return f"pin a {name} release with a manylinux {arch.machine} wheel for {python} that needs glibc {glibc} or older"


def explain_install_failure(exc: CommandError, runtime: Runtime, arch: Architecture) -> BuildError:
    """What uv's failure to install the locked set means, with the fixes that apply."""
    target = f"{runtime.name} on {arch.value} ({runtime.uv_platform(arch)})"
    match = _NO_WHEEL.search(exc.output)
    if match:
        name, version = match.group("name"), match.group("version")
        platforms = _PLATFORMS.search(exc.output)
        elsewhere = f" (its wheels are for {platforms.group('platforms').strip()})" if platforms else ""
        return BuildError(
            f"{name} {version} has no wheel for {target}{elsewhere}",
            _no_wheel_hint(name, match.group("kind"), runtime, arch),
        )
    missing = _NO_VERSION.search(exc.output)
    if missing:
        name, version = missing.group("name"), missing.group("version")
        return BuildError(
            f"{name} {version}, pinned by uv.lock, is not offered by the project's package index",
            "the lock was made with other settings: check `exclude-newer` and the indexes in [tool.uv] "
            "(pyproject.toml or uv.toml), then run `uv lock`",
        )
    reason = exc.message.split(": ", 1)[-1]
    refusal = auth_refusal(exc.output)
    if refusal:
        return BuildError(f"installing dependencies for {target} failed: {refusal}", AUTH_HINT)
    if NETWORK_FAILURE.search(exc.output):
        return BuildError(f"installing dependencies for {target} failed: {reason}", f"{NETWORK_HINT} in [tool.uv]")
    return BuildError(
        f"installing dependencies for {target} failed: {reason}",
        "run with -v to see uv's whole output; if a requirement is at fault, fix it in pyproject.toml "
        "and run `uv lock`",
    )


def _install(uv: Uv, requirements: Path, target: Path, request: Request, build_python: Path | None = None) -> None:
    """Install wheels only; with `build_python`, the requirements are packages that publish
    only an sdist, and uv builds them with that interpreter (source_builds.py)."""
    runtime, arch = request.runtime, request.arch
    try:
        _run_install(uv, requirements, target, request, build_python)
    except DiskFull:
        raise
    except CommandError as exc:
        if build_python is not None:
            names = [requirement.name for requirement in parse_requirements(requirements.read_text())]
            raise source_builds.explain_failure(exc, names, runtime, arch) from None
        raise explain_install_failure(exc, runtime, arch) from None


def _run_install(uv: Uv, requirements: Path, target: Path, request: Request, build_python: Path | None) -> None:
    """One `uv pip install --target` of a requirements.txt or a pylock.toml, for the target."""
    runtime = request.runtime
    # Wheels only: an sdist with C code would be compiled for this machine, not for Lambda.
    build = ["--python", build_python] if build_python is not None else ["--only-binary", ":all:"]
    uv.run(
        [
            "pip",
            "install",
            "--target",
            target,
            "--requirements",
            requirements,
            "--python-platform",
            runtime.uv_platform(request.arch),
            "--python-version",
            runtime.python_version,
            *build,
            "--no-deps",  # the export is the complete, locked set
            "--no-sources",
            "--no-installer-metadata",
            "--no-compile-bytecode",
            # uv's default link mode (hardlinks from its cache on Linux) is safe here:
            # nothing writes into installed files, the compiler only adds new pycs.
        ],
        # The project's folder: its uv configuration (indexes, exclude-newer) applies, as
        # it did to `uv lock`; the caller's current folder may be another project.
        cwd=request.project,
        what="installing dependencies",
    )


def _install_wheels(uv: Uv, request: Request, requirements: list[Requirement], target: Path, scratch: Path) -> None:
    """Install `requirements` from wheels: the lock's own files by URL where it lists them
    (a pylock.toml: no index is asked, see lock_files.py), the rest from the index.

    When the lock's files do not install (none fits the target, a download fails), the
    whole lot goes through the index instead: uv's account of that failure is the one
    explain_install_failure reads, and the hint follows from it.
    """
    by_url = [requirement for requirement in requirements if requirement.name in request.lock_files]
    from_index = [requirement for requirement in requirements if requirement.name not in request.lock_files]
    refused = None  # the lock's files were refused for want of credentials: what to report
    if by_url:
        pylock = scratch / "pylock.toml"  # the name tells uv the format (PEP 751)
        pylock.write_text(lock_files.pylock_text(request.lock_files[requirement.name] for requirement in by_url))
        try:
            _run_install(uv, pylock, target, request, None)
        except DiskFull:
            raise
        except CommandError as exc:
            log.debug("the lock's wheel files did not install (%s): installing from the index", exc.message)
            refused = exc if auth_refusal(exc.output) else None
            shutil.rmtree(target)
            target.mkdir()
            from_index = requirements
    if from_index:
        requirements_file = scratch / "requirements.txt"
        requirements_file.write_text("".join(requirement.text + "\n" for requirement in from_index))
        try:
            _install(uv, requirements_file, target, request)
        except BuildError:
            if refused is None:
                raise
            # The index's refusal is the cause, not what the configured index then lacked
            # (a package of a private index is "not found" on PyPI).
            raise explain_install_failure(refused, request.runtime, request.arch) from None


def files_by_package(site_packages: Path, allow_collisions: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Partition an installed tree by distribution (relative paths), using each RECORD.

    A path two RECORDs list with different hashes was overwritten by the later install:
    a collision (collisions.py), unless allowed.
    """
    owner_of: dict[str, tuple[str, str]] = {}
    for record in sorted(site_packages.glob("*.dist-info/RECORD")):
        name = dist_info_name(record.parent.name)
        for line in record.read_text(errors="replace").splitlines():
            relative, digest = line.rsplit(",", 2)[:2] if line.count(",") >= 2 else (line.split(",", 1)[0], "")
            # RECORD paths are relative to site-packages; normpath folds "a/../b". Paths that
            # leave the folder (scripts in ../../bin) are not installed under --target.
            normal = posixpath.normpath(relative)
            if normal.startswith("../") or normal.startswith("/"):
                continue
            previous = owner_of.get(normal)
            overwritten = previous and previous[0] != name and previous[1] != digest
            if previous and overwritten and not collisions.allowed(normal, allow_collisions):
                survivor = site_packages / normal
                if not (survivor.is_file() and collisions.is_namespace_init(normal, survivor.read_bytes())):
                    raise collisions.between_packages(normal, previous[0], name)
            owner_of[normal] = (name, digest)
    files: dict[str, list[str]] = {}
    for folder, _, names in os.walk(site_packages):
        prefix = Path(folder).relative_to(site_packages).as_posix()
        for file in names:
            relative = file if prefix == "." else f"{prefix}/{file}"
            owner = owner_of.get(relative)
            if owner is not None:
                files.setdefault(owner[0], []).append(relative)
    return files


def _compress_by_package(
    by_package: dict[str, list[archive.SourceFile]], scratch: Path
) -> dict[str, list[archive.Entry]]:
    """Compress every package's files in one parallel pass; the entries, by package."""
    owners = [(owner, source) for owner, sources in by_package.items() for source in sources]
    compressed = archive.compress_files([source for _, source in owners], scratch)
    entries: dict[str, list[archive.Entry]] = {owner: [] for owner in by_package}
    for (owner, _), entry in zip(owners, compressed, strict=True):
        entries[owner].append(entry)
    return entries


def _install_missing(uv: Uv, request: Request, missing: list[Requirement], site_packages: Path, scratch: Path) -> None:
    """Install `missing` into `site_packages`: wheels in one uv call (_install_wheels),
    packages that publish only an sdist in a second one that builds them (source_builds.py)."""
    from_wheels = [requirement for requirement in missing if requirement.name not in request.source_only]
    from_source = [requirement for requirement in missing if requirement.name in request.source_only]
    if from_wheels:
        _install_wheels(uv, request, from_wheels, site_packages, scratch)
    if from_source:
        requirements_file = scratch / "sources.txt"
        requirements_file.write_text("".join(requirement.text + "\n" for requirement in from_source))
        _install(uv, requirements_file, site_packages, request, request.build_python)
    names = [requirement.name for requirement in from_source]
    source_builds.check_built(site_packages, names, request.runtime, request.arch)


def _compressed(
    site_packages: Path,
    by_package: dict[str, list[str]],
    compiler: bytecode.Compiler | None,
    python_version: str,
    scratch: Path,
) -> dict[str, list[archive.Entry]]:
    """Every package's files compressed, with their bytecode when `compiler` (compiling
    them: _new_packages) is given.

    Compression of the installed files runs in this process while the target interpreter
    compiles their bytecode: the two are the bulk of a first build's CPU time.
    """
    files = {
        owner: [archive.SourceFile(name, site_packages / name) for name in names] for owner, names in by_package.items()
    }
    entries = _compress_by_package(files, scratch / "files.bin")
    if compiler is None:
        return entries
    # Some packages ship files that do not compile (Python 2 tests, templates): they simply
    # get no pyc, as with pip's compileall. The others are in the compiler's blobs.
    failed = {failure.file for failure in compiler.wait()}
    written = compiler.pycs
    pycs: dict[str, list[archive.SourceFile]] = {owner: [] for owner in by_package}
    for owner, names in by_package.items():
        for name in names:
            if not name.endswith(".py") or name in failed:
                continue
            pyc = written.get((site_packages, name))
            if pyc is None:
                raise BuildError(f"the bytecode compiler left out {name}", "run with -v and report it")
            pycs[owner].append(
                archive.SourceFile(bytecode.pyc_name(name, python_version), pyc.blob, pyc.offset, pyc.length)
            )
    for owner, pyc_entries in _compress_by_package(pycs, scratch / "pycs.bin").items():
        entries[owner] += pyc_entries
    return entries


def _new_packages(
    uv: Uv, request: Request, missing: list[Requirement], scratch: Path
) -> dict[str, list[archive.Entry]]:
    """Install, verify and compile the packages that are not cached yet: each one's entries,
    sorted by name as its files.zip holds them, their compressed bytes in `scratch`. The
    installed tree (`scratch`/site-packages) is the caller's to remove: nothing reads it
    after this."""
    compiler = None
    try:
        # Started before the install so that its start-up is not on the critical path.
        compiler = bytecode.Compiler(request.interpreter) if request.interpreter is not None else None
        site_packages = scratch / "site-packages"
        site_packages.mkdir()
        _install_missing(uv, request, missing, site_packages, scratch)
        remove_install_debris(site_packages)
        by_package = files_by_package(site_packages, request.allow_collisions)
        if compiler is not None:
            # Compiling is the longest step: it starts before the checks, and a tree that
            # fails them only wastes the compiler's work (cancelled below).
            sources = sorted(name for files in by_package.values() for name in files if name.endswith(".py"))
            pyc_blobs = scratch / "pycs"
            pyc_blobs.mkdir()
            compiler.submit([(site_packages, sources)], into=pyc_blobs)
        check_tree(site_packages, request.target, [*request.build_paths, scratch])
        entries = _compressed(site_packages, by_package, compiler, request.runtime.python_version, scratch)
    finally:
        if compiler is not None:
            compiler.cancel()
    for requirement in missing:
        if not by_package.get(requirement.name):
            # Requirements whose markers are false on the target were dropped before the
            # install (markers.py): uv skipped one that applies.
            raise BuildError(
                f"uv installed no files for {markers.requirement_line(requirement.text)} "
                f"({request.runtime.name} on {request.arch.value})",
                "uv-lambda reads this requirement as needed on the target, but uv skipped it: "
                "run with -v to see uv's output, and report it with that output",
            )
    return {requirement.name: sorted(entries[requirement.name]) for requirement in missing}


def _remove_scratch(removing: Callable[[], None] | None, scratch: Path) -> None:
    if removing is not None:
        removing()
    shutil.rmtree(scratch, ignore_errors=True)


def _store_packages(packages: dict[str, list[archive.Entry]], keys: dict[str, str], scratch: Path) -> None:
    """Write a cache entry for each new package and move it into place.

    Runs in the background (Background) while the build goes on: the set and the artifact
    are made from the entries in hand, so nothing waits for these writes but the exit.
    """
    packages_root = scratch.parent
    for name, entries in packages.items():
        entry = scratch / keys[name]
        entry.mkdir()
        digest = archive.write_archive(entry / "files.zip", entries)
        info = {"name": name, "size": sum(e.size for e in entries), "file_count": len(entries), "sha256": digest.hex()}
        sealed.write(entry / "info.json", info)
        _publish(entry, packages_root / keys[name])


def _publish(scratch_entry: Path, final: Path) -> None:
    """Move a finished cache entry into place; a concurrent build's identical entry wins."""
    try:
        published = atomic.publish_folder(scratch_entry, final)
    except OSError:  # something else is in the way: reading the entry finds it damaged
        published = False
    if not published:
        shutil.rmtree(scratch_entry, ignore_errors=True)


def _collide(first: archive.Entry, second: archive.Entry, allow_collisions: tuple[str, ...]) -> bool:
    """Two packages' entries of one name that may not both ship (see collisions.py)."""
    if (first.crc, first.size) == (second.crc, second.size) or collisions.allowed(first.name, allow_collisions):
        return False
    return not all(collisions.is_namespace_init(e.name, archive.entry_bytes(e)) for e in (first, second))


def _load_set(folder: Path, key: str) -> CachedDependencies | None:
    """The set stored in `folder`; None when absent, or damaged (then removed)."""
    if not folder.exists():
        return None
    info = sealed.read_dict(folder / "info.json", "package_sizes", "file_count", "unzipped_size", "top_levels")
    try:
        assert info is not None
        tops = {
            top: [(str(owner), bool(regular)) for owner, regular in owners]
            for top, owners in info["top_levels"].items()
        }
        loaded = CachedDependencies(
            key,
            folder,
            {str(name): int(size) for name, size in info["package_sizes"].items()},
            int(info["file_count"]),
            int(info["unzipped_size"]),
            tops,
            str(info["sha256"]),
        )
        assert _size(loaded.archive) == info["size"]
    except (AssertionError, KeyError, TypeError, ValueError, AttributeError):
        miss(folder, "wrong digest, size or shape")
        return None
    return loaded


def _load_package(folder: Path) -> list[archive.Entry] | None:
    """A stored package's entries, its archive checked against its digest; None when absent,
    or damaged (then removed)."""
    if not folder.exists():
        return None
    info = sealed.read_dict(folder / "info.json", "name", "size", "file_count", "sha256")
    try:
        if info is None:
            raise DamagedCacheEntry(str(folder), "its info.json is missing or damaged")
        return archive.verified_entries(folder / "files.zip", str(info["sha256"]))
    except DamagedCacheEntry as exc:
        miss(folder, exc.reason)
        return None


def ensure(uv: Uv, request: Request, background: Background | None = None) -> tuple[CachedDependencies, bool]:
    """The cached dependency set for `request`, building what is missing first.

    Returns (set, hit). Verification runs before anything is stored, so every cache entry
    is one that passed for its target. `source_only` packages (no wheel in the lock) are
    built by uv with `build_python`, unless `source_builds_allowed` is false. The new
    packages' own cache entries are written by `background` (one made here if None) while
    the caller goes on; the set is complete when this returns.
    """
    if request.source_only and not request.source_builds_allowed:
        raise source_builds.refused(list(request.source_only), request.runtime)
    material = _target_material(request, uv)
    set_material: dict[str, object] = {**material, "requirements": request.requirements}
    if request.allow_collisions:  # a set stored under an allowance is not one for a build without it
        set_material["allow_collisions"] = sorted(request.allow_collisions)
    set_key = _digest(set_material)
    root = cache_root()
    sets_root, packages_root = root / "sets", root / "packages"
    cached = _load_set(sets_root / set_key, set_key)
    if cached:
        log.debug("dependency cache hit: %s", sets_root / set_key)
        return cached, True
    sets_root.mkdir(parents=True, exist_ok=True)
    packages_root.mkdir(parents=True, exist_ok=True)
    requirements = parse_requirements(request.requirements)
    keys = {r.name: _digest({**material, "requirement": r.text}) for r in requirements}
    stored = {r.name: _load_package(packages_root / keys[r.name]) for r in requirements}
    packages = {name: entries for name, entries in stored.items() if entries is not None}
    missing = [r for r in requirements if r.name not in packages]
    log.debug("packages cached: %d, to install: %s", len(requirements) - len(missing), [r.name for r in missing])
    needs_build = sorted(r.name for r in missing if r.name in request.source_only)
    if needs_build and request.build_python is None:
        raise source_builds.no_interpreter(needs_build, request.runtime)
    with contextlib.ExitStack() as stack:
        later = background if background is not None else stack.enter_context(Background())
        if not missing:
            _store_set(requirements, packages, keys, sets_root / set_key, request.allow_collisions)
        else:
            scratch = scratch_module.make(packages_root, "install")
            removing = None
            try:
                fresh = _new_packages(uv, request, missing, scratch)
                removing = start_removal(scratch / "site-packages")  # beside the writes below
                packages.update(fresh)
                later.submit(_store_packages, fresh, keys, scratch)
                _store_set(requirements, packages, keys, sets_root / set_key, request.allow_collisions)
            finally:
                # After the tasks before it (in order): the set was made from the scratch's bytes.
                later.submit(_remove_scratch, removing, scratch)
    loaded = _load_set(sets_root / set_key, set_key)
    assert loaded is not None
    return loaded, False


def _store_set(
    requirements: list[Requirement],
    packages: dict[str, list[archive.Entry]],
    keys: dict[str, str],
    folder: Path,
    allow_collisions: tuple[str, ...],
) -> None:
    """Splice the packages' entries into the set's archive and store it in `folder`."""
    work = scratch_module.make(folder.parent, "set")
    try:
        entries: list[archive.Entry] = []
        sizes: dict[str, int] = {}
        # Packages stored by separate installs meet here first: the same name twice.
        seen: dict[str, tuple[str, archive.Entry]] = {}
        owner_files: dict[str, list[str]] = {}
        for requirement in requirements:
            package_entries = packages[requirement.name]
            sizes[requirement.name] = sum(entry.size for entry in package_entries)
            for entry in package_entries:
                previous = seen.get(entry.name)
                if previous and _collide(previous[1], entry, allow_collisions):
                    raise collisions.between_packages(entry.name, previous[0], requirement.name)
                seen[entry.name] = (requirement.name, entry)
            owner_files[requirement.name] = [entry.name for entry in package_entries]
            entries += package_entries
        digest = archive.write_archive(work / "dependencies.zip", entries)
        summary = {
            "sha256": digest.hex(),
            "size": (work / "dependencies.zip").stat().st_size,
            "package_sizes": sizes,
            "file_count": len(entries),
            "unzipped_size": sum(entry.size for entry in entries),
            "packages": {r.name: keys[r.name] for r in requirements},
            "top_levels": {
                top: [[level.owner, level.regular] for level in levels]
                for top, levels in collisions.top_levels(owner_files).items()
            },
        }
        sealed.write(work / "info.json", summary)
        _publish(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
