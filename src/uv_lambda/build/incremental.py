"""Rebuilds after an application-code edit, without running the whole pipeline.

A full build of a zip, layer or split artifact leaves a *build record* in the cache, keyed
by the command line, the folder it ran in, PATH and the UV_* settings: the project's
configuration files (by content) and tools (uv, the interpreter), taken before the build
reads them; a snapshot of what decides the file selection, taken before files are chosen;
the application files (by the content that was built); the artifacts written and the
archives spliced into them; and the application's compressed entries. The next
`uv-lambda build` with the same command line checks the record before loading the rest
of the CLI:

- nothing changed: the artifacts are up to date and nothing is written;
- only the contents of recorded application files changed: those files are verified,
  compiled and compressed again and spliced with the cached dependency archive. Because
  archives are deterministic, the bytes are the ones a full build writes (tested);
- anything else (a file added or removed, pyproject.toml, uv.lock or .python-version
  edited, an artifact touched, workspace packages, globs in `include`, another uv-lambda):
  the full pipeline runs and writes a new record.

A record can be older than the project's files, never newer, so the worst a race can
cause is one full build more. This module imports only what such a rebuild needs.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from uv_lambda.build import bytecode, record_file
from uv_lambda.build.never_shipped import NEVER_SHIPPED_DIRS, NEVER_SHIPPED_SUFFIXES
from uv_lambda.metadata_file import file_sha256, formatted, metadata_path, read_document, write_document

# What a rebuild needs only once its compiler runs is imported inside the functions:
# see rebuild().
if TYPE_CHECKING:
    from uv_lambda.build import archive

_GLOB_CHARACTERS = set("*?[")


def _stat(path: Path) -> list[int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return [status.st_size, status.st_mtime_ns]


def _stats(artifact: Path) -> list[list[int] | None]:
    """The artifact's and its metadata's: either changed by hand means a full build."""
    return [_stat(artifact), _stat(metadata_path(artifact))]


def listing(folder: Path) -> list[str]:
    """What the file selection can see in `folder`: caches and bytecode do not count."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n for n in names if n not in NEVER_SHIPPED_DIRS and not n.endswith(NEVER_SHIPPED_SUFFIXES))


def _kind(path: Path) -> str:
    return "folder" if path.is_dir() else "file" if path.exists() else "missing"


def selection_snapshot(root: Path, includes: Sequence[str] | None) -> dict[str, list[str]] | None:
    """What decides which application files are chosen, or None when globs make that unknowable.

    `includes` None means the default (top-level packages and modules): the snapshot holds
    what that default picks at the root. Otherwise it holds what each named path is. Each
    included folder adds its listing and its subfolders' (caches and bytecode do not count).
    The same snapshot later means the same files are chosen.
    """
    from uv_lambda.build.sources import default_includes

    if includes is None:
        chosen = default_includes(root)
        snapshot = {str(root): chosen}
    elif any(_GLOB_CHARACTERS.intersection(name) for name in includes):
        return None
    else:
        chosen = list(includes)
        snapshot = {str(root): [f"{name}:{_kind(root / name)}" for name in includes]}
    for name in chosen:
        top = root / name
        if top.is_dir():
            for folder, subfolders, _ in os.walk(top):
                subfolders[:] = sorted(s for s in subfolders if s not in NEVER_SHIPPED_DIRS)
                snapshot[folder] = listing(Path(folder))
    return snapshot


def record_path(out_dir: Path) -> Path:
    """Where the record of the artifacts in `out_dir` lives (one per folder, see record_file)."""
    return Path(record_file.location(out_dir))


def recorded_overrides(record: Path) -> dict[str, Any] | None:
    """The command-line settings the folder's artifacts were built with; None when unknown."""
    document = record_file.read(str(record))
    return None if document is None else dict(document["overrides"])


# NamedTuples, not dataclasses: dataclasses import inspect, a sizeable part of a rebuild.
class LocalFile(NamedTuple):
    name: str  # archive name, e.g. app/main.py
    path: Path  # where it is in the project
    sha256: str | None  # of the bytes that were built (the staged copy), not of the file now


class Inputs(NamedTuple):
    """The build's configuration files (sha256, None when absent) and tools (size, mtime)."""

    files: dict[str, str | None]
    tools: dict[str, list[int] | None]

    @classmethod
    def of(cls, files: Iterable[Path], tools: Iterable[Path]) -> Inputs:
        return cls({str(f): file_sha256(f) for f in files}, {str(t): _stat(t) for t in tools})


class Recipe(NamedTuple):
    """What the pipeline knows at the end of a build and a rebuild needs (see `record`)."""

    inputs: Inputs
    root: Path  # the folder application files are chosen from
    includes: list[str] | None  # the include names; None for the default
    selection: dict[str, list[str]]  # selection_snapshot(root, includes), taken before choosing
    files: tuple[LocalFile, ...]  # the application files
    interpreter: Path | None  # for bytecode; None with --no-bytecode
    python_version: str
    runtime: str
    architecture: str
    handler: str | None


def record(
    destination: Path,
    recipe: Recipe,
    local_entries: list[archive.Entry],
    artifacts: list[tuple[Path, Path | None, bool]],
    warnings: Sequence[str],
    overrides: Mapping[str, Any],
) -> None:
    """Write the record of a finished build. `artifacts`: (path, base archive, holds local entries);
    `overrides`: the settings given on the command line (see record_owner)."""
    from uv_lambda.build import archive

    destination.parent.mkdir(parents=True, exist_ok=True)
    local_archive = Path(record_file.local_archive(str(destination)))
    temporary_archive = local_archive.with_name(f".{local_archive.name}.{os.getpid()}")
    archive.write_archive(temporary_archive, local_entries)
    document = {
        "version": record_file.RECORD_VERSION,
        "overrides": dict(overrides),
        "environment": record_file.environment_digest(),
        "inputs": recipe.inputs.files,
        "tools": recipe.inputs.tools,
        "root": str(recipe.root),
        "includes": recipe.includes,
        "selection": recipe.selection,
        "files": [[f.name, str(f.path), f.sha256] for f in recipe.files],
        "interpreter": str(recipe.interpreter) if recipe.interpreter else None,
        "python_version": recipe.python_version,
        "runtime": recipe.runtime,
        "architecture": recipe.architecture,
        "handler": recipe.handler,
        "artifacts": [
            [str(path), str(base) if base else None, local, *_stats(path)] for path, base, local in artifacts
        ],
        "warnings": list(warnings),
    }
    temporary = destination.with_name(f".{destination.name}.{os.getpid()}")
    temporary.write_text(json.dumps(document, sort_keys=True))
    temporary_archive.replace(local_archive)
    temporary.replace(destination)


def record_owner(destination: Path, overrides: Mapping[str, Any]) -> None:
    """Record only which settings built the folder, for a build no app-only rebuild can follow:
    a local run still knows whether the folder holds what it would build (cli/_local_build.py)."""
    Path(record_file.local_archive(str(destination))).unlink(missing_ok=True)
    document = {"version": record_file.RECORD_VERSION, "overrides": dict(overrides), "files": None}
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.{os.getpid()}")
    temporary.write_text(json.dumps(document, sort_keys=True))
    temporary.replace(destination)


class Rebuilt(NamedTuple):
    documents: list[dict[str, Any]]  # {"path": artifact, **its metadata}, as `build --json` prints them
    changed: list[str]  # archive names of the application files that changed
    warnings: list[str]


def _documents(document: dict[str, Any], written: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """{"path": artifact, **metadata} for each recorded artifact; `written` metadata needs no re-read."""
    written = written or {}
    return [{"path": path, **(written.get(path) or read_document(Path(path)))} for path, *_ in document["artifacts"]]


def _still_valid(document: dict[str, Any]) -> bool:
    """Everything but the application files' contents is as it was."""
    if any(file_sha256(Path(path)) != digest for path, digest in document["inputs"].items()):
        return False
    if any(_stat(Path(path)) != status for path, status in document["tools"].items()):
        return False
    if selection_snapshot(Path(document["root"]), document["includes"]) != document["selection"]:
        return False
    for path, base, _, *status in document["artifacts"]:
        # Our own artifact and its metadata, untouched, and the cached archive it was spliced from.
        if _stats(Path(path)) != status or (base and not Path(base).is_file()):
            return False
    return True


def rebuild_at(record: Path) -> Rebuilt | None:
    """Bring the build recorded at `record` up to date; None when it needs the full pipeline.

    The caller has checked that the record's settings are the ones it wants (recorded_overrides).
    """
    started = record_file.start(str(record))
    return None if started is None else rebuild(started)


def rebuild(started: record_file.Started) -> Rebuilt | None:
    """Finish what record_file.start began; None when the record is stale (full pipeline).

    Ordered for speed: the compiler's start-up is the longest step of an app-only rebuild,
    so it started first and gets the edited files before the record is even checked (a
    stale record cancels it); the dependency archives are copied while it compiles.
    """
    document, compiler = started.document, started.compiler
    record = Path(started.record)
    changed = {name: Path(path) for name, path in started.changed.items()}
    scratch = record.with_name(f".{record.stem}.{os.getpid()}.{time.time_ns()}")
    try:
        if not changed:
            if not _still_valid(document):
                return None
            return Rebuilt(_documents(document), [], document["warnings"])
        staged = scratch / "app"
        digests = _stage(changed, staged)
        if compiler is not None:
            compiler.submit([(staged, [name for name in changed if name.endswith(".py")])])
        if not _still_valid(document):
            return None
        return _rebuild(record, document, changed, digests, compiler, scratch)
    finally:
        if compiler is not None:
            compiler.cancel()
        _remove_tree(scratch)


def _remove_tree(folder: Path) -> None:
    """shutil.rmtree for our own small scratch folder (shutil costs a rebuild 3 ms to import)."""
    for parent, folders, files in os.walk(folder, topdown=False):
        for name in files:
            os.unlink(os.path.join(parent, name))
        for name in folders:
            os.rmdir(os.path.join(parent, name))
    if folder.is_dir():
        folder.rmdir()


def _rebuild(
    record: Path,
    document: dict[str, Any],
    changed: dict[str, Path],
    digests: dict[str, str],
    compiler: bytecode.Compiler | None,
    scratch: Path,
) -> Rebuilt:
    from uv_lambda.build import archive

    staged = scratch / "app"
    names = list(changed)
    _verify(document, staged, names, scratch)
    local_archive = Path(record_file.local_archive(str(record)))
    entries = {entry.name: entry for entry in archive.read_entries(local_archive)}
    # While the compiler works: copy the dependencies into each artifact that holds code.
    outputs = [
        (Path(path), archive.ArchiveOutput(scratch / Path(path).name, Path(base) if base else None, entries))
        for path, base, holds_local, *_ in document["artifacts"]
        if holds_local
    ]
    if compiler is not None:
        bytecode.raise_for_strict(compiler.wait())
        names += [bytecode.pyc_name(name, document["python_version"]) for name in names if name.endswith(".py")]
    old_size = sum(entry.size for entry in entries.values())
    fresh = archive.compress_files([archive.SourceFile(name, staged / name) for name in names], scratch / "new.bin")
    entries.update({entry.name: entry for entry in fresh})
    size_change = sum(entry.size for entry in entries.values()) - old_size
    finished = [(final, _finish(final, output, entries.values(), size_change)) for final, output in outputs]
    archive.write_archive(scratch / "local.zip", entries.values())
    # The build is complete: put every file in place, then the record of it.
    for final, metadata in finished:
        (scratch / final.name).replace(final)
        write_document(final, metadata)
    (scratch / "local.zip").replace(local_archive)
    _update_record(record, document, digests)
    written = {str(final): metadata for final, metadata in finished}
    return Rebuilt(_documents(document, written), list(changed), document["warnings"])


def _stage(changed: dict[str, Path], staged: Path) -> dict[str, str]:
    """Copy the changed files into `staged`; the sha256 of what was copied, by name.

    One read per file: the record must describe the bytes that were built, even when the
    file is edited again while this runs.
    """
    from uv_lambda.build import archive

    digests = {}
    for name, path in changed.items():
        data = path.read_bytes()
        target = staged / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.chmod(target, archive.normalised_mode(path.stat().st_mode))
        digests[name] = hashlib.sha256(data).hexdigest()
    return digests


def _finish(
    final: Path, output: archive.ArchiveOutput, entries: Iterable[archive.Entry], size_change: int
) -> dict[str, Any]:
    """Complete one artifact in scratch; its metadata, updated from the previous build's."""
    metadata = read_document(final)
    metadata["sha256"], metadata["code_sha256"] = formatted(output.finish(entries))
    metadata["size"] = output.size
    metadata["unzipped_size"] += size_change
    return metadata


def _update_record(record: Path, document: dict[str, Any], digests: dict[str, str]) -> None:
    for item in document["artifacts"]:
        item[3:] = _stats(Path(item[0]))
    for item in document["files"]:
        item[2] = digests.get(item[0], item[2])
    temporary = record.with_name(f".{record.name}.{os.getpid()}")
    temporary.write_text(json.dumps(document, sort_keys=True))
    temporary.replace(record)


def _verify(document: dict[str, Any], staged: Path, names: list[str], scratch: Path) -> None:
    """The pipeline's checks, on the changed files (the others passed them already)."""
    # The tree checks look at binaries, wheel metadata and installer files: an edited .py
    # file is none of those (its syntax is checked by compiling it), so they run only when
    # something else changed.
    if any(not name.endswith(".py") for name in names):
        from uv_lambda.runtimes import get_architecture, get_runtime
        from uv_lambda.verify import Target, check_tree

        target = Target(get_runtime(document["runtime"]), get_architecture(document["architecture"]))
        check_tree(staged, target, [scratch])
    handler = document["handler"]
    if handler:
        from uv_lambda.handler import check_handler, module_file, parse_handler

        if module_file(parse_handler(handler)[0], [staged]) is not None:
            check_handler(handler, [staged])
