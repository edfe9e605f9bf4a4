"""Helpers for the attacks on `uv-lambda build`: a small real project (two PyPI packages),
built with its own cache and temporary folder, reference artifacts from clean builds, and
the checks that nothing was half-written and no cache entry is left damaged."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.projects import write_project

from uv_lambda import sealed

PYPROJECT = """\
[project]
name = "victim"
version = "0.1.0"
requires-python = ">=3.13"
dependencies = ["six==1.17.0", "idna==3.10"]

[tool.uv-lambda]
handler = "app.main.handler"
runtime = "python3.13"
"""
MAIN_A = "import idna, six\n\ndef handler(event, context):\n    return {'six': six.__version__}\n"
MAIN_B = "import idna, six\n\ndef handler(event, context):\n    return {'idna': idna.__version__}\n"
ZIPS = {"zip": ("function.zip",), "split": ("layer.zip", "app.zip")}


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Victim:
    """A project with its own uv-lambda cache and TMPDIR."""

    project: Path
    cache: Path
    tmp: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "UV_LAMBDA_CACHE_DIR": str(self.cache), "TMPDIR": str(self.tmp), **self.extra_env}

    @property
    def out(self) -> Path:
        return self.project / "dist" / "lambda" / "victim"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "uv_lambda", "build", *args]

    def build(self, *args: str, timeout: float = 300) -> Run:
        completed = subprocess.run(
            self.command(*args),
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Run(completed.returncode, completed.stdout, completed.stderr)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            cwd=self.project,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def edit(self, main: str) -> None:
        (self.project / "app" / "main.py").write_text(main)

    def artifacts(self, layout: str = "zip") -> dict[str, bytes]:
        return {name: (self.out / name).read_bytes() for name in ZIPS[layout]}


@dataclass(frozen=True)
class BuildReference:
    """Artifacts of clean builds of the victim project, and a cache warmed by them."""

    template: Path  # the locked project
    cache: Path  # a cache holding its packages, set and layer archive
    artifacts: dict[tuple[str, str], dict[str, bytes]]  # (layout, "A"/"B") -> name -> bytes

    def victim(self, folder: Path, *, warm: bool = True) -> Victim:
        return make_victim(folder, self.template, self.cache if warm else None)


def write_template(folder: Path) -> Path:
    """The victim project, locked once; make_victim copies it."""
    return write_project(folder, PYPROJECT, {"app/__init__.py": "", "app/main.py": MAIN_A})


def make_victim(folder: Path, template: Path, cache_template: Path | None = None) -> Victim:
    """A copy of `template` in `folder`/victim; its cache a copy of `cache_template` (or empty)."""
    folder.mkdir(parents=True, exist_ok=True)
    project = folder / "victim"
    shutil.copytree(template, project, ignore=shutil.ignore_patterns("dist", "__pycache__"))
    cache = folder / "cache"
    if cache_template is not None:
        # Only what is keyed by content: records and exports are keyed by the folder too.
        shutil.copytree(cache_template, cache, ignore=shutil.ignore_patterns("rebuild", "locks", "runtimes", "exports"))
    tmp = folder / "tmp"
    tmp.mkdir()
    victim = Victim(project, cache, tmp)
    victim.edit(MAIN_A)
    return victim


def assert_clean_run(run: Run, code: int = 0) -> None:
    assert run.returncode == code, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    assert "internal error" not in run.stderr, run.stderr


def assert_one_line_error(run: Run, code: int, *needles: str) -> None:
    assert_clean_run(run, code)
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    hints = [line for line in run.stderr.splitlines() if line.startswith("hint:")]
    assert len(errors) == 1 and len(hints) == 1, run.stderr
    for needle in needles:
        assert needle in errors[0], run.stderr


SCRATCH_MARKS = (".install-", ".uv-lambda-", ".unpack-", ".set-", ".runtime-", ".rebuild-", ".tmp")


def scratch_left(*folders: Path) -> list[Path]:
    """uv-lambda's scratch and temporary files anywhere below `folders`."""
    left = []
    for folder in folders:
        if not folder.exists():
            continue
        for path in folder.rglob("*"):
            hidden = path.name.startswith(".") and any(mark in path.name for mark in SCRATCH_MARKS)
            if hidden or (path.parent == folder and path.name.startswith("uv-lambda-")):
                left.append(path)
    return left


def assert_nothing_half_written(victim: Victim) -> None:
    left = scratch_left(victim.cache, victim.project, victim.tmp)
    assert left == [], f"left behind: {left}"


def _sha256(path: Path, start: int = 0) -> str:
    return hashlib.sha256(path.read_bytes()[start:]).hexdigest()


def damaged_entries(cache: Path) -> list[str]:
    """Every cache entry that does not hold what its seal says (empty when the cache is sound)."""
    return [*_damaged_packages(cache), *_damaged_sets(cache), *_damaged_records(cache), *_unreadable(cache)]


def _damaged_packages(cache: Path) -> list[str]:
    damaged = []
    for info_path in sorted(cache.glob("packages/*/info.json")):
        info = sealed.read(info_path)
        if not isinstance(info, dict) or _sha256(info_path.parent / "files.zip") != info.get("sha256"):
            damaged.append(str(info_path.parent))
    return damaged


def _damaged_sets(cache: Path) -> list[str]:
    damaged = []
    for info_path in sorted(cache.glob("sets/*/info.json")):
        info = sealed.read(info_path)
        if not isinstance(info, dict) or _sha256(info_path.parent / "dependencies.zip") != info.get("sha256"):
            damaged.append(str(info_path.parent))
        for layer in sorted(info_path.parent.glob("layer-*.zip")):
            seal = sealed.read(layer.with_suffix(".json"))
            if not isinstance(seal, dict) or _sha256(layer) != seal.get("sha256"):
                damaged.append(str(layer))
    for folder in sorted(cache.glob("sets/*")):
        if not (folder / "info.json").is_file():
            damaged.append(str(folder))
    return damaged


def _damaged_records(cache: Path) -> list[str]:
    damaged = []
    for record in sorted(cache.glob("rebuild/*.json")):
        document = sealed.read(record)
        if not isinstance(document, dict):
            damaged.append(str(record))
        elif document.get("files") is not None:  # else it only names the settings that built a folder
            # The application's entries: a copy beside the record, or the artifact that holds them.
            local_in = document.get("local_in")
            archive, start = (Path(local_in[0]), local_in[2]) if local_in else (record.with_suffix(".zip"), 0)
            if not archive.is_file() or _sha256(archive, start) != document.get("local_sha256"):
                damaged.append(str(record))
    return damaged


def _unreadable(cache: Path) -> list[str]:
    paths = [*cache.glob("exports/*.json"), *cache.glob("memo/*"), *cache.glob("rebuild/commands/*.json")]
    return [str(path) for path in paths if sealed.read(path) is None]


def flip(path: Path, at: float = 0.5) -> None:
    """Invert one bit of the byte at fraction `at` of the file."""
    data = bytearray(path.read_bytes())
    index = min(int(len(data) * at), len(data) - 1)
    data[index] ^= 0x10
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
