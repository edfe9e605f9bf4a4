"""This checkout against an earlier revision, interleaved in one run: did a change cost time?

    python bench/revision_bench.py REV [--repeat 15]

On two copies of examples/fastapi-hello (each with its own uv-lambda cache; REV's code is
`git archive`d to a temporary folder and put first on PYTHONPATH), it times, alternating
which version goes first so both see the same load:
  rebuild  `uv-lambda -q build` after editing app/main.py (the app-only path)
  noop     the same command again, nothing changed
  full     the same command with the build records removed (a full build, set cached)
  empty    a full build with the whole uv-lambda cache removed first (a first build)
  empty-nb the same with --no-bytecode
and prints medians of wall time and of CPU time (user + system, the build and what it
ran) and the ratio this/REV for each. Meant for a loaded machine, where absolute times
are noise but interleaved ratios are not, and CPU time moves less than wall time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The first builds first: each leaves the record the app-only kinds after it use.
KINDS = ("empty-nb", "empty", "rebuild", "noop", "full")


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the process and everything it waited for)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {command}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def _checkout(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", revision, "src"], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("revision")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="uv-lambda-revision-bench-"))
    try:
        sources = {"this": REPO / "src", args.revision: _checkout(args.revision, work)}
        base = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        setups: dict[str, tuple[Path, dict[str, str]]] = {}
        for name, source in sources.items():
            project = work / f"project-{len(setups)}"
            shutil.copytree(
                REPO / "examples" / "fastapi-hello", project, ignore=shutil.ignore_patterns("dist", ".venv")
            )
            env = {
                **base,
                "PYTHONPATH": str(source),
                "UV_LAMBDA_CACHE_DIR": str(work / f"cache-{len(setups)}"),
                "UV_PYTHON_DOWNLOADS": "never",
            }
            for _ in range(2):  # a full build, then one that leaves nothing to do
                subprocess.run([sys.executable, "-m", "uv_lambda", "-q", "build"], cwd=project, env=env, check=True)
            setups[name] = (project, env)
        times: dict[tuple[str, str], list[tuple[float, float]]] = {
            (name, kind): [] for name in setups for kind in KINDS
        }
        names = list(setups)
        for round_number in range(args.repeat):
            for name in names if round_number % 2 == 0 else names[::-1]:
                project, env = setups[name]
                cache = Path(env["UV_LAMBDA_CACHE_DIR"])
                main_py = project / "app" / "main.py"
                for kind in KINDS:
                    flags = ["--no-bytecode"] if kind == "empty-nb" else []
                    if kind == "rebuild":
                        main_py.write_text(main_py.read_text() + f"\n# edit {round_number}\n")
                    if kind.startswith("empty"):
                        shutil.rmtree(cache, ignore_errors=True)
                        os.sync()  # the removal's write-back is not the build's
                    if kind == "full":
                        shutil.rmtree(cache / "rebuild", ignore_errors=True)
                    command = [sys.executable, "-m", "uv_lambda", "-q", "build", *flags]
                    times[name, kind].append(_timed(command, project, env))
        print(f"medians of {args.repeat}; load average {os.getloadavg()[0]:.1f}")
        for kind in KINDS:
            (this, this_cpu), (then, then_cpu) = (
                (
                    statistics.median(t[0] for t in times[name, kind]) * 1000,
                    statistics.median(t[1] for t in times[name, kind]) * 1000,
                )
                for name in names
            )
            print(
                f"{kind:<8} this {this:6.0f} ms  {args.revision} {then:6.0f} ms  this/{args.revision} {this / then:.2f}"
                f"   CPU {this_cpu:6.0f} / {then_cpu:6.0f} ms  {this_cpu / then_cpu:.2f}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
