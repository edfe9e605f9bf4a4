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

import contextlib
import hashlib
import os
import time
from collections import namedtuple
from collections.abc import Iterable, Mapping, Sequence

from uv_lambda import atomic, sealed
from uv_lambda.bundle import bytecode
from uv_lambda.bundle.rebuild import changes, record_file
from uv_lambda.bundle.stage import sources
from uv_lambda.cache import debug
from uv_lambda.errors import DamagedCacheEntry
from uv_lambda.metadata_file import (
    ArtifactMetadata,
    file_sha256,
    formatted,
    metadata_path,
    metadata_text,
    read_metadata,
    write_metadata,
)

# What a rebuild needs only once its compiler runs is imported inside the functions:
# see rebuild(). typing is not imported at all (~3 ms): the records below are
# collections.namedtuple at run time and typing.NamedTuple for mypy.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, NamedTuple

    from _typeshed import StrPath

    from uv_lambda.bundle import archive

    class _InputsFields(NamedTuple):
        files: dict[str, str | None]
        tools: dict[str, list[int] | None]

    class _RecipeFields(NamedTuple):
        inputs: Inputs
        rules: sources.Rules  # what chose the application files
        files: tuple[record_file.RecordedFile, ...]  # the application files
        selection_warnings: tuple[str, ...]  # what the selection left out
        facts: record_file.Facts
        interpreter: Path | None  # for bytecode; None with --no-bytecode
        python_version: str
        runtime: str
        architecture: str
        handler: str | None
        handler_discovered: bool  # not configured: found in the project's files (handler.discover_handler)

    class _RebuiltFields(NamedTuple):
        documents: list[dict[str, Any]]  # {"path": artifact, **its metadata}, as `build --json` prints them
        changed: list[str]  # archive names of the application files edited, added or removed
        warnings: list[str]
else:
    _InputsFields = namedtuple("_InputsFields", "files tools")
    _RecipeFields = namedtuple(
        "_RecipeFields",
        "inputs rules files selection_warnings facts interpreter python_version runtime architecture handler "
        "handler_discovered",
    )
    _RebuiltFields = namedtuple("_RebuiltFields", "documents changed warnings")


def _recorded_artifact(path: StrPath, base: StrPath | None, holds_local: bool) -> record_file.RecordedArtifact:
    """An artifact as written, with its and its metadata's stat: either changed by hand means a full build."""
    stat, metadata_stat = record_file.stat_of(path), record_file.stat_of(metadata_path(path))
    base_path = os.fspath(base) if base else None
    return record_file.RecordedArtifact(os.fspath(path), base_path, holds_local, stat, metadata_stat)


def record_path(out_dir: Path) -> Path:
    """Where the record of the artifacts in `out_dir` lives (one per folder, see record_file)."""
    from pathlib import Path  # for the full build: a rebuild works with str paths

    return Path(record_file.location(out_dir))


def recorded_overrides(record: StrPath) -> dict[str, Any] | None:
    """The command-line settings the folder's artifacts were built with; None when unknown."""
    recorded = record_file.read(record, peek=True)  # the rebuild that follows reads it again
    return None if recorded is None else dict(recorded.overrides)


# A file changed this recently may change again within the file system's clock tick without
# its stamp showing it (git's "racy" entries): its stamp is not kept, so it is hashed next time.
_RACY_NS = 2_000_000_000


def _trusted(files: Iterable[record_file.RecordedFile]) -> list[record_file.RecordedFile]:
    """The files as recorded: no stamp for a file changed too recently to trust it."""
    racy = time.time_ns() - _RACY_NS
    return [
        record_file.RecordedFile(f.name, f.path, f.sha256, f.mode, None)
        if f.stamp is None or max(f.stamp[1:3]) >= racy
        else f
        for f in files
    ]


# Tuples, not dataclasses: dataclasses import inspect, a sizeable part of a rebuild.
class Inputs(_InputsFields):
    """The build's configuration files (sha256, None when absent) and tools (size, mtime)."""

    __slots__ = ()

    @classmethod
    def of(cls, files: Iterable[StrPath], tools: Iterable[StrPath]) -> Inputs:
        return cls({os.fspath(f): file_sha256(f) for f in files}, {os.fspath(t): record_file.stat_of(t) for t in tools})


class Recipe(_RecipeFields):
    """What the pipeline knows at the end of a build and a rebuild needs (see `record`)."""

    __slots__ = ()


def record(
    destination: StrPath,
    recipe: Recipe,
    local_entries: list[archive.Entry],
    artifacts: Sequence[tuple[StrPath, StrPath | None, bool]],
    overrides: Mapping[str, Any],
    bases: dict[str, str] | None = None,
) -> None:
    """Write the record of a finished build. `artifacts`: (path, base archive, holds local entries);
    `overrides`: the settings given on the command line (see record_owner); `bases`: the sha256
    of each base archive, checked when it is copied again."""
    from uv_lambda.bundle import archive

    os.makedirs(os.path.dirname(destination), exist_ok=True)
    if os.path.exists(destination) and sealed.read(destination) is None:
        debug("build record %s is damaged or from another version: replacing it", destination)
    local_archive = record_file.local_archive(os.fspath(destination))
    with atomic.replacing(local_archive) as temporary:
        local_sha256 = archive.write_archive(temporary, local_entries).hex()
    content = record_file.BuildRecord(
        overrides=dict(overrides),
        environment=record_file.environment_digest(),
        inputs=recipe.inputs.files,
        tools=recipe.inputs.tools,
        root=recipe.rules.root,
        rules=recipe.rules,
        files=_trusted(recipe.files),
        selection_warnings=list(recipe.selection_warnings),
        facts=recipe.facts,
        interpreter=str(recipe.interpreter) if recipe.interpreter else None,
        python_version=recipe.python_version,
        runtime=recipe.runtime,
        architecture=recipe.architecture,
        handler=recipe.handler,
        handler_discovered=recipe.handler_discovered,
        artifacts=[_recorded_artifact(path, base, local) for path, base, local in artifacts],
        bases=bases or {},
        local_sha256=local_sha256,
    )
    record_file.write(destination, content)


def record_owner(destination: StrPath, overrides: Mapping[str, Any]) -> None:
    """Record only which settings built the folder, for a build no app-only rebuild can follow:
    a local run still knows whether the folder holds what it would build (app/build.py)."""
    _remove_file(record_file.local_archive(os.fspath(destination)))
    record_file.write(destination, record_file.OwnerRecord(dict(overrides)))


class Rebuilt(_RebuiltFields):
    """What a rebuild did: the artifacts' documents, the files it took in, its warnings."""

    __slots__ = ()


def _metadata_of(build: record_file.BuildRecord, written: dict[str, ArtifactMetadata]) -> list[ArtifactMetadata]:
    """The metadata of each recorded artifact; `written` metadata needs no re-read."""
    return [written.get(item.path) or read_metadata(item.path) for item in build.artifacts]


def _documents(
    build: record_file.BuildRecord, written: dict[str, ArtifactMetadata] | None = None
) -> list[dict[str, Any]]:
    """{"path": artifact, **metadata} for each recorded artifact, as `build --json` prints them."""
    metadata = _metadata_of(build, written or {})
    return [{"path": item.path, **meta.to_json()} for item, meta in zip(build.artifacts, metadata, strict=True)]


def _still_valid(build: record_file.BuildRecord) -> bool:
    """Everything but the application files' contents is as it was."""
    if any(file_sha256(path) != digest for path, digest in build.inputs.items()):
        return False
    if any(record_file.stat_of(path) != status for path, status in build.tools.items()):
        return False
    for item in build.artifacts:
        # Our own artifact and its metadata, untouched, and the cached archive it was spliced from.
        now = _recorded_artifact(item.path, None, item.holds_local)
        if (now.stat, now.metadata_stat) != (item.stat, item.metadata_stat):
            return False
        if item.base and not os.path.isfile(item.base):
            return False
    return True


def rebuild_at(
    record: StrPath, never_inputs: Sequence[StrPath] | None = None, *, put_off_record: bool = False
) -> Rebuilt | None:
    """Bring the build recorded at `record` up to date; None when it needs the full pipeline.

    The caller has checked that the record's settings are the ones it wants (recorded_overrides).
    `never_inputs`: the folders this build writes to (see record_file.start); default the
    recorded ones. `put_off_record`: the artifacts are in place when this returns, the record
    of them is written by record_file.write_put_off (or the next read of a record).
    """
    outputs = None if never_inputs is None else [os.fspath(folder) for folder in never_inputs]
    started = record_file.start(os.fspath(record), never_inputs=outputs)
    return None if started is None else rebuild(started, put_off_record=put_off_record)


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
    build: record_file.BuildRecord, changed: Iterable[str], added: Iterable[str], removed: Iterable[str]
) -> bool:
    """Whether the files that changed need what only the full pipeline does: a name a
    dependency installs too (collisions, and which copy ships), where the handler is, or
    which handler is found when none is configured."""
    installed = set(build.facts.installed_tops)
    handler = _handler_names(build.handler)
    if any(_top(name) in installed or name in handler for names in (added, removed) for name in names):
        return True
    if build.handler_discovered:
        from uv_lambda.bundle.verify.handler import DISCOVERED_MODULES, discover_handler

        folders = [module.replace(".", "/") for module in DISCOVERED_MODULES]
        candidates = {name for folder in folders for name in (f"{folder}.py", f"{folder}/__init__.py")}
        if any(name in candidates for names in (changed, removed) for name in names):
            return bool(discover_handler(build.root) != build.handler)
    return False


def rebuild(started: record_file.Started, *, put_off_record: bool = False) -> Rebuilt | None:
    """Finish what record_file.start began; None when the record is stale (full pipeline).

    Ordered for speed: the compiler's start-up is the longest step of an app-only rebuild,
    so it started first and gets the edited files before the record is even checked (a
    stale record cancels it); the dependency archives are copied while it compiles.
    """
    build, compiler = started.build, started.compiler
    record = started.record
    changed = started.changed
    recorded = {item.name for item in build.files}
    added = [name for name in changed if name not in recorded]
    warnings = [*build.facts.base_warnings, *started.selection.warnings]
    scratch = os.path.join(os.path.dirname(record), f".rebuild-{os.getpid()}-{time.time_ns()}")
    try:
        if _needs_pipeline(build, changed, added, started.removed):
            return None
        if not changed and not started.removed and warnings == [*build.facts.base_warnings, *build.selection_warnings]:
            if not _still_valid(build):
                return None
            return Rebuilt(_documents(build), [], warnings)
        staged = os.path.join(scratch, "app")
        os.makedirs(staged)
        modes = {chosen.name: chosen.mode for chosen in started.selection.files if chosen.name in changed}
        digests = _stage(changed, modes, staged)
        if compiler is not None:
            compiler.submit([(staged, [name for name in changed if name.endswith(".py")])])
        if not _still_valid(build):
            return None
        rebuilt = _rebuild(record, started, changed, digests, warnings, scratch)
        if not put_off_record:
            record_file.write_put_off()
        return rebuilt
    except DamagedCacheEntry as exc:
        debug("%s: a full build replaces it", exc.message)
        return None  # the full build finds (and replaces) what is damaged
    finally:
        if compiler is not None:
            compiler.cancel()
        atomic.remove_tree(scratch)


def _rebuild(
    record: str,
    started: record_file.Started,
    changed: dict[str, str],
    digests: dict[str, str],
    warnings: list[str],
    scratch: str,
) -> Rebuilt:
    from uv_lambda.bundle import archive

    build, compiler = started.build, started.compiler
    staged = os.path.join(scratch, "app")
    names = list(changed)
    _verify(build, staged, names, scratch)
    local_archive = record_file.local_archive(record)
    source, skip, start = build.local_in if build.local_in else (local_archive, 0, 0)
    entries = {entry.name: entry for entry in archive.verified_entries(source, build.local_sha256, skip, start)}
    old_size, old_count = sum(entry.size for entry in entries.values()), len(entries)
    old_names = set(entries)
    version = build.python_version
    compiled = [bytecode.pyc_name(name, version) for name in names if name.endswith(".py")]
    for name in started.removed:
        entries.pop(name, None)
        if name.endswith(".py"):
            entries.pop(bytecode.pyc_name(name, version), None)
    final_names = [*entries, *names, *(compiled if build.interpreter else [])]
    bases = build.bases
    # While the compiler works: copy the dependencies into each artifact that holds code,
    # checking each against its digest as it is copied.
    outputs = [
        (
            item.path,
            archive.ArchiveOutput(
                os.path.join(scratch, os.path.basename(item.path)),
                item.base or None,
                final_names,
                bases[item.base] if item.base else None,
            ),
        )
        for item in build.artifacts
        if item.holds_local
    ]
    for _, output in outputs:  # on the disk while the rest is done, before the fsync of commit_all
        output.sync_in_background()
    try:
        if compiler is not None:
            bytecode.raise_for_strict(compiler.wait())
            names += compiled
        fresh = archive.compress_files(
            [archive.SourceFile(name, os.path.join(staged, name)) for name in names], os.path.join(scratch, "new.bin")
        )
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
    written = dict(finished)
    _check_sizes(build, started.selection, written)
    # The application's entries for the next rebuild: where an artifact holds them after its
    # base's, the artifact serves (the record keeps the digest of its part from there on, the
    # entries and the central directory); else a copy beside the record.
    served = [(final, output) for final, output in outputs if output.appended_after is not None]
    if served:
        final, output = served[0]
        skip, start = output.appended_after or (0, 0)
        build.local_in = [final, skip, start]
        build.local_sha256 = archive.file_sha256(os.path.join(scratch, os.path.basename(final)), start)
    else:
        build.local_in = None
        build.local_sha256 = archive.write_archive(os.path.join(scratch, "local.zip"), entries.values()).hex()
    # The build is complete: put every file in place (each artifact with its metadata, signals
    # held back meanwhile), then the record of it.
    befores = [(final, changes.identity(final)) for final, _ in finished]
    pairs: list[tuple[StrPath, StrPath]] = []
    for final, metadata in finished:
        in_scratch = os.path.join(scratch, os.path.basename(final))
        # Scratch, read back by commit_all below, which fsyncs it before the rename.
        with open(metadata_path(in_scratch), "wb") as out:
            out.write(metadata_text(metadata).encode())
        pairs += [(in_scratch, final), (metadata_path(in_scratch), metadata_path(final))]
    atomic.commit_all(pairs)
    _leave_changes(befores, staged, fresh, old_names - entries.keys())
    for item in build.artifacts:
        if not item.holds_local:  # the layer: its bytes stay, its metadata carries the warnings too
            layer = read_metadata(item.path)
            if list(layer.warnings) != warnings:
                written[item.path] = layer.replace(warnings=tuple(warnings))
                write_metadata(item.path, written[item.path])
    if build.local_in is None:
        atomic.commit(os.path.join(scratch, "local.zip"), local_archive)
    # The record is written now or later (see rebuild()): it is the next build's.
    record_file.put_off(lambda: _update_record(record, build, started.selection, digests))
    uploads = [sources.upload_warning(os.path.basename(final), metadata.size) for final, metadata in finished]
    names_changed = sorted([*changed, *started.removed])
    return Rebuilt(_documents(build, written), names_changed, [*(u for u in uploads if u), *warnings])


def _leave_changes(
    befores: list[tuple[str, list[int]]], staged: str, fresh: list[archive.Entry], removed: set[str]
) -> None:
    """Tell a local run in this process which entries of each artifact changed (changes.py)."""
    if sum(entry.size for entry in fresh) > changes.NOTE_BYTES:
        entries = None
    else:
        entries = {
            entry.name: changes.ChangedEntry(
                _read(os.path.join(staged, entry.name)), entry.crc, bool(entry.mode & 0o100)
            )
            for entry in fresh
        }
    for final, before in befores:
        after = changes.identity(final)
        note = None if entries is None else changes.ArtifactChange(before, after, entries, sorted(removed))
        changes.leave(final, note)


def _check_sizes(
    build: record_file.BuildRecord, selection: sources.Selection, written: dict[str, ArtifactMetadata]
) -> None:
    """Lambda's unzipped limit on every artifact of the function, as the full build checks it."""
    total = sum(metadata.unzipped_size for metadata in _metadata_of(build, written))
    packages = build.facts.packages
    sources.check_unzipped_size(total, [*packages, *((chosen.name, chosen.size) for chosen in selection.files)])


def _stage(changed: dict[str, str], modes: dict[str, int], staged: str) -> dict[str, str]:
    """Copy the changed files into `staged`, with the modes they were chosen with; the sha256
    of what was copied, by name.

    One read per file: the record must describe the bytes that were built, even when the
    file is edited again while this runs.
    """
    digests = {}
    for name, path in changed.items():
        data = _read(path)
        target = os.path.join(staged, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as out:
            out.write(data)
        os.chmod(target, modes[name])
        digests[name] = hashlib.sha256(data).hexdigest()
    return digests


def _finish(
    final: str,
    output: archive.ArchiveOutput,
    entries: Iterable[archive.Entry],
    size_change: int,
    count_change: int,
    warnings: list[str],
) -> ArtifactMetadata:
    """Complete one artifact in scratch; its metadata, updated from the previous build's."""
    previous = read_metadata(final)
    sha256, code_sha256 = formatted(output.finish(entries))
    return previous.replace(
        sha256=sha256,
        code_sha256=code_sha256,
        size=output.size,
        unzipped_size=previous.unzipped_size + size_change,
        file_count=previous.file_count + count_change,
        warnings=tuple(warnings),
    )


def _update_record(
    record: str, build: record_file.BuildRecord, selection: sources.Selection, digests: dict[str, str]
) -> None:
    build.artifacts = [_recorded_artifact(item.path, item.base, item.holds_local) for item in build.artifacts]
    digest_of = {item.name: item.sha256 for item in build.files}
    digest_of.update(digests)
    build.files = _trusted(
        record_file.RecordedFile(c.name, c.path, digest_of[c.name], c.mode, c.stamp) for c in selection.files
    )
    build.selection_warnings = selection.warnings
    record_file.write(record, build)
    if build.local_in is not None:
        _remove_file(record_file.local_archive(record))  # the record no longer names it


def _read(path: StrPath) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _remove_file(path: str) -> None:
    """Path.unlink(missing_ok=True): pathlib is an import a rebuild does without."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _verify(build: record_file.BuildRecord, staged: str, names: list[str], scratch: str) -> None:
    """The pipeline's checks, on the changed files (the others passed them already)."""
    # The tree checks look at binaries, wheel metadata and installer files: an edited .py
    # file is none of those (its syntax is checked by compiling it), so they run only when
    # something else changed.
    if any(not name.endswith(".py") for name in names):
        from pathlib import Path  # with platform_checks, which imports it anyway

        from uv_lambda.bundle.verify.platform_checks import Target, check_tree
        from uv_lambda.runtimes import get_architecture, get_runtime

        target = Target(get_runtime(build.runtime), get_architecture(build.architecture))
        check_tree(Path(staged), target, [Path(scratch)])
    handler = build.handler
    if handler:
        from uv_lambda.bundle.verify.handler import check_handler, module_file, parse_handler

        if module_file(parse_handler(handler)[0], [staged]) is not None:
            check_handler(handler, [staged])
