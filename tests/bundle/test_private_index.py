"""A dependency from a private index that asks for credentials (uv's `[[tool.uv.index]]` with
UV_INDEX_<NAME>_USERNAME/PASSWORD): the lock keeps its files' URLs without the credentials,
and the build installs them anyway, or says plainly that the index refused it.

The index is a real HTTP server on 127.0.0.1 requiring Basic authentication, serving one
hand-made wheel that no public index has."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.bundle.build_helpers import artifact, names
from tests.bundle.test_build_errors import assert_clean_error
from tests.support.projects import CliRunner, write_project

pytestmark = pytest.mark.slow

WHEEL_NAME = "corplib-1.0-py3-none-any.whl"
USER, PASSWORD = "builder", "s3cret"


def _wheel() -> bytes:
    files = {
        "corplib/__init__.py": b"SECRET_SAUCE = 'from the private index'\n",
        "corplib-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: corplib\nVersion: 1.0\n",
        "corplib-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
        for name, data in files.items()
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr("corplib-1.0.dist-info/RECORD", record + "corplib-1.0.dist-info/RECORD,,\n")
    return buffer.getvalue()


class _Index(ThreadingHTTPServer):
    wheel = _wheel()
    requests: list[tuple[str, int]]


class _Handler(BaseHTTPRequestHandler):
    server: _Index

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, *, body: bool) -> None:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self._answer(401, b"credentials needed", {"WWW-Authenticate": 'Basic realm="corp"'}, body)
        elif self.path.rstrip("/") == "/simple/corplib":
            digest = hashlib.sha256(self.server.wheel).hexdigest()
            page = f'<html><body><a href="/files/{WHEEL_NAME}#sha256={digest}">{WHEEL_NAME}</a></body></html>'
            self._answer(200, page.encode(), {"Content-Type": "text/html"}, body)
        elif self.path == f"/files/{WHEEL_NAME}":
            self._answer(200, self.server.wheel, {"Content-Type": "application/octet-stream"}, body)
        else:
            self._answer(404, b"not here", {}, body)

    def _answer(self, status: int, data: bytes, headers: dict[str, str], body: bool) -> None:
        self.server.requests.append((f"{self.command} {self.path}", status))
        self.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(data))}.items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def private_index() -> Iterator[_Index]:
    server = _Index(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_private_index_dependency_is_built_with_the_projects_credentials(
    cli: CliRunner, tmp_path: Path, private_index: _Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = private_index.server_address[1]
    monkeypatch.setenv("UV_INDEX_CORP_USERNAME", USER)
    monkeypatch.setenv("UV_INDEX_CORP_PASSWORD", PASSWORD)
    project = write_project(
        tmp_path / "private",
        '[project]\nname = "private"\nversion = "0"\nrequires-python = ">=3.13"\ndependencies = ["corplib==1.0"]\n\n'
        f'[[tool.uv.index]]\nname = "corp"\nurl = "http://127.0.0.1:{port}/simple"\nexplicit = true\n\n'
        '[tool.uv.sources]\ncorplib = { index = "corp" }\n\n[tool.uv-lambda]\nhandler = "main.handler"\n',
        {"main.py": "import corplib\n\ndef handler(event, context):\n    return corplib.SECRET_SAUCE\n"},
    )
    lock = (project / "uv.lock").read_text()
    assert f"http://127.0.0.1:{port}/files/{WHEEL_NAME}" in lock and PASSWORD not in lock

    built = cli("build", project)
    assert built.returncode == 0, built.stderr
    assert "corplib/__init__.py" in names(artifact(project))
    assert PASSWORD not in built.stderr
    event = tmp_path / "event.json"
    event.write_text("{}")
    ran = cli("invoke", project, "--event", event)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == "from the private index"

    # Without the credentials (a CI job that forgot its secret), on an empty cache: the
    # index's refusal, said as such, and nothing written.
    for variable in ("UV_INDEX_CORP_USERNAME", "UV_INDEX_CORP_PASSWORD"):
        monkeypatch.delenv(variable)
    empty = {"UV_CACHE_DIR": str(tmp_path / "empty"), "UV_LAMBDA_CACHE_DIR": str(tmp_path / "empty-lambda")}
    refused = cli("build", project, "--out", tmp_path / "elsewhere", env=empty)
    message = f"the package index refused http://127.0.0.1:{port}/files/{WHEEL_NAME} (401 Unauthorized)"
    assert_clean_error(refused, 1, message, "UV_INDEX_<NAME>_USERNAME and UV_INDEX_<NAME>_PASSWORD")
    assert "not found in the package registry" not in refused.stderr
    assert not (tmp_path / "elsewhere" / "function.zip").exists()
