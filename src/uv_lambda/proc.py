"""The one place that runs subprocesses: logs the command, captures output, maps failures.

A command runs in a process group of its own, and dies with uv-lambda: an interrupted
build (Ctrl-C, SIGTERM, an error) kills the whole group, what the command started too; a
killed one (SIGKILL) takes its commands with it through PR_SET_PDEATHSIG.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from uv_lambda.errors import CommandError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    import subprocess
    from pathlib import Path
    from typing import Any, BinaryIO

# subprocess's constants, without importing subprocess: an app-only rebuild starts its
# compiler with spawn_piped (below), and subprocess with selectors and locale cost it ~3 ms.
PIPE = -1
DEVNULL = -3


def _debug(message: str, *args: object) -> None:
    """Log at debug level, if anything set up logging (the CLI does, for every command but
    an app-only rebuild, which skips importing logging to start faster: bundle/rebuild/incremental.py)."""
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger(__name__).debug(message, *args)


def _debugging() -> bool:
    """Whether _debug writes anything (-v): the command line is only put together then."""
    logging = sys.modules.get("logging")
    return logging is not None and logging.getLogger(__name__).isEnabledFor(logging.DEBUG)


Command = Sequence[str | os.PathLike[str]]


class Completed:
    """A finished command (a plain class: see TYPE_CHECKING above)."""

    __slots__ = ("args", "returncode", "stderr", "stdout")

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str) -> None:
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def _joined(args: list[str]) -> str:
    """The command line as a shell would take it (shlex: imported for -v only); a program
    passed inline (the bytecode compiler's `-c`, a hundred lines) as its line count."""
    import shlex

    return " ".join(f"<{arg.count(chr(10)) + 1}-line program>" if "\n" in arg else shlex.quote(arg) for arg in args)


def _render(cmd: Command) -> list[str]:
    return [os.fspath(part) for part in cmd]


def _environment(env: Mapping[str, str] | None, extra_env: Mapping[str, str] | None) -> dict[str, str]:
    base = dict(os.environ if env is None else env)
    if extra_env:
        base.update(extra_env)
    return base


# run and spawn take subprocess's own keyword-only options (cwd, env, stdin, timeout, ...), each
# optional, a call naming the few it needs: names every reader knows from subprocess. A record
# would group options that do not belong together, add a constructor to every call, and (being
# no dataclass, see TYPE_CHECKING above) be a hand-written class on the rebuild's start-up path.
def run(  # noqa: PLR0913  (see above)
    cmd: Command,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    check: bool = True,
    input_text: str | None = None,
    timeout: float | None = None,
    what: str | None = None,
    hint: str | None = None,
) -> Completed:
    """Run `cmd` to completion and capture its output.

    With `check`, a non-zero exit raises CommandError whose message names `what`
    (or the program) and carries the last lines of stderr, the part users need.
    """
    args = _render(cmd)
    if _debugging():
        _debug("run: %s%s", _joined(args), f"  (in {cwd})" if cwd else "")
    started = time.monotonic()
    try:
        process = _start(
            args,
            _die_with_parent(),
            cwd=cwd,
            env=_environment(env, extra_env),
            stdin=PIPE if input_text is not None else None,
            stdout=PIPE,
            stderr=PIPE,
            process_group=0,
        )
    except FileNotFoundError as exc:
        raise CommandError(f"{args[0]} was not found", hint) from exc
    import subprocess

    try:
        output, errors = process.communicate(None if input_text is None else input_text.encode(), timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        stop_group(process)
        raise CommandError(f"{what or args[0]} did not finish within {timeout:.0f} s", hint) from exc
    except BaseException:  # Ctrl-C, SIGTERM: nothing the command started outlives the build
        stop_group(process)
        raise
    stdout, stderr = output.decode(errors="replace"), errors.decode(errors="replace")
    proc = Completed(args, process.returncode, stdout, stderr)
    _debug("exit %d after %.2f s", proc.returncode, time.monotonic() - started)
    if proc.stderr:
        _debug("stderr of %s:\n%s", os.path.basename(args[0]), proc.stderr.rstrip())
    result = proc
    if check and proc.returncode != 0 and _disk_full(proc.stderr):
        import re  # only now: an app-only rebuild's start-up imports this module

        written = re.findall(r"(?:to|write|writing|create) `([^`]+)`", proc.stderr)
        raise DiskFull(
            f"no space left on device writing {written[-1] if written else cwd or 'a file'}",
            "free some space (or set UV_LAMBDA_CACHE_DIR / --out to another disk) and run again; "
            "the previous artifacts were kept",
            output=proc.stderr,
        )
    if check and proc.returncode != 0:
        raise CommandError(
            f"{what or os.path.basename(args[0])} failed (exit {proc.returncode}): {last_error_line(proc.stderr)}",
            hint,
            output=proc.stderr,
        )
    return result


def spawn(  # noqa: PLR0913  (subprocess's keyword-only options, as run above)
    cmd: Command,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    stdin: int | None = DEVNULL,
    stdout: int | None = None,
    stderr: int | None = None,
    new_session: bool = False,
    pass_fds: Sequence[int] = (),
    preexec: Callable[[], None] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a long-running process (a runtime worker, a server) and return its handle."""
    args = _render(cmd)
    if _debugging():
        _debug("spawn: %s%s", _joined(args), f"  (in {cwd})" if cwd else "")
    return _start(
        args,
        preexec,
        cwd=cwd,
        env=_environment(env, extra_env),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        start_new_session=new_session,
        pass_fds=pass_fds,
    )


class Piped:
    """A process started by spawn_piped, with what of subprocess.Popen its callers use."""

    __slots__ = ("_err", "_out", "_stderr", "_stdout", "pid", "returncode", "stdin")

    def __init__(self, pid: int, stdin: int, stdout: int, stderr: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdin: BinaryIO | None = os.fdopen(stdin, "wb")
        self._stdout, self._stderr = stdout, stderr  # a pipe, and a file with no name
        self._out: list[bytes] = []
        self._err = b""

    def communicate(self) -> tuple[bytes, bytes]:
        """Everything it writes to stdout and stderr until it exits (stdin is closed first).
        Called again after an interruption (Ctrl-C), it goes on where it stopped."""
        if self.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.stdin.close()
            self.stdin = None
        # stderr is a file, which never makes the child wait: reading the one pipe to its end
        # is enough (no poll, no select module).
        while self._stdout >= 0:
            data = os.read(self._stdout, 1 << 16)
            if data:
                self._out.append(data)
            else:
                os.close(self._stdout)
                self._stdout = -1
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        if self._stderr >= 0:
            with os.fdopen(self._stderr, "rb") as errors:
                errors.seek(0)
                self._err = errors.read()
            self._stderr = -1
        return b"".join(self._out), self._err


def _unnamed_file() -> int:
    """A readable and writable file with no name, removed when closed (O_TMPFILE on Linux;
    elsewhere one created and unlinked at once), in the temporary folder."""
    folder = os.environ.get("TMPDIR") or "/tmp"
    with contextlib.suppress(AttributeError, OSError):
        return os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o600)
    name = os.path.join(folder, f".uv-lambda-stderr.{os.getpid()}.{time.monotonic_ns()}.tmp")
    descriptor = os.open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    os.unlink(name)
    return descriptor


def spawn_piped(
    cmd: Command, *, env: Mapping[str, str], pass_fds: Sequence[int] = (), new_session: bool = False
) -> Piped:
    """Start `cmd` (an absolute path first) with its stdin and stdout piped to this process
    and its stderr in a file with no name: subprocess.Popen's work for that case through
    os.posix_spawn, with subprocess never imported (see PIPE above). Signals the interpreter
    ignores (SIGPIPE, SIGXFSZ) are default again in the child, as Popen's restore_signals does."""
    args = _render(cmd)
    if _debugging():
        _debug("spawn: %s", _joined(args))
    # Each pipe closes on exec (PEP 446): the child gets only the copies dup2 makes.
    stdin_read, stdin_write = os.pipe()
    stdout_read, stdout_write = os.pipe()
    errors = _unnamed_file()
    child = (stdin_read, stdout_write, errors)
    actions = [(os.POSIX_SPAWN_DUP2, descriptor, target) for target, descriptor in enumerate(child)]
    for descriptor in pass_fds:
        os.set_inheritable(descriptor, True)
    try:
        pid = os.posix_spawn(
            args[0],
            args,
            dict(env),
            file_actions=actions,
            setsid=new_session,
            setsigdef=[signal.SIGPIPE, signal.SIGXFSZ],
        )
    except BaseException:
        for descriptor in (stdin_write, stdout_read, errors):
            os.close(descriptor)
        raise
    finally:
        for descriptor in pass_fds:
            os.set_inheritable(descriptor, False)
        for descriptor in (stdin_read, stdout_write):
            os.close(descriptor)
    return Piped(pid, stdin_write, stdout_read, errors)


def _start(args: list[str], preexec: Callable[[], None] | None, **options: Any) -> subprocess.Popen[bytes]:
    """Popen, with `preexec` run in the child and signals held back meanwhile (see
    _signals_held); a signal delivered just after still stops what was started."""
    import subprocess

    process: subprocess.Popen[bytes] | None = None
    try:
        with _signals_held(preexec is not None):
            process = subprocess.Popen(args, preexec_fn=_in_child(preexec), **options)
    except BaseException:
        if process is not None:
            stop_group(process)
        raise
    return process


def _disk_full(stderr: str) -> bool:
    """How uv (and most tools) report a full disk."""
    return any(mark in stderr for mark in ("No space left on device", "os error 28", "Disk quota exceeded"))


class DiskFull(CommandError):
    """A command failed because the disk is full: not the command's fault, nor the input's."""


def stop_group(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Kill `process` and everything in its process group (it leads one), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    import subprocess

    with contextlib.suppress(subprocess.TimeoutExpired, ValueError, OSError):
        process.communicate(timeout=5)


_HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _signals_held(hold: bool) -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while a child is forked to run a pre-exec function.

    Python runs its at-fork hooks in that case (logging's among them), and a signal handled
    inside one is reported as "Exception ignored" and lost: the build would go on. Held
    back, the signal is delivered right after, in ordinary code.
    """
    if not hold:
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _in_child(preexec: Callable[[], None] | None) -> Callable[[], None] | None:
    """`preexec`, then the child's signals unblocked (the mask survives exec: see above)."""
    if preexec is None:
        return None

    def run_then_unblock() -> None:
        preexec()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD_SIGNALS)

    return run_then_unblock


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec function that makes the child receive SIGKILL when uv-lambda dies."""
    prctl = prctl_function()
    if prctl is None:
        return None

    def set_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return set_death_signal


PR_SET_PDEATHSIG = 1
_prctl_function: list[Callable[..., int] | None] = []


def prctl_function() -> Callable[..., int] | None:
    """libc's prctl (Linux only), looked up once, before any fork."""
    if not _prctl_function:
        function = None
        if sys.platform == "linux":
            try:
                import ctypes

                function = ctypes.CDLL(None, use_errno=True).prctl
            except (OSError, AttributeError):
                function = None
        _prctl_function.append(function)
    return _prctl_function[0]


def last_error_line(stderr: str) -> str:
    """The most telling line of a tool's stderr: uv puts the cause last, after `error:`."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return "no output"
    for line in lines:
        if line.startswith("error:"):
            # uv prints "error: X" then "Caused by: Y" lines; the first error line names it.
            tail = [
                entry for entry in lines[lines.index(line) + 1 :] if entry.startswith(("Caused by", "cause:", "╰─▶"))
            ]
            return " ".join([line.removeprefix("error:").strip(), *tail[:1]])
    return lines[-1]
