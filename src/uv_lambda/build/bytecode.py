"""Compile bytecode with an interpreter of the target Python, as unchecked-hash pycs.

Why unchecked-hash: Lambda's /var/task and /opt are read-only, and a zip with fixed dates
makes every timestamp-based pyc look stale, so Python would recompile (in memory) on every
cold start. Unchecked-hash pycs are used as they are and are reproducible, because they
hold no timestamp. The build machine's Python cannot write them for another version (the
magic number differs), so the compiler runs under the target's interpreter.
"""

from __future__ import annotations

import json
from pathlib import Path

from uv_lambda import proc
from uv_lambda.errors import BuildError

# Runs under the target interpreter. Paths arrive as JSON on stdin; `strict` files (the
# user's own code) must compile, dependency files may fail (some ship Python 2 tests).
_COMPILER = r"""
import importlib.util, json, os, py_compile, sys
job = json.load(sys.stdin)
root, prefix, strict = job["root"], job["prefix"], set(job["strict"])
def compile_one(rel):
    source = os.path.join(root, rel)
    try:
        py_compile.compile(
            source,
            cfile=importlib.util.cache_from_source(source),
            dfile=prefix + rel,
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        return None
    except py_compile.PyCompileError as exc:
        return {"file": rel, "error": exc.msg.strip().splitlines()[-1], "strict": rel in strict}
# compile() holds the GIL: use processes, one per core, when there is enough work.
workers = min(os.cpu_count() or 1, 4) if len(job["files"]) > 50 else 1
if workers > 1:
    import concurrent.futures, multiprocessing  # only for large trees: they cost start-up time
    # fork: the workers need compile_one, which a -c script cannot export to a fresh process.
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        results = list(pool.map(compile_one, job["files"], chunksize=16))
else:
    results = [compile_one(rel) for rel in job["files"]]
json.dump([f for f in results if f], sys.stdout)
"""


def python_sources(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*.py") if path.is_file())


def compile_tree(
    interpreter: Path,
    root: Path,
    *,
    runtime_prefix: str,
    strict: bool,
    files: list[str] | None = None,
) -> list[str]:
    """Compile every .py under `root`; returns the relative paths that did not compile.

    `runtime_prefix` is where the tree will live on Lambda (e.g. "/var/task/"): it is the
    file name recorded in the pyc, so tracebacks name the real path and no build-machine
    path ends up in the artifact. With `strict`, a syntax error fails the build.
    """
    sources = python_sources(root) if files is None else files
    if not sources:
        return []
    job = {
        "root": str(root),
        "prefix": runtime_prefix,
        "files": sources,
        "strict": sources if strict else [],
    }
    result = proc.run(
        [interpreter, "-I", "-c", _COMPILER],
        input_text=json.dumps(job),
        what=f"compiling bytecode with {interpreter}",
        hint="build with --no-bytecode to skip bytecode compilation",
        extra_env={"PYTHONDONTWRITEBYTECODE": "1"},
    )
    failures: list[dict[str, object]] = json.loads(result.stdout or "[]")
    for failure in failures:
        if failure["strict"]:
            raise BuildError(
                f"{failure['file']} does not compile for the target Python: {failure['error']}",
                "fix the syntax error (Lambda would fail with Runtime.UserCodeSyntaxError)",
            )
    return [str(failure["file"]) for failure in failures]
