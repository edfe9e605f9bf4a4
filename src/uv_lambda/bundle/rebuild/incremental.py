"""Rebuilds after the application files changed, without running the whole pipeline.

A full build of a zip, layer or split artifact leaves a *build record* in the cache, one
per artifact folder whichever command wrote it (build, invoke, serve, deploy): the
command-line settings it was built with and a digest of PATH and the UV_* settings; the
project's configuration files (by content) and tools (uv, the interpreter), taken before
the build reads them; the rules that chose the application files (bundle/stage/sources.py) and
the files they chose (by the content that was built, and mode); what the checks need to
know about the rest (the dependencies' top-level names and size); the artifacts written,
their metadata and the archives spliced into them; and the application's compressed
entries. The next build into that folder with the same settings checks the record before
loading the rest of the CLI (record_file.py chooses and checks the files again, with the
code a full build uses):

- nothing changed: the artifacts are up to date and nothing is written;
- application files were edited, added, removed or chmod-ed: those are verified, compiled
  and compressed again and spliced with the cached dependency archive. Because archives
  are deterministic, the bytes are the ones a full build writes (tested);
- anything else (pyproject.toml, uv.lock or .python-version edited, an artifact or its
  metadata touched, workspace packages, a file added or removed where a dependency
  installs the same top-level name, a handler module added or removed, another
  uv-lambda): the full pipeline runs and writes a new record.

A record can be older than the project's files, never newer, so the worst a race can
cause is one full build more. This module imports only what such a rebuild needs.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from uv_lambda import atomic, sealed
from uv_lambda.bundle import bytecode
from uv_lambda.bundle.rebuild import record_file
from uv_lambda.bundle.stage import sources
from uv_lambda.cache import debug
from uv_lambda.errors import DamagedCacheEntry
from uv_lambda.metadata_file import document_text, file_sha256, formatted, metadata_path, read_document, write_document

# What a rebuild needs only once its compiler runs is imported inside the functions:
# see rebuild().
if TYPE_CHECKING:
    from uv_lambda.bundle import archive


def _stat(path: Path) -> list[int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return [status.st_size, status.st_mtime_ns]


def _stats(artifact: Path) -> list[list[int] | None]:
    """The artifact's and its metadata's: either changed by hand means a full build."""
    return [_stat(artifact), _stat(metadata_path(artifact))]


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
    path: str  # where it is in the project
    sha256: str | None  # of the bytes that were built (the staged copy), not of the file now
    mode: int  # the mode it was archived with
    stamp: list[int]  # size, mtime, ctime and inode, taken before its bytes were read


# A file changed this recently may change again within the file system's clock tick without
# its stamp showing it (git's "racy" entries): its stamp is not kept, so it is hashed next time.
_RACY_NS = 2_000_000_000


def _files(files: Iterable[LocalFile]) -> list[list[Any]]:
    """The record's file list; `stamp` is None for a file changed too recently to trust it."""
    racy = time.time_ns() - _RACY_NS
    return [[f.name, f.path, f.sha256, f.mode, None if max(f.stamp[1:3]) >= racy else f.stamp] for f in files]


class Inputs(NamedTuple):
    """The build's configuration files (sha256, None when absent) and tools (size, mtime)."""

    files: dict[str, str | None]
    tools: dict[str, list[int] | None]

    @classmethod
    def of(cls, files: Iterable[Path], tools: Iterable[Path]) -> Inputs:
        return cls({str(f): file_sha256(f) for f in files}, {str(t): _stat(t) for t in tools})


class Facts(NamedTuple):
    """What the checks of an app-only rebuild need to know about the rest of the function."""

    base_warnings: tuple[str, ...]  # the build's warnings that are not about application files
    installed_tops: tuple[str, ...]  # top-level names the dependencies install (collisions)
    installed_size: int  # unzipped bytes of the dependencies
    packages: tuple[tuple[str, int], ...]  # (name, unzipped bytes), for an over-size error


class Recipe(NamedTuple):
    """What the pipeline knows at the end of a build and a rebuild needs (see `record`)."""

    inputs: Inputs
    rules: sources.Rules  # what chose the application files
    files: tuple[LocalFile, ...]  # the application files
    selection_warnings: tuple[str, ...]  # what the selection left out
    facts: Facts
    interpreter: Path | None  # for bytecode; None with --no-bytecode
    python_version: str
    runtime: str
    architecture: str
    handler: str | None
    handler_discovered: bool  # not configured: found in the project's files (handler.discover_handler)


def record(
    destination: Path,
    recipe: Recipe,
    local_entries: list[archive.Entry],
    artifacts: list[tuple[Path, Path | None, bool]],
    overrides: Mapping[str, Any],
    bases: dict[str, str] | None = None,
) -> None:
    """Write the record of a finished build. `artifacts`: (path, base archive, holds local entries);
    `overrides`: the settings given on the command line (see record_owner); `bases`: the sha256
    of each base archive, checked when it is copied again."""
    from uv_lambda.bundle import archive

    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists() and sealed.read(destination) is None:
        debug("build record %s is damaged or from another version: replacing it", destination)
    local_archive = Path(record_file.local_archive(str(destination)))
    temporary_archive = Path(atomic.temporary_name(local_archive))
    local_sha256 = archive.write_archive(temporary_archive, local_entries).hex()
    document = {
        "version": record_file.RECORD_VERSION,
        "overrides": dict(overrides),
        "environment": record_file.environment_digest(),
        "inputs": recipe.inputs.files,
        "tools": recipe.inputs.tools,
        "root": recipe.rules.root,  # the folder application files are chosen from
        "rules": recipe.rules.as_json(),
        "files": _files(recipe.files),
        "selection_warnings": list(recipe.selection_warnings),
        "facts": recipe.facts._asdict(),
        "interpreter": str(recipe.interpreter) if recipe.interpreter else None,
        "python_version": recipe.python_version,
        "runtime": recipe.runtime,
        "architecture": recipe.architecture,
        "handler": recipe.handler,
        "handler_discovered": recipe.handler_discovered,
        "artifacts": [
            [str(path), str(base) if base else None, local, *_stats(path)] for path, base, local in artifacts
        ],
        "bases": bases or {},
        "local_sha256": local_sha256,
    }
    atomic.commit(temporary_archive, local_archive)
    sealed.write(destination, document)


def record_owner(destination: Path, overrides: Mapping[str, Any]) -> None:
    """Record only which settings built the folder, for a build no app-only rebuild can follow:
    a local run still knows whether the folder holds what it would build (app/build.py)."""
    Path(record_file.local_archive(str(destination))).unlink(missing_ok=True)
    document = {"version": record_file.RECORD_VERSION, "overrides": dict(overrides), "files": None}
    destination.parent.mkdir(parents=True, exist_ok=True)
    sealed.write(destination, document)


class Rebuilt(NamedTuple):
    documents: list[dict[str, Any]]  # {"path": artifact, **its metadata}, as `build --json` prints them
    changed: list[str]  # archive names of the application files edited, added or removed
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
    for path, base, _, *status in document["artifacts"]:
        # Our own artifact and its metadata, untouched, and the cached archive it was spliced from.
        if _stats(Path(path)) != status or (base and not Path(base).is_file()):
            return False
    return True


def rebuild_at(record: Path, never_inputs: Sequence[Path] | None = None) -> Rebuilt | None:
    """Bring the build recorded at `record` up to date; None when it needs the full pipeline.

    The caller has checked that the record's settings are the ones it wants (recorded_overrides).
    `never_inputs`: the folders this build writes to (see record_file.start); default the
    recorded ones.
    """
    outputs = None if never_inputs is None else [str(folder) for folder in never_inputs]
    started = record_file.start(str(record), never_inputs=outputs)
    return None if started is None else rebuild(started)


def _top(name: str) -> str:
    return name.split("/", 1)[0]


def _handler_names(handler: str | None) -> set[str]:
    """Archive names that decide where the handler is (its module, or a module named like
    the function that would make the handler name a module)."""
    if not handler or "." not in handler:
        return set()
    module, function = handler.rsplit(".", 1)
    folder = module.replace(".", "/").replace("//", "/")
    return {f"{folder}.py", f"{folder}/__init__.py", f"{folder}/{function}.py", f"{folder}/{function}/__init__.py"}


def _needs_pipeline(
    document: dict[str, Any], changed: Iterable[str], added: Iterable[str], removed: Iterable[str]
) -> bool:
    """Whether the files that changed need what only the full pipeline does: a name a
    dependency installs too (collisions, and which copy ships), where the handler is, or
    which handler is found when none is configured."""
    installed = set(document["facts"]["installed_tops"])
    handler = _handler_names(document["handler"])
    if any(_top(name) in installed or name in handler for names in (added, removed) for name in names):
        return True
    if document["handler_discovered"]:
        from uv_lambda.bundle.verify.handler import DISCOVERED_MODULES, discover_handler

        folders = [module.replace(".", "/") for module in DISCOVERED_MODULES]
        candidates = {name for folder in folders for name in (f"{folder}.py", f"{folder}/__init__.py")}
        if any(name in candidates for names in (changed, removed) for name in names):
            return bool(discover_handler(Path(document["root"])) != document["handler"])
    return False


def rebuild(started: record_file.Started) -> Rebuilt | None:
    """Finish what record_file.start began; None when the record is stale (full pipeline).

    Ordered for speed: the compiler's start-up is the longest step of an app-only rebuild,
    so it started first and gets the edited files before the record is even checked (a
    stale record cancels it); the dependency archives are copied while it compiles.
    """
    document, compiler = started.document, started.compiler
    record = Path(started.record)
    changed = {name: Path(path) for name, path in started.changed.items()}
    recorded = {name for name, *_ in document["files"]}
    added = [name for name in changed if name not in recorded]
    warnings = [*document["facts"]["base_warnings"], *started.selection.warnings]
    scratch = record.with_name(f".rebuild-{os.getpid()}-{time.time_ns()}")
    try:
        if _needs_pipeline(document, changed, added, started.removed):
            return None
        if not changed and not started.removed and warnings == _recorded_warnings(document):
            if not _still_valid(document):
                return None
            return Rebuilt(_documents(document), [], warnings)
        staged = scratch / "app"
        staged.mkdir(parents=True)
        modes = {chosen.name: chosen.mode for chosen in started.selection.files if chosen.name in changed}
        digests = _stage(changed, modes, staged)
        if compiler is not None:
            compiler.submit([(staged, [name for name in changed if name.endswith(".py")])])
        if not _still_valid(document):
            return None
        return _rebuild(record, started, changed, digests, warnings, scratch)
    except DamagedCacheEntry as exc:
        debug("%s: a full build replaces it", exc.message)
        return None  # the full build finds (and replaces) what is damaged
    finally:
        if compiler is not None:
            compiler.cancel()
        _remove_tree(scratch)


def _recorded_warnings(document: dict[str, Any]) -> list[str]:
    return [*document["facts"]["base_warnings"], *document["selection_warnings"]]


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
    started: record_file.Started,
    changed: dict[str, Path],
    digests: dict[str, str],
    warnings: list[str],
    scratch: Path,
) -> Rebuilt:
    from uv_lambda.bundle import archive

    document, compiler = started.document, started.compiler
    staged = scratch / "app"
    names = list(changed)
    _verify(document, staged, names, scratch)
    local_archive = Path(record_file.local_archive(str(record)))
    entries = {entry.name: entry for entry in archive.verified_entries(local_archive, document["local_sha256"])}
    old_size, old_count = sum(entry.size for entry in entries.values()), len(entries)
    version = document["python_version"]
    compiled = [bytecode.pyc_name(name, version) for name in names if name.endswith(".py")]
    for name in started.removed:
        entries.pop(name, None)
        if name.endswith(".py"):
            entries.pop(bytecode.pyc_name(name, version), None)
    final_names = [*entries, *names, *(compiled if document["interpreter"] else [])]
    bases = document["bases"]
    # While the compiler works: copy the dependencies into each artifact that holds code,
    # checking each against its digest as it is copied.
    outputs = [
        (
            Path(path),
            archive.ArchiveOutput(
                scratch / Path(path).name, Path(base) if base else None, final_names, bases[base] if base else None
            ),
        )
        for path, base, holds_local, *_ in document["artifacts"]
        if holds_local
    ]
    try:
        if compiler is not None:
            bytecode.raise_for_strict(compiler.wait())
            names += compiled
        fresh = archive.compress_files([archive.SourceFile(name, staged / name) for name in names], scratch / "new.bin")
        entries.update({entry.name: entry for entry in fresh})
        size_change = sum(entry.size for entry in entries.values()) - old_size
        count_change = len(entries) - old_count
        finished = [
            (final, _finish(final, output, entries.values(), size_change, count_change, warnings))
            for final, output in outputs
        ]
    finally:
        for _, output in outputs:
            output.close()
    written = {str(final): metadata for final, metadata in finished}
    _check_sizes(document, started.selection, written)
    document["local_sha256"] = archive.write_archive(scratch / "local.zip", entries.values()).hex()
    # The build is complete: put every file in place (each artifact with its metadata, signals
    # held back meanwhile), then the record of it.
    pairs: list[tuple[str | os.PathLike[str], str | os.PathLike[str]]] = []
    for final, metadata in finished:
        atomic.write_text(scratch / f"{final.name}.json", document_text(metadata))
        pairs += [(scratch / final.name, final), (scratch / f"{final.name}.json", metadata_path(final))]
    atomic.commit_all(pairs)
    for path, _, holds_local, *_ in document["artifacts"]:
        if not holds_local:  # the layer: its bytes stay, its metadata carries the warnings too
            metadata = read_document(Path(path))
            if metadata.get("warnings") != warnings:
                written[path] = {**metadata, "warnings": warnings}
                write_document(Path(path), written[path])
    atomic.commit(scratch / "local.zip", local_archive)
    _update_record(record, document, started.selection, digests)
    uploads = [sources.upload_warning(final.name, metadata["size"]) for final, metadata in finished]
    changes = sorted([*changed, *started.removed])
    return Rebuilt(_documents(document, written), changes, [*(u for u in uploads if u), *warnings])


def _check_sizes(document: dict[str, Any], selection: sources.Selection, written: dict[str, dict[str, Any]]) -> None:
    """Lambda's unzipped limit on every artifact of the function, as the full build checks it."""
    total = sum((written.get(path) or read_document(Path(path)))["unzipped_size"] for path, *_ in document["artifacts"])
    packages = [(name, size) for name, size in document["facts"]["packages"]]
    sources.check_unzipped_size(total, [*packages, *((chosen.name, chosen.size) for chosen in selection.files)])


def _stage(changed: dict[str, Path], modes: dict[str, int], staged: Path) -> dict[str, str]:
    """Copy the changed files into `staged`, with the modes they were chosen with; the sha256
    of what was copied, by name.

    One read per file: the record must describe the bytes that were built, even when the
    file is edited again while this runs.
    """
    digests = {}
    for name, path in changed.items():
        data = path.read_bytes()
        target = staged / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.chmod(target, modes[name])
        digests[name] = hashlib.sha256(data).hexdigest()
    return digests


def _finish(
    final: Path,
    output: archive.ArchiveOutput,
    entries: Iterable[archive.Entry],
    size_change: int,
    count_change: int,
    warnings: list[str],
) -> dict[str, Any]:
    """Complete one artifact in scratch; its metadata, updated from the previous build's."""
    metadata = read_document(final)
    metadata["sha256"], metadata["code_sha256"] = formatted(output.finish(entries))
    metadata["size"] = output.size
    metadata["unzipped_size"] += size_change
    metadata["file_count"] += count_change
    metadata["warnings"] = warnings
    return metadata


def _update_record(
    record: Path, document: dict[str, Any], selection: sources.Selection, digests: dict[str, str]
) -> None:
    for item in document["artifacts"]:
        item[3:] = _stats(Path(item[0]))
    digest_of = {name: digest for name, _, digest, *_ in document["files"]}
    digest_of.update(digests)
    document["files"] = _files(LocalFile(c.name, c.path, digest_of[c.name], c.mode, c.stamp) for c in selection.files)
    document["selection_warnings"] = selection.warnings
    sealed.write(record, document)


def _verify(document: dict[str, Any], staged: Path, names: list[str], scratch: Path) -> None:
    """The pipeline's checks, on the changed files (the others passed them already)."""
    # The tree checks look at binaries, wheel metadata and installer files: an edited .py
    # file is none of those (its syntax is checked by compiling it), so they run only when
    # something else changed.
    if any(not name.endswith(".py") for name in names):
        from uv_lambda.bundle.verify.platform_checks import Target, check_tree
        from uv_lambda.runtimes import get_architecture, get_runtime

        target = Target(get_runtime(document["runtime"]), get_architecture(document["architecture"]))
        check_tree(staged, target, [scratch])
    handler = document["handler"]
    if handler:
        from uv_lambda.bundle.verify.handler import check_handler, module_file, parse_handler

        if module_file(parse_handler(handler)[0], [staged]) is not None:
            check_handler(handler, [staged])
