"""Every file and folder uv-lambda puts in place goes through here: written under a
temporary name beside its final path, then renamed over it.

A reader (another build, Lambda's deploy, a crash's next run) sees the old file or the new
one, never a mix. One naming scheme, `temporary_name`: `.<name>.<pid>.<n>.tmp`, unique per
process and per write (two builds writing one file never take each other's temporary), and
known to scratch.py, which removes those a killed build left. (Work folders that are not a
final path's temporary are scratch.make's `.<kind>-<pid>-*`.)

fsync policy: what is put in place for a reader outside this process (artifacts, their
metadata, cache entries, build records) is fsynced before the rename and its folder after
it, so the new name survives a power cut as well as the bytes do. Intermediate files read
back by the same build (staged trees, bytecode, scratch) are not: a crash discards them.

Only `os` is imported at the top: an app-only rebuild writes through this module before it
has imported anything else it can avoid (bundle/rebuild/__init__.py).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    class _Writable(Protocol):
        def write(self, data: bytes, /) -> object: ...


_counter = [0]


def temporary_name(final: str | os.PathLike[str]) -> str:
    """A name beside `final` that no other process or write uses: `.<name>.<pid>.<n>.tmp`."""
    _counter[0] += 1
    folder, name = os.path.split(os.fspath(final))
    return os.path.join(folder, f".{name}.{os.getpid()}.{_counter[0]}.tmp")


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename in `folder` durable (some file systems refuse: that is not an error)."""
    try:
        descriptor = os.open(folder or ".", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def fsync_file(path: str | os.PathLike[str]) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def commit(temporary: str | os.PathLike[str], final: str | os.PathLike[str]) -> None:
    """Put a finished temporary file (written by someone else) in place of `final`."""
    try:
        fsync_file(temporary)
        os.replace(temporary, final)
    except OSError as exc:
        _discard(temporary)
        raise with_path(exc, final) from None
    fsync_folder(os.path.dirname(os.fspath(final)))


def commit_all(pairs: list[tuple[str | os.PathLike[str], str | os.PathLike[str]]]) -> None:
    """commit() each (temporary, final) pair, with Ctrl-C and SIGTERM held back meanwhile:
    files that belong together (an artifact and its metadata) are replaced together.

    Every temporary is fsynced first, then renamed; each folder is fsynced once, after
    the last rename into it (an fsync of a folder makes all its renames durable).
    """
    import signal  # not at the top: see the module's docstring

    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        for temporary, final in pairs:
            try:
                fsync_file(temporary)
            except OSError as exc:
                _discard(temporary)
                raise with_path(exc, final) from None
        folders: dict[str, None] = {}
        for temporary, final in pairs:
            try:
                os.replace(temporary, final)
            except OSError as exc:
                _discard(temporary)
                raise with_path(exc, final) from None
            folders[os.path.dirname(os.fspath(final))] = None
        for folder in folders:
            fsync_folder(folder)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # a held signal is delivered now


class replacing:
    """`with replacing(final) as temporary:` write `temporary` (a path), and it replaces
    `final` when the block ends without an error; on an error it is removed."""

    __slots__ = ("final", "temporary")

    def __init__(self, final: str | os.PathLike[str]) -> None:
        self.final = final
        self.temporary = temporary_name(final)

    def __enter__(self) -> str:
        return self.temporary

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        if kind is None:
            commit(self.temporary, self.final)
        else:
            _discard(self.temporary)


def publish_folder(finished: str | os.PathLike[str], final: str | os.PathLike[str]) -> bool:
    """Rename a finished folder to `final` unless `final` exists (a concurrent build's
    identical cache entry: the first one wins). False when it existed: `finished` is the
    caller's to remove."""
    try:
        os.rename(finished, final)
    except OSError:
        if not os.path.isdir(final):
            raise
        return False
    fsync_folder(os.path.dirname(os.fspath(final)))
    return True


def replace_folder(finished: str | os.PathLike[str], final: str | os.PathLike[str]) -> None:
    """Put a finished folder in place of `final`, whatever is there: the old one is renamed
    aside (a temporary name) first, then removed. OSError when `final` cannot be renamed
    (a mount point, a folder another process holds): `finished` is left for the caller."""
    if not os.path.lexists(final):
        os.rename(finished, final)
        return
    old = temporary_name(final)
    os.rename(final, old)
    os.rename(finished, final)
    remove_tree(old)


def remove_tree(folder: str | os.PathLike[str]) -> None:
    """shutil.rmtree for our own folders, links not followed; what is gone is not an error.
    (shutil would cost an app-only rebuild its import: bz2, lzma, fnmatch.)"""
    for parent, folders, files in os.walk(folder, topdown=False):
        for name in files:
            _discard(os.path.join(parent, name))
        for name in folders:
            path = os.path.join(parent, name)
            if os.path.islink(path):
                _discard(path)
            else:
                try:  # noqa: SIM105 (contextlib: see the module's docstring)
                    os.rmdir(path)
                except OSError:
                    pass
    try:  # noqa: SIM105
        os.rmdir(folder)
    except OSError:
        pass


def write_bytes(path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> None:
    """Replace `path` with `data`; on any failure `path` is as it was and no temporary is left."""
    write_with(path, lambda handle: handle.write(data), mode)


def write_text(path: str | os.PathLike[str], text: str, mode: int | None = None) -> None:
    write_bytes(path, text.encode("utf-8"), mode)


def write_with(path: str | os.PathLike[str], writer: Callable[[_Writable], object], mode: int | None = None) -> None:
    """Replace `path` with what `writer(handle)` writes to a binary file handle."""
    temporary = temporary_name(path)
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644 if mode is None else mode)
        with os.fdopen(descriptor, "wb") as handle:
            writer(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, mode)  # whatever the umask
        os.replace(temporary, path)
    except BaseException as exc:
        _discard(temporary)
        if isinstance(exc, OSError):
            raise with_path(exc, path) from None
        raise
    fsync_folder(os.path.dirname(os.fspath(path)))


def with_path(exc: OSError, path: str | os.PathLike[str]) -> OSError:
    """`exc` naming `path` (the file being written), so that the error can say which file.

    A full disk always names `path` (the file the user knows, not a temporary one); other
    errors keep the file they name, if any. An error that already names `path` is kept."""
    if exc.filename is not None and exc.errno not in (28, 122):  # ENOSPC, EDQUOT
        return exc
    return OSError(exc.errno, exc.strerror, os.fspath(path))


def _discard(temporary: str | os.PathLike[str]) -> None:
    try:  # noqa: SIM105 (contextlib is one import more on a rebuild's start-up)
        os.unlink(temporary)
    except OSError:
        pass
