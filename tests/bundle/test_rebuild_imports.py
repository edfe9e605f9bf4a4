"""The app-only rebuild (bundle/rebuild/, entered through cli/_rebuild.py) imports only what
is listed here: its whole run is shorter than argparse, logging, dataclasses or the
configuration take to import, so one ordinary import in a module it uses would cost it its
speed without any test failing. `python -X importtime` shows every module a real rebuild
imports; anything beyond the interpreter's own start-up and the lists below fails, named
with the module that imported it.

A module added to the lists must stay light itself: the fast path's modules (and the shared
ones named in ALLOWED_UV_LAMBDA) use `TYPE_CHECKING = False`, plain classes with __slots__
(or collections.namedtuple, typed as typing.NamedTuple for mypy only) and os.path instead of
typing, dataclasses, pathlib and shutil for that reason: typing alone cost a rebuild 3 ms of
~60, pathlib (with urllib.parse) 5 ms.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.projects import ORDERS_PYPROJECT, CliRunner, write_project

# Every uv_lambda module an app-only rebuild may import. Besides bundle/rebuild/ and its CLI
# entry, the shared modules it uses with the full build, which therefore stay light.
ALLOWED_UV_LAMBDA = frozenset(
    {
        "uv_lambda",
        "uv_lambda.errors",
        "uv_lambda.ui",
        "uv_lambda.limits",
        "uv_lambda.atomic",
        "uv_lambda.sealed",
        "uv_lambda.cache",
        "uv_lambda.proc",
        "uv_lambda.scratch",
        "uv_lambda.metadata_file",
        "uv_lambda.cli",  # main(), which asks the fast path first
        "uv_lambda.cli._rebuild",  # the fast path's entry
        "uv_lambda.cli._build_output",  # the artifact lines a full build prints too
        "uv_lambda.cli._documents",  # --metadata
        "uv_lambda.bundle",
        "uv_lambda.bundle.rebuild",
        "uv_lambda.bundle.rebuild.record_file",
        "uv_lambda.bundle.rebuild.incremental",
        "uv_lambda.bundle.rebuild.changes",  # what it changed, for a local run in the same process
        "uv_lambda.bundle.archive",
        "uv_lambda.bundle.bytecode",
        "uv_lambda.bundle.stage",
        "uv_lambda.bundle.stage.sources",
        "uv_lambda.bundle.stage.never_shipped",
        "uv_lambda.bundle.verify",
        "uv_lambda.bundle.verify.handler",  # when the handler's module is edited
    }
)

# Imported only when a rebuild needs them, and then allowed too: the full build's tree
# checks (wheel tags, ELF headers) for a new or edited file other than .py, which cost more
# than their imports, and the unpacked tree of --format dir, layer-dir or app-dir.
ONLY_WHEN_NEEDED = frozenset(
    {
        "uv_lambda.bundle.verify.platform_checks",
        "uv_lambda.bundle.verify.elf",
        "uv_lambda.runtimes",
        "uv_lambda.project",  # normalize_name
        "packaging",
        "dataclasses",
        "datetime",
        "_datetime",
        *("logging", "threading"),  # packaging's
        *("typing", "_typing"),  # platform_checks'
        *("subprocess", "_posixsubprocess", "selectors", "select", "locale", "_locale"),  # packaging.tags'
        *("inspect", "ast", "dis", "opcode", "_opcode", "copy", "org", "importlib", "token", "tokenize", "linecache"),
        *("traceback", "textwrap", "string", "_string", "atexit", "platform", "sysconfig"),
        "uv_lambda.bundle.tree",
        *("pathlib", "urllib", "ipaddress"),  # platform_checks' and tree's (urllib.parse: pathlib's before 3.13)
    }
)

# Standard-library modules it may import beyond the interpreter's start-up (which differs
# between versions: 3.11 loads typing and pathlib at start-up when a .pth file asks, 3.12
# and 3.13 do not). A name covers its submodules.
ALLOWED_STDLIB = frozenset(
    {
        "__future__",
        "_ast",  # handler checks (not ast: see bundle/verify/handler.py)
        "binascii",
        "collections",
        "contextlib",
        "copyreg",
        "encodings.cp437",  # zip entry names without the UTF-8 flag
        "enum",
        "errno",
        "fnmatch",  # include/exclude globs
        "functools",
        "gc",
        "glob",
        "hashlib",
        "itertools",
        "json",
        "keyword",
        "math",
        "operator",
        "re",
        "reprlib",
        "signal",
        "stat",
        "struct",
        "types",
        "warnings",
        "weakref",
        "zlib",
        # Private modules behind the public ones above.
        "_blake2",
        "_collections",
        "_functools",
        "_hashlib",
        "_json",
        "_opcode",
        "_operator",
        "_sre",
        "_string",
        "_struct",
        "_weakrefset",
        # Tried on every platform by os, pathlib and subprocess (failed imports show too).
        "fcntl",
        "grp",
        "msvcrt",
        "nt",
        "ntpath",
        "pwd",
        "_winapi",
    }
)


def imported_modules(importtime: str) -> list[tuple[str, str | None]]:
    """(module, the module whose import imported it) for each line of `-X importtime` output.

    A module's line comes after those of the modules it imported, indented one step less:
    the importer of a line is the next line below it that is indented less.
    """
    rows = []
    for line in importtime.splitlines():
        if not line.startswith("import time:") or line.endswith("| imported package"):
            continue
        field = line.rsplit("|", 1)[-1]
        name = field.strip()
        rows.append((name, len(field) - len(field.lstrip())))
    result = []
    for index, (name, depth) in enumerate(rows):
        importer = next((other for other, level in rows[index + 1 :] if level < depth), None)
        result.append((name, importer))
    return result


def _allowed(name: str, allowed: frozenset[str]) -> bool:
    parts = name.split(".")
    return any(".".join(parts[:end]) in allowed for end in range(1, len(parts) + 1))


def intruders(importtime: str, startup: str, *, when_needed: bool = False) -> list[str]:
    """The modules imported beyond the interpreter's start-up (`startup`: its importtime
    output for `-c pass`) and the allowed lists, each as `module (imported by importer)`;
    `when_needed`: ONLY_WHEN_NEEDED is allowed too."""
    already = {name for name, _ in imported_modules(startup)}
    stdlib = ALLOWED_STDLIB | ONLY_WHEN_NEEDED if when_needed else ALLOWED_STDLIB
    ours = ALLOWED_UV_LAMBDA | ONLY_WHEN_NEEDED if when_needed else ALLOWED_UV_LAMBDA
    found = [
        (name, importer)
        for name, importer in imported_modules(importtime)
        if name not in already and not (name in ours if name.startswith("uv_lambda") else _allowed(name, stdlib))
    ]
    # Those an allowed module imported first: the imports to fix. What they pulled in follows.
    intruding = {name for name, _ in found}
    found.sort(key=lambda item: item[1] in intruding)
    return [f"{name} (imported by {importer or 'a function, at run time'})" for name, importer in found]


def _importtime(args: list[str], cwd: Path) -> str:
    """stderr of `uv-lambda ARGS` as the console script runs it, under -X importtime."""
    entry = "import sys; from uv_lambda.cli import main; sys.exit(main())"
    command = [sys.executable, "-X", "importtime", "-c", entry, *args]
    probe = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert probe.returncode == 0, probe.stderr[-3000:]
    return probe.stderr


def _startup() -> str:
    command = [sys.executable, "-X", "importtime", "-c", "pass"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stderr


def test_the_parser_names_an_intruder_and_what_imported_it() -> None:
    """A synthetic importtime output: dataclasses (with inspect) pulled in by sources.py."""
    startup = "import time: self [us] | cumulative | imported package\nimport time:  10 |  10 | os\n"
    run = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:  10 |  10 | os",
            "import time:  20 |  20 |     _json",
            "import time:  30 |  50 |   json",
            "import time:  40 |  40 |       inspect",
            "import time:  50 |  90 |     dataclasses",
            "import time:  60 | 150 |   uv_lambda.bundle.stage.sources",
            "import time:  70 | 270 | uv_lambda.cli._rebuild",
            "import time:  80 |  80 | uv_lambda.config",
        ]
    )
    assert imported_modules(run)[3] == ("inspect", "dataclasses")
    assert intruders(run, startup) == [
        "dataclasses (imported by uv_lambda.bundle.stage.sources)",
        "uv_lambda.config (imported by a function, at run time)",
        "inspect (imported by dataclasses)",
    ]
    assert intruders(startup, startup) == []
    assert intruders(run, startup, when_needed=True) == ["uv_lambda.config (imported by a function, at run time)"]


@pytest.mark.slow
def test_an_app_only_rebuild_imports_only_its_allowed_modules(cli: CliRunner, tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "orders",
        ORDERS_PYPROJECT + '\n[tool.uv-lambda]\nhandler = "app.main.handler"\ninclude = ["app"]\n',
        {"app/__init__.py": "", "app/main.py": "def handler(event, context):\n    return 1\n", "app/util.py": ""},
    )
    plain, widest = ["build"], ["build", "--metadata", str(tmp_path / "meta.json"), "--format", "dir", "--out", "tree"]
    for args in (plain, widest):  # each command line notes its record (rebuild/commands/)
        for _ in range(2):
            built = cli(*args, cwd=root)
            assert built.returncode == 0, built.stderr
    startup = _startup()
    # The common case: .py files edited, the handler's module among them.
    (root / "app" / "util.py").write_text("X = 1\n")
    (root / "app" / "main.py").write_text("def handler(event, context):\n    return 2\n")
    runs = {"edited modules": (_importtime(plain, root), False)}
    # Everything else the fast path can load: a data file and the options it reads itself.
    (root / "app" / "data.txt").write_text("data\n")
    runs["a data file, --metadata and --format dir"] = (_importtime(widest, root), True)
    for what, (importtime, when_needed) in runs.items():
        modules = {name for name, _ in imported_modules(importtime)}
        assert "uv_lambda.bundle.rebuild.incremental" in modules and "argparse" not in modules, (
            f"{what}: the app-only rebuild did not run (the full build did)\n{importtime[-2000:]}"
        )
        found = intruders(importtime, startup, when_needed=when_needed)
        assert not found, (
            f"{what}: the app-only rebuild imported modules beyond its allowed list "
            f"(tests/bundle/test_rebuild_imports.py): {', '.join(found)}"
        )
