"""The bytecode compiler writes what py_compile writes, under every target interpreter here."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from tests.fixtures import PythonFor
from tests.support.interpreters import MINORS

from uv_lambda.bundle import bytecode
from uv_lambda.errors import BuildError

# py_compile's own UNCHECKED_HASH output, with the relative path as the recorded file name.
_REFERENCE = """
import json, os, py_compile, sys
root, files = json.load(sys.stdin)
out = {}
for rel in files:
    source = os.path.join(root, rel)
    target = py_compile.compile(source, cfile=source + ".ref", dfile=rel, doraise=True,
                                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    out[rel] = open(target, "rb").read().hex()
print(json.dumps(out))
"""


def _tree(root: Path, count: int) -> list[str]:
    files = []
    for index in range(count):
        path = root / f"pkg{index % 3}" / f"module_{index}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"'''Module {index}.'''\nVALUE = {index}\n\ndef f(x):\n    return [x * i for i in range({index})]\n"
        )
        files.append(path.relative_to(root).as_posix())
    (root / "top.py").write_text("import os\nprint(os.sep)\n")
    return sorted([*files, "top.py"])


@pytest.mark.parametrize("count", [3, 80], ids=["one-process", "forked-workers"])
@pytest.mark.parametrize("version", MINORS, ids=lambda version: f"python{version}")
def test_same_bytes_as_py_compile(tmp_path: Path, version: str, count: int, python_for: PythonFor) -> None:
    interpreter = python_for(version)
    files = _tree(tmp_path, count)
    with bytecode.Compiler(interpreter) as compiler:
        compiler.submit([(tmp_path, files)])
        assert compiler.wait() == []
    reference = json.loads(
        subprocess.run(
            [interpreter, "-I", "-c", _REFERENCE],
            input=json.dumps([str(tmp_path), files]),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    for rel in files:
        written = (tmp_path / bytecode.pyc_name(rel, version)).read_bytes()
        assert written.hex() == reference[rel], rel
        assert int.from_bytes(written[4:8], "little") == 0b01  # unchecked hash
    assert not list(tmp_path.rglob("*.tmp")), "no temporary file is left behind"


@pytest.mark.parametrize("count", [3, 80], ids=["one-process", "forked-workers"])
def test_pycs_in_blobs_are_the_bytes_written_beside_the_sources(
    tmp_path: Path, count: int, python_for: PythonFor
) -> None:
    """With `into`, each worker appends its pycs to a blob: the same bytes, no file per module,
    and a file that does not compile is a failure with no pyc."""
    interpreter = python_for("3.13")
    beside, blobs = tmp_path / "beside", tmp_path / "blobs"
    for root in (beside, blobs / "tree"):
        root.mkdir(parents=True)
        files = _tree(root, count)
        (root / "broken.py").write_text("def f(:\n")
    (blobs / "pycs").mkdir()
    with bytecode.Compiler(interpreter) as compiler:
        compiler.submit([(beside, [*files, "broken.py"])])
        assert [failure.file for failure in compiler.wait()] == ["broken.py"]
    with bytecode.Compiler(interpreter) as compiler:
        compiler.submit([(blobs / "tree", [*files, "broken.py"])], into=blobs / "pycs")
        assert [failure.file for failure in compiler.wait()] == ["broken.py"]
        pycs = compiler.pycs
    assert set(pycs) == {(blobs / "tree", rel) for rel in files}
    for rel in files:
        pyc = pycs[(blobs / "tree", rel)]
        with pyc.blob.open("rb") as handle:
            handle.seek(pyc.offset)
            assert handle.read(pyc.length) == (beside / bytecode.pyc_name(rel, "3.13")).read_bytes(), rel
    assert not list((blobs / "tree").rglob("*.pyc")), "nothing is written beside the sources"
    workers = min(os.cpu_count() or 1, 4) if count > 50 else 1
    assert len(list((blobs / "pycs").iterdir())) == workers  # one blob per worker


def test_a_tab_in_a_file_name_is_refused_before_compiling(tmp_path: Path, python_for: PythonFor) -> None:
    with bytecode.Compiler(python_for("3.13")) as compiler, pytest.raises(BuildError, match="line break or a tab"):
        compiler.submit([(tmp_path, ["a\tb.py"])])


def test_failures_are_reported_per_tree(tmp_path: Path, python_for: PythonFor) -> None:
    interpreter = python_for("3.13")
    app, deps = tmp_path / "app", tmp_path / "deps"
    app.mkdir()
    deps.mkdir()
    (app / "main.py").write_text("def handler(event, context):\n    return (\n")
    (app / "ok.py").write_text("X = 1\n")
    (deps / "py2.py").write_text("print 'hello'\n")
    (deps / "nul.py").write_bytes(b"x = 1\x00\n")
    with bytecode.Compiler(interpreter) as compiler:
        compiler.submit([(app, ["main.py", "ok.py"]), (deps, ["nul.py", "py2.py"])])
        failures = compiler.wait()
    by_file = {(failure.root, failure.file): failure.error for failure in failures}
    assert set(by_file) == {(app, "main.py"), (deps, "py2.py"), (deps, "nul.py")}
    assert "SyntaxError" in by_file[(app, "main.py")] and "line" in by_file[(app, "main.py")]
    with pytest.raises(BuildError, match=r"main.py does not compile for the target Python: SyntaxError"):
        bytecode.raise_for_strict([f for f in failures if f.root == app])


def test_cancel_stops_an_unused_compiler(python_for: PythonFor) -> None:
    compiler = bytecode.Compiler(python_for("3.13"))
    compiler.cancel()
    assert compiler._process.returncode is not None


def test_pyc_name() -> None:
    assert bytecode.pyc_name("app/main.py", "3.13") == "app/__pycache__/main.cpython-313.pyc"
    assert bytecode.pyc_name("six.py", "3.10") == "__pycache__/six.cpython-310.pyc"


# `in {...}` of constants compiles to a frozenset constant, which 3.10's marshal writes in
# hash order: with random string hashing its pyc would differ from run to run.
_FROZENSET_SOURCE = "def f(x):\n    return x in {'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'}\n"


@pytest.mark.parametrize("version", MINORS, ids=lambda version: f"python{version}")
def test_frozenset_constants_give_the_same_bytes_every_run(tmp_path: Path, version: str, python_for: PythonFor) -> None:
    interpreter = python_for(version)
    outputs = set()
    for run in range(4):
        root = tmp_path / str(run)
        root.mkdir()
        (root / "sets.py").write_text(_FROZENSET_SOURCE)
        with bytecode.Compiler(interpreter) as compiler:
            compiler.submit([(root, ["sets.py"])])
            assert compiler.wait() == []
        outputs.add((root / bytecode.pyc_name("sets.py", version)).read_bytes())
    assert len(outputs) == 1


def test_compiler_ignores_the_current_folder_and_python_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, python_for: PythonFor
) -> None:
    interpreter = python_for("3.10")  # 3.10 imports os from disk after start-up
    poisoned = tmp_path / "poisoned"
    poisoned.mkdir()
    (poisoned / "os.py").write_text("raise SystemExit('the project os.py was imported')\n")
    (poisoned / "marshal.py").write_text("raise SystemExit('the project marshal.py was imported')\n")
    monkeypatch.chdir(poisoned)
    monkeypatch.setenv("PYTHONPATH", str(poisoned))
    monkeypatch.setenv("PYTHONOPTIMIZE", "2")
    root = tmp_path / "src"
    root.mkdir()
    (root / "doc.py").write_text("'''Kept.'''\nassert True\n")
    with bytecode.Compiler(interpreter) as compiler:
        compiler.submit([(root, ["doc.py"])])
        assert compiler.wait() == []
    assert b"Kept." in (root / bytecode.pyc_name("doc.py", interpreter.name.removeprefix("python"))).read_bytes()
