"""How a runtime process is started: in a bubblewrap sandbox laid out as Lambda's, or not.

With `bwrap` (bubblewrap) each execution environment gets its own mount, PID and IPC
namespaces (the network is shared: the Runtime API is on 127.0.0.1):

    /var/task     the unpacked function, read-only, the working directory
    /opt          the layers (unpacked in order), read-only
    /var/runtime  the runtime folder (awslambdaric, boto3), read-only
    /var/lang     the interpreter's whole prefix, read-only (its site-packages hidden)
    /tmp          a tmpfs of `ephemeral-storage` MB, new for every environment
    /usr, /etc    the host's, read-only (there is no Amazon Linux here)
    /dev          null, zero, full, random, urandom: no /dev/shm, as on Lambda

No host home folder, nothing else of the host. The root is read-only. `--die-with-parent`
and the PID namespace end the whole process tree (double-forked daemons included) with the
environment.

Without bwrap (`--sandbox off`, or `auto` where bwrap cannot run) the process runs on the
host's file system at the layout's real paths; `unsandboxed_note` says what differs.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from uv_lambda import proc
from uv_lambda.errors import CommandError, UsageError

MODES = ("auto", "require", "off")
# The environment variable that sets the default of `--sandbox`.
MODE_VARIABLE = "UV_LAMBDA_SANDBOX"

TASK_ROOT = "/var/task"
OPT = "/opt"
RUNTIME_DIR = "/var/runtime"
LANG_PREFIX = "/var/lang"

# The host folders the sandbox sees read-only: the C library, shared libraries, certificates,
# resolv.conf. On a merged-/usr system /bin, /lib... are symlinks into /usr: kept as symlinks.
_SYSTEM_FOLDERS = ("/usr", "/etc")
_SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_DEVICES = ("null", "zero", "full", "random", "urandom")

# How the interpreter starts inside, as Lambda's bootstrap does: `site` imported, sys.path
# in Lambda's order (task root, the layers' folders, then PYTHONPATH = the runtime, then the
# interpreter's own), then awslambdaric. The interpreter's site-packages folders are taken
# off sys.path (nothing installed on this machine leaks in; a Debian python's dist-packages
# too), but for Lambda's own /var/lang/lib/python3.X/site-packages, an empty folder in the
# sandbox. Unsandboxed, no bytecode is written (the task root is read-only on Lambda; here
# it is a writable folder).
# In a sandbox the interpreter finds its libpython through LD_LIBRARY_PATH (/var/lang/lib);
# a function that overrides LD_LIBRARY_PATH gets its value back here, after the start (on
# Lambda the interpreter does not depend on it). bwrap's PWD is not Lambda's.
# A *gated* start ("sandbox-gated", see early_start.py) is made before the function's tree is
# in place: its /var/task is a tree being updated. It imports the runtime client, writes the
# time it got there to stdin (a socket), and waits for one line: "go" and the top-level names
# the update changed. When the runtime client imported one of them, it starts afresh (the
# same process, exec'd ungated); else it goes on with the handler. Nothing of the function is
# imported before that line.
# argv: "sandbox"|"sandbox-gated"|"host", "=<LD_LIBRARY_PATH to restore>" or "-", runtime
# folder, task root, the layers' site-packages, /opt/python
BOOTSTRAP = """\
import os, site, sys
where, library_path, runtime, *front = sys.argv[1:]
drop = {"", site.getusersitepackages(), *site.getsitepackages()}
if where == "host":
    sys.dont_write_bytecode = True
else:
    os.environ.pop("PWD", None)
    # Lambda's own (here an empty folder) stays; a distribution's dist-packages do not.
    drop.discard("/var/lang/lib/python%d.%d/site-packages" % sys.version_info[:2])
rest = [p for p in sys.path if p not in drop and p not in front]
if runtime not in rest:
    rest.insert(0, runtime)
sys.path[:] = front + rest
if where == "sandbox-gated":
    import importlib, time
    import awslambdaric.__main__
    os.write(0, b"%.6f\\n" % time.monotonic())
    line = b""
    while not line.endswith(b"\\n"):
        chunk = os.read(0, 65536)
        if not chunk:
            os._exit(0)
        line += chunk
    del chunk
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if any(name.decode() in sys.modules for name in line.split()[1:]):
        os.execv(sys.orig_argv[0], [*sys.orig_argv[:3], "sandbox", *sys.orig_argv[4:]])
    importlib.invalidate_caches()
    del awslambdaric, importlib, time, line, null
if library_path != "-":
    os.environ["LD_LIBRARY_PATH"] = library_path[1:]
del sys.argv[1:], where, library_path, runtime, front, drop, rest
from awslambdaric.__main__ import main
main([sys.argv[0], os.environ["_HANDLER"]])
"""
GATED = "sandbox-gated"


@dataclass(frozen=True)
class Paths:
    """Where the function sees its folders: Lambda's paths, or the host's real ones."""

    task_root: str
    opt: str
    runtime: str
    lang_bin: str  # the interpreter's folder
    lang_lib: str  # the interpreter's shared libraries
    interpreter: str


@dataclass(frozen=True)
class HostPaths:
    """The function's folders and interpreter on this machine (the sandbox binds them at Lambda's paths)."""

    task_root: Path
    opt: Path
    runtime: Path  # awslambdaric's folder
    interpreter: Path
    python_version: str  # "3.13": where its standard library and site-packages are


@dataclass(frozen=True)
class Sandbox:
    """How this run starts runtimes: `bwrap` is None when it runs them unsandboxed."""

    bwrap: str | None
    note: str | None = None  # the one start-up line naming the differences, when unsandboxed

    @property
    def enabled(self) -> bool:
        return self.bwrap is not None


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UsageError(f"unknown sandbox mode {mode!r}", "use --sandbox auto, require or off")
    return mode


def default_mode() -> str:
    value = os.environ.get(MODE_VARIABLE, "").strip() or "auto"
    if value not in MODES:
        raise UsageError(f"{MODE_VARIABLE}={value!r} is not a sandbox mode", "set it to auto, require or off")
    return value


@functools.cache
def bwrap_problem() -> tuple[str | None, str | None]:
    """(the bwrap executable, None) when it can build an environment here, else (None, why)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None, "bwrap (bubblewrap) is not installed"
    # The namespaces bwrap needs may be refused (no unprivileged user namespaces, seccomp in
    # a container), and a bwrap older than 0.6 lacks --size and --perms: one trial run with
    # the options bwrap_command uses says.
    probe = [
        bwrap,
        *("--die-with-parent", "--unshare-pid", "--unshare-ipc", "--ro-bind", "/", "/", "--proc", "/proc"),
        *("--tmpfs", "/dev", "--dev-bind", "/dev/null", "/dev/null", "--remount-ro", "/dev"),
        *("--perms", "1777", "--size", str(1024 * 1024), "--tmpfs", "/tmp", "--remount-ro", "/"),
        *("--", "true"),
    ]
    try:
        completed = proc.run(probe, check=False, timeout=10, env={})
    except (OSError, CommandError) as exc:
        return None, f"bwrap cannot run: {exc}"
    if completed.returncode != 0:
        reason = completed.stderr.strip().splitlines()[-1:] or [f"exit {completed.returncode}"]
        return None, f"bwrap cannot create namespaces here ({reason[0]})"
    return bwrap, None


_probing: list[threading.Thread] = []


def probe_in_background(mode: str) -> None:
    """Start bwrap's trial run (bwrap_problem: a process, 10-20 ms) on a thread, when `mode`
    may use it: a local run does it while it reads its configuration, and `choose` then
    finds the answer ready."""
    if mode == "off" or _probing or bwrap_problem.cache_info().currsize:
        return
    thread = threading.Thread(target=bwrap_problem, name="bwrap-probe", daemon=True)
    _probing.append(thread)
    thread.start()


def interpreter_prefix(interpreter: Path, python_version: str) -> Path | None:
    """The installation prefix of `interpreter` (bound whole at /var/lang), or None when the
    executable does not sit in `<prefix>/bin` next to `<prefix>/lib/python3.X` (a venv)."""
    real = interpreter.resolve()
    prefix = real.parent.parent
    if real.parent.name == "bin" and (prefix / "lib" / f"python{python_version}" / "os.py").is_file():
        return prefix
    return None


def choose(mode: str, interpreter: Path, python_version: str) -> Sandbox:
    """The sandbox a run uses: `auto` falls back (with a note), `require` fails instead."""
    check_mode(mode)
    if mode == "off":
        return Sandbox(None, unsandboxed_note("--sandbox off"))
    for thread in _probing:  # one trial run per process: wait for the one under way
        thread.join()
    bwrap, problem = bwrap_problem()
    if bwrap is not None and interpreter_prefix(interpreter, python_version) is None:
        bwrap, problem = None, f"{interpreter} is not an installed interpreter (a venv?) that can be bound at /var/lang"
    if bwrap is not None:
        return Sandbox(bwrap)
    if mode == "require":
        raise UsageError(
            f"--sandbox require: {problem}",
            "install bubblewrap (apt-get install bubblewrap) on a host that allows user namespaces, "
            "or run with --sandbox auto or off",
        )
    return Sandbox(None, unsandboxed_note(problem or "no bwrap"))


def unsandboxed_note(reason: str) -> str:
    return (
        f"running without a sandbox ({reason}): the function sees this machine's files, its task root "
        "and /opt at their real paths and writable, the host's /tmp (shared, no size limit) and /dev/shm, "
        "and a double-forked daemon is neither frozen, counted nor stopped with its environment"
    )


def paths(sandbox: Sandbox, host: HostPaths) -> Paths:
    if sandbox.enabled:
        name = f"python{host.python_version}"
        return Paths(
            TASK_ROOT, OPT, RUNTIME_DIR, f"{LANG_PREFIX}/bin", f"{LANG_PREFIX}/lib", f"{LANG_PREFIX}/bin/{name}"
        )
    interpreter = host.interpreter
    prefix = interpreter_prefix(interpreter, host.python_version)
    lang_lib = str(prefix / "lib") if prefix is not None else str(interpreter.parent.parent / "lib")
    return Paths(
        str(host.task_root), str(host.opt), str(host.runtime), str(interpreter.parent), lang_lib, str(interpreter)
    )


def start_library_path(where: Paths, function_value: str) -> str:
    """The LD_LIBRARY_PATH the interpreter starts with in a sandbox: its own lib folder first."""
    if function_value.split(":")[0] == where.lang_lib:
        return function_value
    return f"{where.lang_lib}:{function_value}" if function_value else where.lang_lib


def runtime_command(
    where: Paths, *, sandboxed: bool, python_version: str, restore_library_path: str | None = None, gated: bool = False
) -> list[str]:
    """The interpreter's command line (inside the sandbox, or on the host); `gated`: it waits
    for its tree before it imports the handler (see BOOTSTRAP; sandboxed only)."""
    site_packages = f"{where.opt}/python/lib/python{python_version}/site-packages"
    return [
        where.interpreter,
        "-c",
        BOOTSTRAP,
        (GATED if gated else "sandbox") if sandboxed else "host",
        "-" if restore_library_path is None else f"={restore_library_path}",
        where.runtime,
        where.task_root,
        site_packages,
        f"{where.opt}/python",
    ]


def bwrap_command(bwrap: str, inner: list[str], host: HostPaths, *, tmp_megabytes: int) -> list[str]:
    """bwrap's command line for one execution environment running `inner`."""
    python_version = host.python_version
    prefix = interpreter_prefix(host.interpreter, python_version)
    if prefix is None:  # choose() refused it
        raise UsageError(f"{host.interpreter} cannot be bound at /var/lang", "pass --python, or --sandbox off")
    args = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc"]
    for folder in _SYSTEM_FOLDERS:
        args += ["--ro-bind", folder, folder]
    for link in _SYSTEM_LINKS:
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    args += ["--proc", "/proc", "--tmpfs", "/dev"]
    for device in _DEVICES:
        args += ["--dev-bind", f"/dev/{device}", f"/dev/{device}"]
    args += ["--symlink", "/proc/self/fd", "/dev/fd"]
    for number, stream in enumerate(("stdin", "stdout", "stderr")):
        args += ["--symlink", f"/proc/self/fd/{number}", f"/dev/{stream}"]
    args += ["--remount-ro", "/dev"]
    args += ["--perms", "1777", "--size", str(tmp_megabytes * 1024 * 1024), "--tmpfs", "/tmp"]
    args += ["--ro-bind", str(prefix), LANG_PREFIX]
    # The interpreter's own site-packages hidden (an empty read-only folder): what was
    # installed into it on this machine is not on Lambda.
    site_packages = f"{LANG_PREFIX}/lib/python{python_version}/site-packages"
    if (prefix / "lib" / f"python{python_version}" / "site-packages").is_dir():
        args += ["--tmpfs", site_packages, "--remount-ro", site_packages]
    args += ["--ro-bind", str(host.runtime), RUNTIME_DIR]
    args += ["--ro-bind", str(host.task_root), TASK_ROOT]
    args += ["--ro-bind", str(host.opt), OPT]
    args += ["--remount-ro", "/", "--chdir", TASK_ROOT, "--", *inner]
    return args
