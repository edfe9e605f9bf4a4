"""This checkout against an earlier revision, interleaved in one run: did a change cost time?

    python bench/revision_bench.py REV [--repeat 15]

On two copies of examples/fastapi-hello (each with its own uv-lambda cache; REV's code is
`git archive`d to a temporary folder and put first on PYTHONPATH), it times, alternating
which version goes first so both see the same load:
  rebuild  `uv-lambda -q build` after editing app/main.py (the app-only path)
  noop     the same command again, nothing changed
  full     the same command with the build records removed (a full build, set cached)
and prints medians and the ratio this/REV for each. Meant for a loaded machine, where
absolute times are noise but interleaved ratios are not.
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
KINDS = ("rebuild", "noop", "full")


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
        times: dict[tuple[str, str], list[float]] = {(name, kind): [] for name in setups for kind in KINDS}
        names = list(setups)
        for round_number in range(args.repeat):
            for name in names if round_number % 2 == 0 else names[::-1]:
                project, env = setups[name]
                main_py = project / "app" / "main.py"
                main_py.write_text(main_py.read_text() + f"\n# edit {round_number}\n")
                for kind in KINDS:
                    if kind == "full":
                        shutil.rmtree(Path(env["UV_LAMBDA_CACHE_DIR"]) / "rebuild", ignore_errors=True)
                    started = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "uv_lambda", "-q", "build"], cwd=project, env=env, check=True)
                    times[name, kind].append(time.perf_counter() - started)
        print(f"medians of {args.repeat}; load average {os.getloadavg()[0]:.1f}")
        for kind in KINDS:
            this, then = (statistics.median(times[name, kind]) * 1000 for name in names)
            print(
                f"{kind:<8} this {this:6.0f} ms  {args.revision} {then:6.0f} ms  this/{args.revision} {this / then:.2f}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
