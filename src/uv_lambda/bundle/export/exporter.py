"""Turn uv.lock into what a function needs: pinned third-party requirements and local packages."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uv_lambda import sealed
from uv_lambda.bundle.export import lock_files, markers
from uv_lambda.cache import cache_root, miss
from uv_lambda.config import FunctionConfig
from uv_lambda.errors import CommandError, ConfigError, UsageError
from uv_lambda.project import Project, normalize_name
from uv_lambda.runtimes import Architecture, Runtime
from uv_lambda.uv import Uv

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


# Part of the export cache's key: a change in what an entry holds makes fresh entries.
_FORMAT = "4"  # 4: lock_files


@dataclass(frozen=True)
class Exported:
    requirements: str  # third-party requirements.txt, pinned, with hashes
    pins: tuple[tuple[str, str], ...]  # (normalised name, version), sorted
    # Local packages, sorted: workspace members and path dependencies (folders, sdists,
    # wheels), each shipped non-editable; with the marker of its export line ("" if none).
    local_packages: tuple[Path, ...]
    local_markers: tuple[str, ...] = ()
    # Requirements whose markers are false on the target ("colorama ; sys_platform == 'win32'")
    dropped: tuple[str, ...] = ()
    # Third-party packages the lock knows no wheel of: built from source
    source_only: tuple[str, ...] = ()
    # ("name==version", pylock table) of the pins whose wheels the lock lists by URL (lock_files.py)
    lock_files: tuple[tuple[str, str], ...] = ()


def _pins(lines: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((normalize_name(match.group(1)), match.group(2)) for match in map(_PIN.match, lines) if match))


def for_target(exported: Exported, runtime: Runtime, arch: Architecture) -> Exported:
    """Only the requirements whose markers hold on `runtime` and `arch` (see markers.py).

    The export itself stays universal (and cached as such); this runs on every build.
    """
    environment = markers.target_environment(runtime, arch)
    kept: list[str] = []
    dropped: list[str] = []
    for block in _blocks(exported.requirements):
        if markers.evaluate("\n".join(block), environment).applies:
            kept += block
        else:
            dropped.append(markers.requirement_line(block[0]))
    requirements = "".join(line + "\n" for line in kept)
    firsts = [line for line in kept if line and not line[0].isspace()]
    local_markers = exported.local_markers or ("",) * len(exported.local_packages)
    local = [
        path
        for path, marker in zip(exported.local_packages, local_markers, strict=True)
        if not marker or markers.evaluate(f"x ; {marker}", environment).applies
    ]
    pins = _pins(firsts)
    kept_names = {name for name, _ in pins}
    kept_pins = {f"{name}=={version}" for name, version in pins}
    return Exported(
        requirements,
        pins,
        tuple(local),
        (),
        tuple(dropped),
        tuple(name for name in exported.source_only if name in kept_names),
        tuple((pin, block) for pin, block in exported.lock_files if pin in kept_pins),
    )


def _blocks(text: str) -> list[list[str]]:
    """An exported requirements.txt as one block of lines per requirement (continuations kept)."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return blocks


# No dependency group ships unless `groups` names it: `--no-default-groups` also drops
# `[tool.uv] default-groups` (dev, test, ...), which `--no-dev` alone would keep.
NO_DEFAULT_GROUPS = "--no-default-groups"


def chosen_args(config: FunctionConfig) -> list[str]:
    """The `uv export` flags, beside NO_DEFAULT_GROUPS and --package, that choose which of
    the lock's packages ship: the extras, the groups, and exclude-packages pruned. The build
    and the Dockerfile (image/dockerfile.py) export with the same flags, so that both ship
    the same packages."""
    args = []
    for extra in config.extras:
        args += ["--extra", extra]
    for group in config.groups:
        args += ["--group", group]
    # --prune also drops what only the pruned package needed: boto3 takes botocore, s3transfer,
    # jmespath with it, while a dependency something else still needs stays.
    for package in config.exclude_packages:
        args += ["--prune", package]
    return args


def _export_args(project: Project, config: FunctionConfig) -> list[str]:
    args = ["export", "--locked", NO_DEFAULT_GROUPS, "--no-editable", "--no-header", "--no-annotate"]
    if config.package:
        args += ["--package", project.member(config.package).name]
    return args + chosen_args(config)


def _python_args(interpreter: Path | None) -> list[str]:
    # uv checks the lock against requires-python with an interpreter; hand it ours so its
    # own discovery (which trips over pyenv shims) is not needed.
    return ["--python", str(interpreter)] if interpreter else []


# uv's words for a requirement no index has: the name is wrong (or the index is).
_NOT_ON_INDEX = re.compile(r"Because (\S+) was not found in the package registry")


def lock(uv: Uv, project: Project, interpreter: Path | None) -> None:
    try:
        uv.run(
            ["lock", *_python_args(interpreter)],
            cwd=project.workspace_root,
            what="uv lock",
            hint="fix the dependency error uv reports",
        )
    except CommandError as exc:
        unreadable = _unreadable_lock(project.lock_path, uv, exc.output)
        if unreadable is not None:
            raise unreadable from None
        missing = _NOT_ON_INDEX.search(exc.output)
        if missing:
            raise ConfigError(
                f"uv lock failed: the package index has no package {missing[1]!r}",
                f"check the name {missing[1]!r} in the dependencies of pyproject.toml (or the index uv uses)",
            ) from None
        raise


# uv's words for a lock it cannot read: a schema of another uv version, or not TOML.
_LOCK_SCHEMA = re.compile(r"unsupported schema version \(v(\d+), but only v(\d+) is supported\)")
_LOCK_SYNTAX = re.compile(r"TOML parse error at line \d+, column \d+")


def _unreadable_lock(lock_path: Path, uv: Uv, output: str) -> ConfigError | None:
    """The one-line error for a uv.lock this uv cannot read, from uv's output; None otherwise."""
    schema = _LOCK_SCHEMA.search(output)
    if schema:
        found, supported = int(schema[1]), int(schema[2])
        newer = found > supported
        return ConfigError(
            f"{lock_path} uses lock schema v{found}, written by {'a newer' if newer else 'an older'} uv; "
            f"uv {uv.version} reads v{supported}",
            (
                "upgrade uv, or delete uv.lock and run `uv lock` with this uv"
                if newer
                else "delete uv.lock and run `uv lock` to write it again"
            ),
        )
    syntax = _LOCK_SYNTAX.search(output)
    not_utf8 = "did not contain valid UTF-8" in output
    if syntax or not_utf8 or "Failed to parse `uv.lock`" in output:
        where = f" ({syntax[0]})" if syntax else " (not UTF-8)" if not_utf8 else ""
        return ConfigError(
            f"{lock_path} is not a valid lock file{where}",
            "restore it from version control, or delete it and run `uv lock`",
        )
    return None


def _export_key(uv: Uv, project: Project, args: list[str]) -> str:
    """Everything `uv export --locked` reads: the lock, every pyproject.toml, the arguments."""
    digest = hashlib.sha256(json.dumps([_FORMAT, uv.version, str(project.workspace_root), args]).encode())
    digest.update(project.lock_path.read_bytes())
    for package in sorted(project.members.values(), key=lambda member: member.name):
        digest.update((package.path / "pyproject.toml").read_bytes())
    digest.update((project.workspace_root / "pyproject.toml").read_bytes())  # a virtual root is no member
    return digest.hexdigest()[:32]


def export(uv: Uv, project: Project, config: FunctionConfig, interpreter: Path | None) -> Exported:
    """Export the function's locked dependencies (no dev groups, nothing editable).

    The result is cached by the bytes of uv.lock and every pyproject.toml: while they are
    unchanged, the lock is still up to date and the export is the same.
    """
    if not project.lock_path.is_file():
        raise ConfigError(
            f"{project.lock_path} does not exist",
            "run `uv lock` (or pass --lock to let uv-lambda run it)",
        )
    check_excluded(project, config)
    args = [*_export_args(project, config), *_python_args(interpreter)]
    cached = cache_root() / "exports" / f"{_export_key(uv, project, args)}.json"
    data = sealed.read_dict(
        cached, "requirements", "pins", "local_packages", "local_markers", "source_only", "lock_files"
    )
    if data is not None:
        try:
            return Exported(
                str(data["requirements"]),
                tuple((str(name), str(version)) for name, version in data["pins"]),
                tuple(Path(path) for path in data["local_packages"]),
                tuple(str(marker) for marker in data["local_markers"]),
                (),
                tuple(str(name) for name in data["source_only"]),
                tuple((str(pin), str(block)) for pin, block in data["lock_files"]),
            )
        except (TypeError, ValueError):
            pass
    if cached.exists():
        miss(cached, "wrong digest or shape")
    exported = _run_export(uv, project, args)
    cached.parent.mkdir(parents=True, exist_ok=True)
    sealed.write(
        cached,
        {
            "requirements": exported.requirements,
            "pins": exported.pins,
            "local_packages": [str(path) for path in exported.local_packages],
            "local_markers": list(exported.local_markers),
            "source_only": list(exported.source_only),
            "lock_files": [list(pair) for pair in exported.lock_files],
        },
    )
    return exported


def excluded(kept: Exported, everything: Exported) -> list[str]:
    """The packages exclude-packages left out: those of `everything` (the export without the
    exclusions) that `kept` (the export with them) lacks, both for the same target."""
    local = {path.name for path in everything.local_packages} - {path.name for path in kept.local_packages}
    names = {name for name, _ in everything.pins} - {name for name, _ in kept.pins}
    return sorted(names | {normalize_name(name) for name in local})


def check_excluded(project: Project, config: FunctionConfig) -> None:
    """Every name in exclude-packages must be a package of uv.lock: a typo is an error."""
    if not config.exclude_packages or not project.lock_path.is_file():
        return
    known = {normalize_name(package["name"]) for package in lock_packages(project.lock_path) if "name" in package}
    for name in config.exclude_packages:
        if normalize_name(name) in known:
            continue
        from difflib import get_close_matches  # only for a name that is wrong

        close = get_close_matches(normalize_name(name), sorted(known), n=3, cutoff=0.6)
        where = config.origins.get("exclude_packages", "[tool.uv-lambda]")
        raise ConfigError(
            f"exclude-packages names {name!r} ({where}), which is not a package of {project.lock_path}",
            ("did you mean " + " or ".join(repr(match) for match in close) + "?")
            if close
            else "remove it, or name a package the lock holds (`uv tree` lists them)",
        )


def lock_packages(lock_path: Path) -> list[dict[str, Any]]:
    import tomllib

    try:
        with lock_path.open("rb") as handle:
            packages = tomllib.load(handle).get("package", [])
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{lock_path} is not a valid lock file ({exc})",
            "restore it from version control, or delete it and run `uv lock`",
        ) from None
    return [package for package in packages if isinstance(package, dict)]


def _run_export(uv: Uv, project: Project, args: list[str]) -> Exported:
    """One `uv export` (with hashes, workspace members included) split into third-party pins
    and local packages, while this process reads the lock for the packages without wheels
    and the wheel files of the others (lock_files.py).

    Local packages are the export's path lines: workspace members, and path dependencies
    outside the workspace, which are built and installed as local packages, never from an
    index. Every other block is a third-party pin, the same lines `--no-emit-workspace` gives.
    """
    from concurrent.futures import ThreadPoolExecutor

    # uv runs in its own process: the lock is parsed (pure Python, ~40 ms) while it does.
    with ThreadPoolExecutor(max_workers=1) as pool:
        lock_scan = pool.submit(lock_packages, project.lock_path)
        text = _exported_text(uv, project, args)
        packages = lock_scan.result()
    local: dict[Path, str] = {}
    third_party: list[str] = []
    for block in _blocks(text):
        path, marker = _local_line(block[0])
        if path is None:
            third_party += block
        else:
            local[(project.workspace_root / path).resolve()] = marker
    requirements = "".join(line + "\n" for line in third_party)
    ordered = sorted(local)
    pins = _pins(requirements.splitlines())
    blocks = lock_files.blocks_by_pin(packages)
    return Exported(
        requirements,
        pins,
        tuple(ordered),
        tuple(local[path] for path in ordered),
        (),
        source_only(packages),
        tuple((pin, blocks[pin]) for pin in (f"{name}=={version}" for name, version in pins) if pin in blocks),
    )


def _exported_text(uv: Uv, project: Project, args: list[str]) -> str:
    """uv's export, its failures told as what to fix."""
    try:
        return uv.run(args, cwd=project.workspace_root).stdout
    except CommandError as exc:
        if "needs to be updated" in exc.output:
            raise ConfigError(
                f"{project.lock_path} is out of date with pyproject.toml",
                "run `uv lock` (or pass --lock to let uv-lambda run it)",
            ) from None
        if "not found in workspace" in exc.output or "Could not find" in exc.output:
            raise UsageError(exc.message, "check `package` and `extras`/`groups` in [tool.uv-lambda]") from None
        unreadable = _unreadable_lock(project.lock_path, uv, exc.output)
        if unreadable is not None:
            raise unreadable from None
        exc.hint = exc.hint or "uv's message says what is wrong; run with -v for uv's whole output"
        raise


def _local_line(line: str) -> tuple[str | None, str]:
    """(path, marker) of an export line that names a local package; (None, "") otherwise."""
    requirement = markers.requirement_line(line).strip()
    if not requirement.startswith((".", "/")):
        return None, ""
    path, _, marker = requirement.partition(" ; ")
    return path.strip(), marker.strip()


def source_only(packages: list[dict[str, Any]]) -> tuple[str, ...]:
    """Registry packages of the lock with a source distribution and no wheel at all."""
    return tuple(
        sorted(
            {
                normalize_name(package["name"])
                for package in packages
                if "registry" in package.get("source", {}) and "sdist" in package and not package.get("wheels")
            }
        )
    )
