"""Test helpers for deploy: a recording, fault-injecting proxy in front of moto, and artifacts.

The proxy is a plain HTTP forwarder on 127.0.0.1. It names each request after the AWS
operation it carries (from the query-protocol `Action` or from Lambda's REST paths), so a
test can count write calls; and it can answer the first N calls of an operation with an
error (429, 409, 500, ...) without forwarding them, as a throttled or busy AWS would.
"""

from __future__ import annotations

import http.client
import json
import re
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from uv_lambda.artifact import ArtifactMetadata, digests, write_metadata

# (method, path regex) -> Lambda operation name; the first match wins.
LAMBDA_ROUTES: list[tuple[str, str, str]] = [
    ("POST", r"^/2015-03-31/functions/?$", "CreateFunction"),
    ("GET", r"^/2015-03-31/functions/?$", "ListFunctions"),
    ("PUT", r"^/2015-03-31/functions/[^/]+/code$", "UpdateFunctionCode"),
    ("PUT", r"^/2015-03-31/functions/[^/]+/configuration$", "UpdateFunctionConfiguration"),
    ("GET", r"^/2015-03-31/functions/[^/]+/configuration$", "GetFunctionConfiguration"),
    ("POST", r"^/2015-03-31/functions/[^/]+/versions$", "PublishVersion"),
    ("GET", r"^/2015-03-31/functions/[^/]+/versions$", "ListVersionsByFunction"),
    ("POST", r"^/2015-03-31/functions/[^/]+/aliases$", "CreateAlias"),
    ("GET", r"^/2015-03-31/functions/[^/]+/aliases$", "ListAliases"),
    ("PUT", r"^/2015-03-31/functions/[^/]+/aliases/[^/]+$", "UpdateAlias"),
    ("GET", r"^/2015-03-31/functions/[^/]+/aliases/[^/]+$", "GetAlias"),
    ("DELETE", r"^/2015-03-31/functions/[^/]+/aliases/[^/]+$", "DeleteAlias"),
    ("POST", r"^/2015-03-31/functions/[^/]+/policy$", "AddPermission"),
    ("GET", r"^/2015-03-31/functions/[^/]+/policy$", "GetPolicy"),
    ("DELETE", r"^/2015-03-31/functions/[^/]+/policy/[^/]+$", "RemovePermission"),
    ("POST", r"^/2015-03-31/functions/[^/]+/invocations$", "Invoke"),
    ("GET", r"^/2015-03-31/functions/[^/]+$", "GetFunction"),
    ("DELETE", r"^/2015-03-31/functions/[^/]+$", "DeleteFunction"),
    ("POST", r"^/2018-10-31/layers/[^/]+/versions$", "PublishLayerVersion"),
    ("GET", r"^/2018-10-31/layers/[^/]+/versions$", "ListLayerVersions"),
    ("GET", r"^/2018-10-31/layers/?$", "ListLayers"),
    ("DELETE", r"^/2018-10-31/layers/[^/]+/versions/\d+$", "DeleteLayerVersion"),
    ("POST", r"^/2021-10-31/functions/[^/]+/url$", "CreateFunctionUrlConfig"),
    ("PUT", r"^/2021-10-31/functions/[^/]+/url$", "UpdateFunctionUrlConfig"),
    ("GET", r"^/2021-10-31/functions/[^/]+/url$", "GetFunctionUrlConfig"),
    ("DELETE", r"^/2021-10-31/functions/[^/]+/url$", "DeleteFunctionUrlConfig"),
    ("POST", r"^/2017-03-31/tags/.+$", "TagResource"),
    ("DELETE", r"^/2017-03-31/tags/.+$", "UntagResource"),
    ("GET", r"^/2017-03-31/tags/.+$", "ListTags"),
]
S3_ROUTES = {"HEAD": "Head", "GET": "Get", "PUT": "Put", "DELETE": "Delete"}
READ_PREFIXES = ("Get", "List", "Head", "Describe")
REGION = "us-east-1"  # every deploy test runs in this region


@dataclass
class Call:
    method: str
    path: str
    operation: str
    status: int = 0
    body: bytes = b""
    seconds: float = 0.0  # time to forward and answer

    @property
    def is_write(self) -> bool:
        return not self.operation.startswith(READ_PREFIXES)


@dataclass
class Fault:
    operation: str
    status: int
    code: str
    remaining: int
    message: str = "injected by the test proxy"
    protocol: str = "json"  # json (Lambda) or query (IAM, STS)
    # Forward the call first and answer the error anyway: AWS did the work, the answer was lost.
    after_forwarding: bool = False
    # "error": answer status/code; "reset": drop the connection with a TCP RST, answering
    # nothing; "stall": answer nothing for `stall_seconds`, then drop the connection.
    mode: str = "error"
    stall_seconds: float = 0.0


def operation_of(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    target = headers.get("x-amz-target")
    if target:  # JSON-protocol services (ECR): "AmazonEC2ContainerRegistry_V20150921.CreateRepository"
        return target.rsplit(".", 1)[-1]
    content_type = headers.get("content-type", "")
    if method == "POST" and "x-www-form-urlencoded" in content_type:
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    bare = unquote(path.split("?", 1)[0])
    for route_method, pattern, name in LAMBDA_ROUTES:
        if method == route_method and re.match(pattern, bare):
            return name
    if bare.startswith("/moto-api"):
        return "MotoApi"
    # Anything else is S3 with path-style addressing: /bucket or /bucket/key.
    kind = "Object" if bare.strip("/").count("/") >= 1 else "Bucket"
    if method == "PUT" and kind == "Bucket":
        return "CreateBucket"
    return S3_ROUTES.get(method, method.title()) + kind


class QuietHTTPServer(ThreadingHTTPServer):
    """Drops a client that went away without printing a traceback.

    A faulted call's client times out and closes while its handler still sleeps; the handler's
    late write then fails. socketserver would print that to stderr, and a later test that
    asserts on its own stderr would see another test's traceback.
    """

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@dataclass
class RecordingProxy:
    upstream_port: int
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        handler = type("Handler", (_ProxyHandler,), {"proxy": self})
        self._server = QuietHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _take_fault(self, operation: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.operation == operation and fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
        return None

    def inject(  # noqa: PLR0913  the fault's fields, a test naming the few it varies
        self,
        operation: str,
        status: int,
        code: str,
        count: int,
        *,
        message: str = "injected by the test proxy",
        protocol: str = "json",
        after_forwarding: bool = False,
    ) -> Fault:
        """Answer the next `count` calls of `operation` with this error."""
        fault = Fault(operation, status, code, count, message, protocol, after_forwarding)
        with self._lock:
            self.faults.append(fault)
        return fault

    def drop(self, operation: str, count: int, *, stall: float = 0.0, after_forwarding: bool = False) -> Fault:
        """Reset (stall=0) or leave unanswered for `stall` seconds the next `count` calls."""
        mode = "stall" if stall else "reset"
        fault = Fault(operation, 0, "", count, mode=mode, stall_seconds=stall, after_forwarding=after_forwarding)
        with self._lock:
            self.faults.append(fault)
        return fault

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.faults.clear()

    def writes(self) -> list[str]:
        with self._lock:
            return [call.operation for call in self.calls if call.is_write and call.operation != "MotoApi"]

    def operations(self) -> list[str]:
        with self._lock:
            return [call.operation for call in self.calls if call.operation != "MotoApi"]


# ---------------------------------------------------------------------------------------------
# Hand-made artifacts: the same files and metadata a build writes.


class _ProxyHandler(BaseHTTPRequestHandler):
    """RecordingProxy's request handler: records each call, forwards it or answers its fault."""

    proxy: RecordingProxy  # set on the subclass RecordingProxy.start makes

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        started = time.monotonic()
        body = self._body()
        headers = {key.lower(): value for key, value in self.headers.items()}
        call = Call(self.command, self.path, operation_of(self.command, self.path, headers, body))
        call.body = body if len(body) < 65536 else b""
        fault = self.proxy._take_fault(call.operation)
        if fault is not None and fault.mode != "error":
            if fault.after_forwarding:
                self._forward(body)
            call.status = -1
            self.proxy._record(call)
            self._drop(fault)
            return
        if fault is not None and not fault.after_forwarding:
            call.status = fault.status
            self.proxy._record(call)
            self._answer_fault(fault)
            return
        status, response_headers, payload = self._forward(body)
        call.status = fault.status if fault else status
        call.seconds = time.monotonic() - started
        self.proxy._record(call)
        if fault is not None:
            self._answer_fault(fault)
            return
        self.send_response(status)
        for key, value in response_headers:
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection("127.0.0.1", self.proxy.upstream_port, timeout=120)
        forward = {
            key: value
            for key, value in self.headers.items()
            if key.lower() not in ("expect", "transfer-encoding", "connection", "content-length")
        }
        forward["Content-Length"] = str(len(body))
        try:
            upstream.request(self.command, self.path, body=body, headers=forward)
            response = upstream.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            upstream.close()

    def _drop(self, fault: Fault) -> None:
        import socket
        import struct

        if fault.mode == "stall":
            time.sleep(fault.stall_seconds)
        # SO_LINGER 0: close sends a RST, as a reset connection looks to the client.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _answer_fault(self, fault: Fault) -> None:
        if fault.protocol == "query":
            payload = (
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{fault.code}</Code><Message>{fault.message}</Message>"
                "</Error><RequestId>proxy</RequestId></ErrorResponse>"
            ).encode()
            content_type = "text/xml"
        else:
            payload = json.dumps({"Type": "User", "message": fault.message}).encode()
            content_type = "application/json"
        self.send_response(fault.status)
        self.send_header("Content-Type", content_type)
        self.send_header("x-amzn-ErrorType", fault.code)
        self.send_header("x-amzn-RequestId", "proxy")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


def write_zip(path: Path, files: dict[str, str | bytes], *, compress: bool = True) -> None:
    """A reproducible zip (fixed dates, sorted entries) like the build writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = method
            content = files[name]
            archive.writestr(info, content.encode() if isinstance(content, str) else content)


def write_artifact(  # noqa: PLR0913  a factory: each test names the few fields it varies
    path: Path,
    *,
    function: str,
    format: str,
    role: str,
    handler: str | None,
    runtime: str = "python3.13",
    architecture: str = "x86_64",
) -> None:
    sha256, code_sha256 = digests(path)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    metadata = ArtifactMetadata(
        function=function,
        format=format,
        role=role,  # type: ignore[arg-type]
        file=path.name,
        runtime=runtime,
        architecture=architecture,
        handler=handler,
        python_version=runtime.removeprefix("python"),
        platform=f"{'x86_64' if architecture == 'x86_64' else 'aarch64'}-manylinux_2_34",
        uv_version="0.13.9",
        sha256=sha256,
        code_sha256=code_sha256,
        size=path.stat().st_size,
        unzipped_size=sum(info.file_size for info in infos),
        file_count=len(infos),
        bytecode=False,
    )
    write_metadata(path, metadata)


APP = 'def handler(event, context):\n    return {"statusCode": 200, "body": "hello"}\n'


def make_project(root: Path, name: str = "hello", tool: str = "") -> Path:
    """A project folder with pyproject.toml; artifacts go to dist/lambda/<name>/."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.13"\n'
        f'\n[tool.uv-lambda]\nruntime = "python3.13"\nhandler = "app.handler"\n{tool}'
    )
    return root


def write_split_build(
    root: Path,
    name: str = "hello",
    *,
    app: str = APP,
    dependencies: dict[str, str] | None = None,
    architecture: str = "x86_64",
) -> Path:
    """dist/lambda/<name>/ with layer.zip + app.zip and their metadata (format split)."""
    folder = root / "dist" / "lambda" / name
    site = "python/lib/python3.13/site-packages"
    deps = dependencies if dependencies is not None else {"mangum/__init__.py": "VERSION = '0.19'\n"}
    write_zip(folder / "layer.zip", {f"{site}/{path}": text for path, text in deps.items()})
    write_zip(folder / "app.zip", {"app.py": app})
    write_artifact(
        folder / "layer.zip",
        function=name,
        format="split",
        role="layer",
        handler=None,
        architecture=architecture,
    )
    write_artifact(
        folder / "app.zip",
        function=name,
        format="split",
        role="app",
        handler="app.handler",
        architecture=architecture,
    )
    return folder


def write_zip_build(
    root: Path, name: str = "hello", *, files: dict[str, str | bytes] | None = None, compress: bool = True
) -> Path:
    """dist/lambda/<name>/function.zip with metadata (format zip)."""
    folder = root / "dist" / "lambda" / name
    write_zip(folder / "function.zip", files or {"app.py": APP}, compress=compress)
    write_artifact(folder / "function.zip", function=name, format="zip", role="function", handler="app.handler")
    return folder


def write_image_layout(root: Path, name: str = "hello", *, app: str = APP, architecture: str = "amd64") -> str:
    """dist/lambda/<name>/image: a small OCI image layout as the image build writes it; returns its digest."""
    import gzip
    import hashlib
    import io
    import tarfile

    layout = root / "dist" / "lambda" / name / "image"
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def blob(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tar:
        content = app.encode()
        info = tarfile.TarInfo("var/task/app.py")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    raw = tar_bytes.getvalue()
    layer = blob(gzip.compress(raw, mtime=0))
    config = blob(
        json.dumps(
            {
                "architecture": architecture,
                "os": "linux",
                "config": {"Cmd": ["app.handler"], "WorkingDir": "/var/task"},
                "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
            }
        ).encode()
    )
    manifest_type = "application/vnd.oci.image.manifest.v1+json"
    manifest = blob(
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": manifest_type,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
            }
        ).encode()
    )
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    index = {"schemaVersion": 2, "manifests": [{"mediaType": manifest_type, **manifest}]}
    (layout / "index.json").write_text(json.dumps(index))
    return str(manifest["digest"])
