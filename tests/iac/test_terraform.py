"""`uv-lambda build --terraform`: the `external` data source protocol, checked the way the
hashicorp/external provider reads it (Terraform itself does not install here).

The provider writes the query (a JSON object of strings) to the program's stdin, then decodes
stdout into a map of strings: any other value type, or any other text on stdout, fails the
plan. On a non-zero exit it shows stderr.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.projects import ORDERS_HANDLER as HANDLER
from tests.support.projects import ORDERS_PYPROJECT as PYPROJECT
from tests.support.projects import CliRunner, write_project

KEYS = {"filename", "code_sha256", "sha256", "size", "handler", "runtime", "architecture", "function", "format"}
LAYER_KEYS = {"layer_filename", "layer_code_sha256", "layer_sha256", "layer_size"}


def terraform(stdin: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run the program as `data "external"` does: the query on stdin, stdout and stderr read apart."""
    return subprocess.run(
        [sys.executable, "-m", "uv_lambda", "build", "--terraform", *extra],
        input=stdin,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def provider_result(completed: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """What the provider's `result` attribute would hold; fails where the provider would."""
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)  # the whole of stdout: one JSON value, nothing else
    assert isinstance(document, dict)
    assert all(isinstance(value, str) for value in document.values()), document
    return document


def code_sha256(path: Path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


@pytest.mark.parametrize(
    ("stdin", "says"),
    [
        ("", "not JSON"),
        ("path=.", "not JSON"),
        ('["."]', "must be a JSON object"),
        ('{"path": ".", "arch": 64}', "'arch' must be a string"),
        ('{"path": ".", "architecture": "arm64"}', "unknown query key 'architecture'"),
        ("{}", 'no "path"'),
        ('{"path": ".", "format": "image"}', "cannot be used from Terraform"),
        ('{"path": "does-not-exist"}', "does not exist"),
    ],
)
def test_bad_query_is_one_line_on_stderr_and_exit_2(tmp_path: Path, stdin: str, says: str) -> None:
    completed = terraform(stdin, tmp_path)
    assert completed.returncode == 2
    assert completed.stdout == ""
    lines = completed.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], completed.stderr


def test_a_rejected_option_is_one_line_too(tmp_path: Path) -> None:
    completed = terraform('{"path": ".", "arch": "sparc"}', tmp_path)
    assert completed.returncode == 2 and completed.stdout == ""
    [line] = completed.stderr.splitlines()
    assert "invalid choice: 'sparc'" in line
    for extra in ("--all", "--format=image"):
        completed = terraform('{"path": "."}', tmp_path, extra)
        assert completed.returncode == 2 and completed.stdout == ""
        [line] = completed.stderr.splitlines()
        assert f"{extra.split('=')[0]} cannot be combined with --terraform" in line


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Terraform root module's folder beside the project, as `working_dir` would be."""
    root = tmp_path_factory.mktemp("terraform")
    write_project(root / "orders", PYPROJECT, {"app/__init__.py": "", "app/main.py": HANDLER})
    (root / "infra").mkdir()
    return root / "infra"


@pytest.fixture(scope="module")
def zip_result(workdir: Path) -> dict[str, str]:
    return provider_result(terraform('{"path": "../orders"}', workdir))


@pytest.mark.slow
def test_result_is_a_flat_object_of_strings_describing_the_zip(zip_result: dict[str, str], workdir: Path) -> None:
    assert set(zip_result) == KEYS
    path = Path(zip_result["filename"])
    assert path.is_absolute() and path == (workdir.parent / "orders/dist/lambda/orders/function.zip").resolve()
    assert zip_result["code_sha256"] == code_sha256(path)
    assert zip_result["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert zip_result["size"] == str(path.stat().st_size)
    assert (zip_result["handler"], zip_result["runtime"], zip_result["architecture"]) == (
        "app.main.handler",
        "python3.13",
        "x86_64",
    )


@pytest.mark.slow
def test_code_sha256_is_what_lambda_reports_after_deploying_the_file(zip_result: dict[str, str], workdir: Path) -> None:
    """moto computes CodeSha256 from the uploaded bytes, as Lambda does."""
    import boto3
    from moto.server import ThreadedMotoServer

    from uv_lambda.deploy.models import TRUST_POLICY

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        endpoint = f"http://{host}:{port}"
        role = session.client("iam", endpoint_url=endpoint).create_role(
            RoleName="orders", AssumeRolePolicyDocument=TRUST_POLICY
        )["Role"]["Arn"]
        lam = session.client("lambda", endpoint_url=endpoint)
        created = lam.create_function(
            FunctionName="orders",
            Runtime=zip_result["runtime"],
            Handler=zip_result["handler"],
            Architectures=[zip_result["architecture"]],
            Role=role,
            Code={"ZipFile": Path(zip_result["filename"]).read_bytes()},
        )
        assert created["CodeSha256"] == zip_result["code_sha256"]
        assert lam.get_function(FunctionName="orders")["Configuration"]["CodeSha256"] == zip_result["code_sha256"]

        # A split build into its own folder (`out`): the layer's hash too.
        split = provider_result(terraform('{"path": "../orders", "format": "split", "out": "../split"}', workdir))
        assert Path(split["filename"]) == (workdir.parent / "split" / "app.zip").resolve()
        layer = lam.publish_layer_version(
            LayerName="orders-deps", Content={"ZipFile": Path(split["layer_filename"]).read_bytes()}
        )
        assert layer["Content"]["CodeSha256"] == split["layer_code_sha256"]
        app = lam.create_function(
            FunctionName="orders-split",
            Runtime=split["runtime"],
            Handler=split["handler"],
            Role=role,
            Code={"ZipFile": Path(split["filename"]).read_bytes()},
            Layers=[layer["LayerVersionArn"]],
        )
        assert app["CodeSha256"] == split["code_sha256"]
    finally:
        server.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path): (path.stat().st_mtime_ns, path.stat().st_size)
        for folder in folders
        for path in sorted(folder.rglob("*"))
    }


@pytest.mark.slow
def test_a_second_run_writes_nothing(zip_result: dict[str, str], workdir: Path) -> None:
    cache = Path(os.environ["UV_LAMBDA_CACHE_DIR"])
    dist = Path(zip_result["filename"]).parent
    before = _snapshot(dist, cache)
    again = terraform('{"path": "../orders"}', workdir)
    assert provider_result(again) == zip_result
    assert _snapshot(dist, cache) == before


@pytest.mark.slow
def test_fresh_copies_with_other_mtimes_give_the_same_result(workdir: Path, tmp_path: Path) -> None:
    results = []
    for index, stamp in enumerate((1_600_000_000, 1_700_000_000)):
        copy = tmp_path / f"clone{index}"
        shutil.copytree(workdir.parent, copy, ignore=shutil.ignore_patterns("dist"))
        for path in copy.rglob("*"):
            os.utime(path, (stamp, stamp))  # a fresh CI checkout: every file has a new mtime
        result = provider_result(terraform('{"path": "../orders", "format": "split"}', copy / "infra"))
        assert set(result) == KEYS | LAYER_KEYS
        for key in ("filename", "layer_filename"):
            assert Path(result.pop(key)).is_relative_to(copy)
        results.append(result)
    assert results[0] == results[1]


@pytest.mark.slow
def test_a_failed_build_is_one_line_and_exit_1(tmp_path: Path) -> None:
    pyproject = PYPROJECT + '[tool.uv-lambda]\nhandler = "app.main.handler"\n'
    write_project(tmp_path / "broken", pyproject, {"app/__init__.py": "", "app/main.py": "X = 1\n"})
    completed = terraform('{"path": "broken"}', tmp_path)
    assert completed.returncode == 1 and completed.stdout == ""
    [line] = completed.stderr.splitlines()
    assert line.startswith("error: app.main does not define 'handler'") and "(hint: define handler" in line


@pytest.mark.slow
def test_metadata_file_follows_every_build_and_is_left_alone_when_unchanged(
    workdir: Path, tmp_path: Path, cli: CliRunner
) -> None:
    project = tmp_path / "orders"
    shutil.copytree(workdir.parent / "orders", project, ignore=shutil.ignore_patterns("dist"))
    target = tmp_path / "meta" / "artifacts.json"
    first = cli("build", project, "--metadata", target)
    assert first.returncode == 0 and first.stdout == "", first.stderr
    [document] = json.loads(target.read_text())["artifacts"]
    assert document["code_sha256"] == code_sha256(Path(document["path"]))
    stamp = target.stat().st_mtime_ns
    # Up to date (the app-only rebuild's check): the same document, the file not rewritten.
    assert cli("build", project, "--metadata", target).returncode == 0
    assert target.stat().st_mtime_ns == stamp
    # An app edit rebuilt by the fast path updates it.
    (project / "app" / "main.py").write_text(HANDLER.replace("'six'", "'version'"))
    edited = cli("build", project, "--metadata", target)
    assert edited.returncode == 0 and "the rest reused" in edited.stderr, edited.stderr
    [after] = json.loads(target.read_text())["artifacts"]
    assert after["code_sha256"] != document["code_sha256"]
    assert after["code_sha256"] == code_sha256(Path(after["path"]))
    # `-` is stdout: the document --json prints, and nothing else there.
    to_stdout = cli("build", project, "--metadata", "-")
    assert to_stdout.returncode == 0 and json.loads(to_stdout.stdout) == {"artifacts": [after]}


def test_query_becomes_one_build_command_line() -> None:
    from uv_lambda.cli._terraform import build_argv

    query = {"path": "../orders", "format": "split", "arch": "arm64", "function": "", "out": "build"}
    assert build_argv(["build", "--terraform", "--no-bytecode"], query) == [
        "build",
        "--no-bytecode",
        "../orders",
        "--format",
        "split",
        "--arch",
        "arm64",
        "--out",
        "build",
        "--json",
    ]


def test_errors_become_one_line() -> None:
    from uv_lambda.cli._terraform import one_line_error

    assert one_line_error("warning: old\nerror: it broke\nhint: fix it\n") == "error: it broke (hint: fix it)"
    usage = "usage: uv-lambda build [-h]\nuv-lambda build: error: argument --arch: invalid choice: 'x'\n"
    assert one_line_error(usage) == "error: argument --arch: invalid choice: 'x'"
    assert one_line_error("") == "error: the build failed"


def test_metadata_into_a_folder_is_refused_before_any_work(tmp_path: Path, cli: CliRunner) -> None:
    result = cli("build", tmp_path / "no-project", "--metadata", tmp_path)
    assert result.returncode == 2 and f"--metadata {tmp_path} is a folder" in result.stderr
