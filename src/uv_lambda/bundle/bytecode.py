"""Compile bytecode with an interpreter of the target Python, as unchecked-hash pycs.

Why unchecked-hash: Lambda's /var/task and /opt are read-only, and a zip with fixed dates
makes every timestamp-based pyc look stale, so Python would recompile (in memory) on every
cold start. Unchecked-hash pycs are used as they are and are reproducible, because they
hold no timestamp. The build machine's Python cannot write them for another version (the
magic number differs), so the compiler runs under the target's interpreter.

The compiler is a process started early (`Compiler.start`) and given its files later, so
its start-up overlaps the build's other work: on a rebuild it is most of the cost.
"""

from __future__ import annotations

import contextlib
import os

from uv_lambda import proc
from uv_lambda.errors import BuildError, CommandError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import BinaryIO

    from _typeshed import StrPath

# Runs under the target interpreter with -S -s, no PYTHON* variable but a fixed
# PYTHONHASHSEED (see _environment). It imports nothing beyond what the interpreter has
# loaded at start-up or builds in: posix, not os, which -S leaves unloaded (os alone is a
# fifth of this process's time on a rebuild, where the parent waits for it; py_compile and
# json would double its start-up time). It writes exactly what py_compile writes for
# UNCHECKED_HASH: magic, flags=1, the source hash, the marshalled code compiled with the
# relative name as its file name.
# Job on stdin: a folder for pyc blobs (or an empty line), the number of roots, the roots, then
# "<root index>\t<relative path>" lines. Without a blob folder each pyc is written beside its
# source; with one, each worker appends its pycs to `pycs-<worker>.bin` there (no file to
# create per module: on some file systems that costs a fifth of what compiling does) and says
# where.
# Output: "F\t<root index>\t<relative path>\t<error>" for each file that did not compile,
# "W\t<root index>\t<worker>\t<offset>\t<length>\t<relative path>" for each pyc in a blob.
# The first line drops the current folder from sys.path (what -I would do): a project's own
# module must never be the one an import here finds.
_COMPILER = r"""
import sys
if sys.path and sys.path[0] == "": del sys.path[0]
import marshal, posix, _imp, _thread
def stop_with_parent(lifeline):
    # The parent holds the other end of this pipe: EOF means it is gone (even by SIGKILL),
    # so this process and its workers (one process group) stop too.
    while posix.read(lifeline, 1):
        pass
    posix.killpg(0, 9)
_thread.start_new_thread(stop_with_parent, (int(sys.argv[1]),))
from _frozen_importlib_external import MAGIC_NUMBER, _RAW_MAGIC_NUMBER, cache_from_source
lines = sys.stdin.read().split("\n")
into = lines[0]
roots = lines[2 : 2 + int(lines[1])]
jobs = [line.split("\t", 1) for line in lines[2 + len(roots) :] if line]
written = [0]
def compile_one(index, rel, blob, worker):
    source = roots[int(index)] + "/" + rel
    with open(source, "rb") as handle:
        data = handle.read()
    try:
        code = compile(data, rel, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        line = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        return f"F\t{index}\t{rel}\t{type(exc).__name__}: {detail}{line}".replace("\n", " ") + "\n"
    pyc = bytearray(MAGIC_NUMBER)
    pyc += (1).to_bytes(4, "little")
    pyc += _imp.source_hash(_RAW_MAGIC_NUMBER, data)
    pyc += marshal.dumps(code)
    if blob is not None:
        offset = blob.tell()
        blob.write(pyc)
        return f"W\t{index}\t{worker}\t{offset}\t{len(pyc)}\t{rel}\n"
    target = cache_from_source(source)
    folder, _, name = target.rpartition("/")
    try:
        posix.mkdir(folder)
    except FileExistsError:
        pass
    # A new file, renamed into place: never write through a link into uv's cache. Named as
    # uv_lambda.atomic names temporaries; not fsynced (a build's own scratch: see atomic.py).
    written[0] += 1
    temporary = f"{folder}/.{name}.{posix.getpid()}.{written[0]}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(pyc)
    posix.replace(temporary, target)
    return ""
def compile_all(chunk, worker):
    blob = open(f"{into}/pycs-{worker}.bin", "wb") if into else None
    try:
        return "".join(compile_one(index, rel, blob, worker) for index, rel in chunk)
    finally:
        if blob is not None:
            blob.close()
# compile() holds the GIL: large trees are split by size over forked workers, one per core.
workers = min(posix.cpu_count() or 1, 4) if len(jobs) > 50 else 1
chunks, loads = [[] for _ in range(workers)], [0] * workers
sized = [(posix.stat(roots[int(job[0])] + "/" + job[1]).st_size, job) for job in jobs]
for size, job in sorted(sized, key=lambda pair: -pair[0]):
    lightest = loads.index(min(loads))
    chunks[lightest].append(job)
    loads[lightest] += size
children = []
for worker, chunk in enumerate(chunks[1:], 1):
    read_end, write_end = posix.pipe()
    pid = posix.fork()
    if pid == 0:
        posix.close(read_end)
        with open(write_end, "w") as out:
            out.write(compile_all(chunk, worker))
        posix._exit(0)
    posix.close(write_end)
    children.append((pid, read_end))
failures = [compile_all(chunks[0], 0)]
for pid, read_end in children:
    with open(read_end) as result:
        failures.append(result.read())
    if posix.waitpid(pid, 0)[1] != 0:
        sys.exit("a compiler worker failed")
sys.stdout.write("".join(failures))
"""


def _environment() -> dict[str, str]:
    """The compiler's environment: what -E would leave, with a fixed hash seed.

    Python 3.10's marshal writes a frozenset constant (`x in {"a", "b"}`) in iteration
    order, which follows the string hashes: with random hashing the pycs differ from build
    to build. -I would also drop PYTHONHASHSEED, so the isolation is done here instead.
    """
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    environment["PYTHONHASHSEED"] = "0"
    return environment


class Failure:
    """A file that did not compile (a plain class: see TYPE_CHECKING above)."""

    __slots__ = ("error", "file", "root")

    def __init__(self, root: StrPath, file: str, error: str) -> None:
        self.root = root
        self.file = file  # relative to root
        self.error = error

    def __repr__(self) -> str:
        return f"Failure({self.root!r}, {self.file!r}, {self.error!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Failure) and (self.root, self.file, self.error) == (
            other.root,
            other.file,
            other.error,
        )

    def __hash__(self) -> int:
        return hash((self.root, self.file, self.error))


def python_sources(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*.py") if path.is_file())


def pyc_name(source: str, python_version: str) -> str:
    """Where the compiler writes the pyc of `source` (a relative path) for CPython X.Y."""
    folder, _, file = source.rpartition("/")
    tag = "cpython-" + python_version.replace(".", "")
    return f"{folder}/__pycache__/{file[:-3]}.{tag}.pyc".lstrip("/")


class Pyc:
    """Where the compiler put one pyc in a blob (submit's `into`): a plain class, see TYPE_CHECKING."""

    __slots__ = ("blob", "length", "offset")

    def __init__(self, blob: Path, offset: int, length: int) -> None:
        self.blob = blob
        self.offset = offset
        self.length = length


def _executable(interpreter: str | os.PathLike[str]) -> str:
    """The interpreter as a path (posix_spawn does not search PATH)."""
    name = os.fspath(interpreter)
    if os.sep in name:
        return name
    import shutil  # only for a bare name: a rebuild's recorded interpreter is a path

    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(2, "No such file or directory", name)
    return found


class Compiler:
    """One compile job in the target interpreter: start it early, give it files, then wait."""

    def __init__(self, interpreter: str | os.PathLike[str]) -> None:
        self.interpreter = interpreter
        self._roots: list[StrPath] = []
        self._into: Path | None = None
        # With submit's `into`: each compiled source, by (root, relative path), after wait().
        self.pycs: dict[tuple[StrPath, str], Pyc] = {}
        # A process group of its own (its forked workers join it), stopped as one by cancel();
        # the lifeline's read end tells it when this process is gone, however it ended.
        lifeline, self._lifeline = os.pipe()
        try:
            # spawn_piped, not spawn: subprocess is an import an app-only rebuild does without.
            self._process = proc.spawn_piped(
                # frozen_modules=on: the start-up modules from the copies built into the
                # interpreter, not from disk (~1 ms less with pyenv's 3.13); 3.10 ignores it.
                [_executable(interpreter), "-S", "-s", "-X", "frozen_modules=on", "-c", _COMPILER, str(lifeline)],
                env=_environment(),
                new_session=True,
                pass_fds=(lifeline,),
            )
        except OSError as exc:
            os.close(self._lifeline)
            raise BuildError(
                f"cannot start {interpreter} to compile bytecode: {exc.strerror}",
                "pass another interpreter with --python PATH, or build with --no-bytecode",
            ) from None
        finally:
            os.close(lifeline)

    def submit(self, trees: Sequence[tuple[StrPath, list[str]]], into: Path | None = None) -> None:
        """Send the job: for each root, the relative paths of the .py files to compile.

        The pycs are written beside their sources (`__pycache__/`), or, with `into` (an empty
        folder), appended to a few blobs there: `pycs` then says where each one is.
        """
        header = [str(into or ""), str(len(trees)), *(str(root) for root, _ in trees)]
        lines = [f"{index}\t{rel}" for index, (_, files) in enumerate(trees) for rel in files]
        if any("\n" in line for line in header) or any("\n" in line or line.count("\t") > 1 for line in lines):
            raise BuildError(
                "a file or folder name contains a line break or a tab", "rename it: Lambda cannot load it anyway"
            )
        self._roots = [root for root, _ in trees]
        self._into = into
        with contextlib.suppress(BrokenPipeError):  # the process died: wait() reports how
            self._stdin().write("\n".join([*header, *lines, ""]).encode())
        self._close_stdin()

    def _stdin(self) -> BinaryIO:
        assert self._process.stdin is not None
        return self._process.stdin

    def _close_stdin(self) -> None:
        """Close stdin and forget it: communicate() would flush a closed pipe otherwise."""
        if self._process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()
            self._process.stdin = None

    def wait(self) -> list[Failure]:
        """The files that did not compile. A crashed compiler is a CommandError."""
        self._close_stdin()  # if never submitted: let the process end
        stdout, stderr = self._process.communicate()
        self._close_lifeline()
        if self._process.returncode != 0:
            lines = stderr.decode(errors="replace").strip().splitlines() or ["no output"]
            raise CommandError(
                f"compiling bytecode with {self.interpreter} failed (exit {self._process.returncode}): {lines[-1]}",
                "build with --no-bytecode to skip bytecode compilation",
                output=stderr.decode(errors="replace"),
            )
        failures = []
        for line in stdout.decode(errors="replace").splitlines():
            kind, rest = line.split("\t", 1)
            if kind == "W":  # only with submit's `into`
                assert self._into is not None
                index, worker, offset, length, file = rest.split("\t", 4)
                blob = self._into / f"pycs-{worker}.bin"
                self.pycs[(self._roots[int(index)], file)] = Pyc(blob, int(offset), int(length))
            else:
                index, file, error = rest.split("\t", 2)
                failures.append(Failure(self._roots[int(index)], file, error))
        return failures

    def __enter__(self) -> Compiler:
        return self

    def __exit__(self, *_: object) -> None:
        self.cancel()

    def cancel(self) -> None:
        """Stop the process and its workers when the build ends early (an error, Ctrl-C)."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, 9)  # SIGKILL, to the whole group
            self._close_stdin()
            self._process.communicate()
        self._close_lifeline()

    def _close_lifeline(self) -> None:
        if self._lifeline >= 0:
            os.close(self._lifeline)
            self._lifeline = -1


def raise_for_strict(failures: list[Failure]) -> None:
    """The user's own code must compile: a syntax error there would fail on Lambda too."""
    if failures:
        failure = failures[0]
        if "(unicode error)" in failure.error or "codec can't decode" in failure.error:
            # Not a typo to fix: the file is in another encoding than the UTF-8 Python reads.
            hint = "save it as UTF-8, or declare its encoding on the first line (# -*- coding: latin-1 -*-)"
        else:
            hint = "fix the syntax error (Lambda would fail with Runtime.UserCodeSyntaxError)"
        raise BuildError(f"{failure.file} does not compile for the target Python: {failure.error}", hint)
