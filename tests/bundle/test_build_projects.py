"""Building the project shapes users have, with real uv and real PyPI packages."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from tests.bundle.build_helpers import artifact, metadata, names, read
from tests.support.interpreters import find_python
from tests.support.projects import CliRunner, write_project

pytestmark = pytest.mark.slow


def test_guide_app_zip_holds_dependencies_app_and_target_bytecode(cli: CliRunner, example) -> None:
    project = example("fastapi-hello")
    result = cli("build", project)
    assert result.returncode == 0, result.stderr
    zip_path = artifact(project)
    entries = names(zip_path)
    assert "app/main.py" in entries and "app/__pycache__/main.cpython-313.pyc" in entries
    assert "fastapi/__init__.py" in entries and "mangum/__init__.py" in entries
    assert any(name.startswith("pydantic_core/_pydantic_core.cpython-313-x86_64-linux-gnu") for name in entries)
    # Never shipped: console scripts with this machine's interpreter, uv's lock, stray bytecode.
    assert not any(name.startswith(("bin/", ".lock", ".venv/", "dist/")) for name in entries)
    assert "event.json" not in entries and "uv.lock" not in entries
    pyc = read(zip_path, "app/__pycache__/main.cpython-313.pyc")
    assert int.from_bytes(pyc[4:8], "little") == 0b01, "unchecked-hash pyc (flags=1)"
    meta = metadata(zip_path)
    assert meta["runtime"] == "python3.13" and meta["handler"] == "app.main.handler"
    assert meta["platform"] == "x86_64-manylinux_2_34" and meta["architecture"] == "x86_64"
    digest = hashlib.sha256(zip_path.read_bytes())
    assert meta["sha256"] == digest.hexdigest()
    import base64

    assert meta["code_sha256"] == base64.b64encode(digest.digest()).decode()
    assert meta["file_count"] == len([n for n in entries if not n.endswith("/")])
    packages = {p["name"]: p for p in meta["packages"]}
    assert packages["fastapi"]["source"] == "registry" and packages["pydantic-core"]["size"] > 1_000_000


def test_archive_is_normalised_and_reproducible_across_folders(cli: CliRunner, example, tmp_path: Path) -> None:
    first = example("fastapi-hello")
    second = tmp_path / "elsewhere" / "copy"
    shutil.copytree(first, second)
    (second / "app" / "main.py").chmod(0o600)  # a umask-027 checkout must still give 0644
    assert cli("build", first).returncode == 0
    assert cli("build", second).returncode == 0
    a, b = artifact(first), artifact(second)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as handle:
        for info in handle.infolist():
            mode = info.external_attr >> 16
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.create_system == 3 and info.extra == b""
            assert stat.S_IMODE(mode) in (0o644, 0o755), info.filename
            if info.is_dir():
                assert stat.S_IMODE(mode) == 0o755
        # Fixed order: the cached dependency block (sorted), then the project's own files (sorted).
        order = handle.namelist()
        local_start = order.index("app/")
        assert order[:local_start] == sorted(order[:local_start])
        assert order[local_start:] == sorted(order[local_start:])
        blob = b"".join(handle.read(name) for name in handle.namelist() if not name.endswith("/"))
    assert str(first).encode() not in blob and str(second).encode() not in blob


def test_reproducible_whichever_python_uv_finds_first(cli: CliRunner, example, tmp_path: Path) -> None:
    """Console scripts (fastapi's, idna's) are written with the shebang of the Python uv
    finds on this machine; they are not shipped, and neither are their RECORD lines, whose
    hash is that of the shebang: the artifact is the same on a machine whose first Python
    on PATH lives elsewhere."""
    other = find_python("3.12")
    if other is None:
        pytest.skip("no python3.12 on this machine: put one on PATH to run this test")
    project = example("fastapi-hello")
    outputs = []
    for first in (Path(sys.executable).parent, other.parent):
        out = tmp_path / f"out-{len(outputs)}"
        env = {"PATH": os.pathsep.join([str(first), os.environ["PATH"]]), "UV_LAMBDA_CACHE_DIR": str(out) + "-cache"}
        result = cli("build", project, "--no-bytecode", "--out", out, env=env)
        assert result.returncode == 0, result.stderr
        outputs.append(out / "function.zip")
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    with zipfile.ZipFile(outputs[0]) as handle:
        records = {name: handle.read(name).decode() for name in handle.namelist() if name.endswith(".dist-info/RECORD")}
    assert "fastapi-0.165.0.dist-info/RECORD" in records
    assert not [line for text in records.values() for line in text.splitlines() if line.startswith("bin/")]
    assert not [name for name in names(outputs[0]) if name.startswith("bin/")]


def test_rebuild_after_app_edit_reuses_dependencies(cli: CliRunner, example) -> None:
    project = example("fastapi-hello")
    assert cli("build", project).returncode == 0
    before = metadata(artifact(project))
    main = project / "app" / "main.py"
    main.write_text(main.read_text().replace("Hello, world!", "Hello, edit!"))
    result = cli("-v", "build", project)
    assert result.returncode == 0, result.stderr
    assert "pip install" not in result.stderr, "no uv pip install on an application-only edit"
    assert "dependency cache hit" in result.stderr
    after = metadata(artifact(project))
    assert after["dependencies_hash"] == before["dependencies_hash"]
    assert after["sha256"] != before["sha256"]
    assert b"Hello, edit!" in read(artifact(project), "app/main.py")


def test_layer_and_split_formats(cli: CliRunner, example) -> None:
    project = example("workspace")
    assert cli("build", project, "--format", "layer").returncode == 0
    layer = artifact(project, "layer.zip")
    layer_names = names(layer)
    assert all(n.startswith("python/") for n in layer_names)
    assert "python/lib/python3.13/site-packages/fastapi/__init__.py" in layer_names
    assert not any("/library/" in n or "/app/" in n for n in layer_names), "layer holds third-party only"
    assert metadata(layer)["handler"] is None

    result = cli("build", project, "--format", "split", "--json")
    assert result.returncode == 0, result.stderr
    import json

    document = json.loads(result.stdout)
    roles = {entry["role"]: entry for entry in document["artifacts"]}
    assert set(roles) == {"layer", "app"}
    app_names = names(Path(roles["app"]["path"]))
    assert "app/main.py" in app_names and "library/__init__.py" in app_names and "greeting/__init__.py" in app_names
    assert not any(n.startswith("fastapi/") for n in app_names)
    # The previous build's files of another format are gone; the layer bytes did not change.
    folder = Path(roles["app"]["path"]).parent
    assert not (folder / "function.zip").exists()
    assert hashlib.sha256(layer.read_bytes()).hexdigest() == roles["layer"]["sha256"]


def test_workspace_members_are_installed_non_editable_with_transitive_member(cli: CliRunner, example) -> None:
    project = example("workspace")
    result = cli("build", project)
    assert result.returncode == 0, result.stderr
    zip_path = artifact(project)
    entries = names(zip_path)
    assert "library/__init__.py" in entries and "greeting/__init__.py" in entries  # uv #14963
    assert not any(n.endswith(".pth") for n in entries), "no editable install"
    assert "library/__pycache__/__init__.cpython-313.pyc" in entries
    sources = {p["name"]: p["source"] for p in metadata(zip_path)["packages"]}
    assert sources["library"] == "workspace" and sources["greeting"] == "workspace"
    # A member edit shows up in the next build (built from source, never a stale copy).
    init = project / "greeting" / "src" / "greeting" / "__init__.py"
    init.write_text(init.read_text().replace('f"{text}!"', 'f"{text}!!"'))
    assert cli("build", project).returncode == 0
    assert b'f"{text}!!"' in read(artifact(project), "greeting/__init__.py")


SRC_LAYOUT = """\
[project]
name = "orders"
version = "1.2.0"
requires-python = ">=3.12"
dependencies = ["attrs"]

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.uv-lambda]
handler = "orders.api.handler"
"""


def test_src_layout_package_installed_non_editable(cli: CliRunner, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "orders",
        SRC_LAYOUT,
        {
            "src/orders/__init__.py": "",
            "src/orders/api.py": "import attrs\n\ndef handler(event, context):\n    return {'ok': True}\n",
            "tests/test_api.py": "def test(): pass\n",
            ".env": "SECRET=1\n",
        },
    )
    result = cli("build", project)
    assert result.returncode == 0, result.stderr
    entries = names(artifact(project))
    assert "orders/api.py" in entries and "orders/__pycache__/api.cpython-312.pyc" in entries
    assert "attrs/__init__.py" in entries
    assert not any(n.startswith(("tests/", "src/", ".env")) or n.endswith(".pth") for n in entries)
    assert metadata(artifact(project))["runtime"] == "python3.12"


NATIVE = """\
[project]
name = "native"
version = "0.1.0"
requires-python = ">=3.12"
dependencies = ["numpy", "pydantic-core"]

[tool.uv-lambda]
handler = "handler.main"
"""


@pytest.mark.parametrize(("arch", "machine", "elf_machine"), [("x86_64", "x86_64", 62), ("arm64", "aarch64", 183)])
def test_native_dependencies_for_each_architecture(
    cli: CliRunner, tmp_path: Path, arch: str, machine: str, elf_machine: int
) -> None:
    project = write_project(
        tmp_path / "native",
        NATIVE,
        {"handler.py": "import numpy\n\ndef main(e, c):\n    return 1\n"},
    )
    result = cli("build", project, "--arch", arch, "--runtime", "python3.12")
    assert result.returncode == 0, result.stderr
    zip_path = artifact(project)
    extensions = [n for n in names(zip_path) if n.endswith(".so") and "cpython-312" in n]
    assert extensions and all(f"-{machine}-linux-gnu" in n for n in extensions)
    from uv_lambda.bundle.verify.elf import read_elf

    sample = tmp_path / "sample.so"
    sample.write_bytes(read(zip_path, next(n for n in extensions if n.startswith("pydantic_core/"))))
    info = read_elf(sample)
    assert info.machine == elf_machine
    assert info.needed_glibc is None or info.needed_glibc <= (2, 34)
    assert metadata(zip_path)["platform"] == f"{machine}-manylinux_2_34"


def test_function_in_a_workspace_member(cli: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "mono"
    write_project(
        root,
        '[project]\nname = "mono"\nversion = "0"\nrequires-python = ">=3.13"\n\n'
        '[tool.uv.workspace]\nmembers = ["services/*"]\n',
        {
            "services/api/pyproject.toml": '[project]\nname = "api"\nversion = "0.3.0"\n'
            'requires-python = ">=3.13"\ndependencies = ["idna"]\n',
            "services/api/api/__init__.py": "",
            "services/api/api/main.py": "import idna\n\ndef handler(event, context):\n    return 'api'\n",
        },
    )
    (root / "services" / "api" / "pyproject.toml").write_text(
        (root / "services" / "api" / "pyproject.toml").read_text()
        + '\n[tool.uv-lambda]\nhandler = "api.main.handler"\n'
    )
    from_member = cli("build", root / "services" / "api")
    assert from_member.returncode == 0, from_member.stderr
    entries = names(artifact(root / "services" / "api"))
    assert "api/main.py" in entries and "idna/__init__.py" in entries
    from_root = cli("build", root, "--package", "api", "--handler", "api.main.handler")
    assert from_root.returncode == 0, from_root.stderr
    assert names(artifact(root, function="mono")) == entries


def test_build_from_root_with_package_option_and_function_tables(cli: CliRunner, tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "multi",
        '[project]\nname = "multi"\nversion = "0"\nrequires-python = ">=3.13"\ndependencies = ["idna"]\n\n'
        '[tool.uv-lambda]\narchitecture = "arm64"\n\n'
        '[tool.uv-lambda.functions.ping]\nhandler = "fns.ping.handler"\n\n'
        '[tool.uv-lambda.functions.pong]\nhandler = "fns.pong.handler"\narchitecture = "x86_64"\n',
        {
            "fns/__init__.py": "",
            "fns/ping.py": "def handler(e, c):\n    return 'ping'\n",
            "fns/pong.py": "def handler(e, c):\n    return 'pong'\n",
        },
    )
    ambiguous = cli("build", root)
    assert ambiguous.returncode == 2 and "--function" in ambiguous.stderr
    assert cli("build", root, "--all").returncode == 0
    assert metadata(artifact(root, function="ping"))["architecture"] == "arm64"
    assert metadata(artifact(root, function="pong"))["architecture"] == "x86_64"
    assert metadata(artifact(root, function="pong"))["handler"] == "fns.pong.handler"


def test_secret_looking_files_are_left_out_with_a_warning(cli: CliRunner, example) -> None:
    project = example("fastapi-hello")
    (project / "app" / ".env.production").write_text("TOKEN=x\n")
    (project / "app" / "server.pem").write_text("-----BEGIN-----\n")
    (project / "app" / "templates").mkdir()
    (project / "app" / "templates" / "page.html").write_text("<p>hi</p>\n")
    result = cli("build", project)
    assert result.returncode == 0
    assert "app/.env.production" in result.stderr and "app/server.pem" in result.stderr
    entries = names(artifact(project))
    assert "app/templates/page.html" in entries
    assert not any(n.endswith((".pem", ".env.production")) for n in entries)


def test_no_bytecode_and_explicit_interpreter(cli: CliRunner, example) -> None:
    project = example("fastapi-hello")
    assert cli("build", project, "--no-bytecode").returncode == 0
    assert not any(n.endswith(".pyc") for n in names(artifact(project)))
    assert metadata(artifact(project))["bytecode"] is False
    wrong = cli("build", project, "--python", sys.executable)
    assert wrong.returncode == 2 and "needs Python 3.13" in wrong.stderr


def test_built_function_imports_under_target_python_from_read_only_copy(
    cli: CliRunner, example, tmp_path: Path
) -> None:
    project = example("fastapi-hello")
    assert cli("build", project).returncode == 0
    task_root = tmp_path / "task"
    with zipfile.ZipFile(artifact(project)) as handle:
        handle.extractall(task_root)
    from uv_lambda.uv import find_uv

    python = find_uv().find_python("3.13")
    code = (
        "import sys; sys.path.insert(0, '.'); import json, app.main;"
        "from app.main import handler;"
        "print(json.dumps(handler({'httpMethod':'GET','path':'/','requestContext':{},'version':'1.0'}, None)))"
    )
    out = subprocess.run(
        [python, "-I", "-c", code],
        cwd=task_root,
        capture_output=True,
        text=True,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert '"body": "\\"Hello, world!\\""' in out.stdout


def test_lock_change_installs_only_the_changed_packages(cli: CliRunner, example, tmp_path: Path) -> None:
    project = example("fastapi-hello")
    own_cache = {"UV_LAMBDA_CACHE_DIR": str(tmp_path / "own-cache")}  # other tests may have cached six
    assert cli("build", project, env=own_cache).returncode == 0
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"mangum",', '"mangum",\n    "six",'))
    result = cli("-v", "build", project, "--lock", env=own_cache)
    assert result.returncode == 0, result.stderr
    assert "to install: ['six']" in result.stderr
    entries = names(artifact(project))
    assert "six.py" in entries and "__pycache__/six.cpython-313.pyc" in entries and "fastapi/__init__.py" in entries


def test_unpacked_dependency_folder_keeps_modes(cli: CliRunner, example) -> None:
    from uv_lambda.bundle.pipeline import stage_function
    from uv_lambda.project import load_project
    from uv_lambda.ui import Reporter

    project_dir = example("fastapi-hello")
    project = load_project(project_dir)
    config = next(iter(project.functions().values()))
    with stage_function(project, config, reporter=Reporter(quiet=True)) as staged:
        folder = staged.dependencies_dir
        extension = next(folder.glob("pydantic_core/_pydantic_core*.so"))
        assert stat.S_IMODE(extension.stat().st_mode) == stat.S_IMODE(
            zipfile.ZipFile(staged.dependencies.archive).getinfo(extension.relative_to(folder).as_posix()).external_attr
            >> 16
        )
        assert (folder / "fastapi" / "__init__.py").stat().st_mode & 0o777 == 0o644
