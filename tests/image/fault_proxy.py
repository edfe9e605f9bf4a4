"""An HTTP proxy on 127.0.0.1 in front of the real registry that fails chosen requests: answers
them with an error status, or drops the connection, a given number of times; everything
else is passed through unchanged. It stands for a busy or flaky registry (ECR throttling)."""

from __future__ import annotations

import http.client
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass
class Fault:
    method: str
    path: str  # a regular expression searched in the request path
    status: int  # 0: close the connection without answering
    times: int
    hits: int = 0


@dataclass
class FaultProxy:
    upstream: str  # host:port of the registry
    faults: list[Fault] = field(default_factory=list)
    seen: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, status sent)
    server: ThreadingHTTPServer | None = None

    def fail(self, method: str, path: str, status: int, times: int = 1) -> Fault:
        fault = Fault(method, path, status, times)
        self.faults.append(fault)
        return fault

    def statuses(self, method: str, path: str) -> list[int]:
        """What the client got for matching requests, the 401 login challenges left out."""
        return [status for m, p, status in self.seen if m == method and re.search(path, p) and status != 401]

    def start(self) -> str:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                for fault in proxy.faults:
                    if fault.method == self.command and re.search(fault.path, self.path) and fault.hits < fault.times:
                        fault.hits += 1
                        proxy.seen.append((self.command, self.path, fault.status))
                        if fault.status == 0:
                            self.close_connection = True
                            self.connection.shutdown(2)
                            return
                        payload = json.dumps({"errors": [{"code": "UNAVAILABLE", "message": "injected"}]}).encode()
                        self.send_response(fault.status)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(payload)))
                        self.send_header("Retry-After", "0")
                        self.end_headers()
                        if self.command != "HEAD":
                            self.wfile.write(payload)
                        return
                upstream = http.client.HTTPConnection(proxy.upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                proxy.seen.append((self.command, self.path, answer.status))
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                length_header = answer.getheader("Content-Length")
                self.send_header(
                    "Content-Length", length_header if self.command == "HEAD" and length_header else str(len(data))
                )
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                upstream.close()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
