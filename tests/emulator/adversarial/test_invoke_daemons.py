"""A handler that starts a process in a new session (a double fork and `setsid`: a daemon)
does not leave it running once its execution environment stops (emulator/reaper.py).

Run with `--sandbox off`: the sandbox's PID namespace would stop the daemon on its own, and
this is about the runner without it (and the handler writes the daemon's pid to a host file)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from emulator_helpers import Serving
from tests.support.local_run import ZIP_ARGS, run, write_zip

DAEMON = """
import os, time

def handler(event, context):
    child = os.fork()
    if child == 0:
        os.setsid()  # a session and process group of its own: out of the runtime's group
        if os.fork() == 0:
            with open(event["pidfile"] + ".tmp", "w") as out:
                out.write(str(os.getpid()))
            os.rename(event["pidfile"] + ".tmp", event["pidfile"])
            time.sleep(300)
        os._exit(0)
    os.waitpid(child, 0)  # the daemon is now an orphan
    for _ in range(500):
        if os.path.exists(event["pidfile"]):
            break
        time.sleep(0.01)
    return {"daemon": int(open(event["pidfile"]).read())}
"""


def _running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state != b"Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _running(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write_zip(tmp_path / "code.zip", [("app.py", DAEMON)])


@pytest.mark.slow
def test_a_daemon_started_by_the_handler_stops_with_invoke(tmp_path: Path, code: Path) -> None:
    pidfile = tmp_path / "daemon.pid"
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pidfile": str(pidfile)}))
    result = run("invoke", "--artifact", code, *ZIP_ARGS, "--sandbox", "off", "--event", event, tmp=tmp_path / "tmp")
    assert result.returncode == 0, result.stderr
    pid = int(pidfile.read_text())
    assert json.loads(result.stdout) == {"daemon": pid}
    try:
        assert _gone_within(pid, 10), f"daemon {pid} outlived the invoke"
    finally:
        if _running(pid):
            os.kill(pid, 9)


@pytest.mark.slow
def test_a_daemon_started_by_the_handler_stops_with_serve(tmp_path: Path, code: Path) -> None:
    import http.client

    pidfile = tmp_path / "daemon.pid"
    server = Serving(["--artifact", code, *ZIP_ARGS, "--sandbox", "off"], tmp_path)
    pid = 0
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        body = json.dumps({"pidfile": str(pidfile)})
        connection.request("POST", "/2015-03-31/functions/function/invocations", body=body)
        answer = connection.getresponse()
        assert answer.status == 200, answer.read()
        pid = json.loads(answer.read())["daemon"]
        connection.close()
        assert _running(pid)  # the environment still runs: so may its daemon
    finally:
        server.stop()
    try:
        assert _gone_within(pid, 10), f"daemon {pid} outlived serve"
    finally:
        if pid and _running(pid):
            os.kill(pid, 9)
