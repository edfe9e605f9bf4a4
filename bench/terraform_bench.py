"""`uv-lambda build --terraform` as Terraform runs it on every plan and refresh.

    python bench/terraform_bench.py [--repeat 11]

On a copy of examples/fastapi-hello with uv's cache warm, from a root module's folder beside
it (query `{"path": "../fastapi-hello", "format": "split"}`), it measures (medians):
  baseline    `python -c pass`: the interpreter starting, the least any Python program
              costs (and `uv-lambda --version`, the interpreter and the whole CLI)
  first       the first run with an empty uv-lambda cache (a fresh CI machine)
  unchanged   the run of every later plan, nothing changed: it only checks that the
              artifacts are up to date, so the target is below `uv-lambda --version` (the
              CLI's parser is never built on that path)
  edited      the run after an edit of app/main.py (the app-only rebuild)
and checks that every unchanged run prints the same result and writes nothing in the
output folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from build_bench import REPO, environment

QUERY = json.dumps({"path": "../fastapi-hello", "format": "split"})


def run(command: list[str], cwd: Path, env: dict[str, str], stdin: str = "") -> tuple[float, str]:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"failed: {command}\n{completed.stderr}")
    return elapsed, completed.stdout


def snapshot(folder: Path) -> dict[str, int]:
    return {str(path): path.stat().st_mtime_ns for path in sorted(folder.rglob("*"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="uv-lambda-bench-"))
    try:
        project = work / "fastapi-hello"
        shutil.copytree(REPO / "examples" / "fastapi-hello", project, ignore=shutil.ignore_patterns("dist"))
        infra = work / "infra"
        infra.mkdir()
        env = environment(work / "cache")
        program = [sys.executable, "-m", "uv_lambda", "build", "--terraform"]
        version = [sys.executable, "-m", "uv_lambda", "--version"]
        bare = [sys.executable, "-c", "pass"]
        run(program, infra, env, QUERY)  # warm uv's download cache
        shutil.rmtree(work / "cache")
        shutil.rmtree(project / "dist")

        first, result = run(program, infra, env, QUERY)
        dist = project / "dist"
        before = snapshot(dist)
        baselines: list[float] = []
        versions: list[float] = []
        unchanged: list[float] = []
        for _ in range(args.repeat):  # interleaved, so that load changes hit all alike
            baselines.append(run(bare, infra, env)[0])
            versions.append(run(version, infra, env)[0])
            seconds, again = run(program, infra, env, QUERY)
            unchanged.append(seconds)
            if again != result:
                raise SystemExit(f"an unchanged run printed another result:\n{result}\n{again}")
        if snapshot(dist) != before:
            raise SystemExit("an unchanged run wrote in the output folder")

        main_py = project / "app" / "main.py"
        original = main_py.read_text()
        edited: list[float] = []
        for index in range(args.repeat):
            main_py.write_text(original + f"\n# edit {index}\n")
            edited.append(run(program, infra, env, QUERY)[0])

        baseline = statistics.median(baselines)
        print(f"runs: {args.repeat}; app: examples/fastapi-hello (format split); query {QUERY}")
        print(f"baseline (python -c pass)        median {baseline * 1000:6.0f} ms")
        print(
            f"uv-lambda --version              median {statistics.median(versions) * 1000:6.0f} ms"
            f"  ratio {statistics.median(versions) / baseline:.2f}"
        )
        print(f"first run, empty uv-lambda cache        {first * 1000:6.0f} ms")
        print(
            f"unchanged (every later plan)     median {statistics.median(unchanged) * 1000:6.0f} ms"
            f"  min {min(unchanged) * 1000:.0f} ms  ratio {statistics.median(unchanged) / baseline:.2f}"
            f", {statistics.median(unchanged) / statistics.median(versions):.2f} of --version (target < 1)"
        )
        print(
            f"after an edit of app/main.py     median {statistics.median(edited) * 1000:6.0f} ms"
            f"  ratio {statistics.median(edited) / baseline:.2f}"
        )
        print(f"unchanged runs: same result {args.repeat}/{args.repeat}, files written 0")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
