"""10,000 invocations, 32 at a time, through `serve`'s Invoke API, against a handler that
crashes on 1% of events, sleeps past its timeout on 1% and raises on 1%."""

from __future__ import annotations

import collections
import contextlib
import http.client
import json
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import start_serve, stop, write_code

from uv_lambda.emulator.environment import InvocationResult

TOTAL = 10_000
CALLERS = 32
KILLED_TOTAL = 1_000

HANDLER = """
import os, time
def handler(event, context):
    kind = event["n"] % 100
    if kind == 0:
        os._exit(1)
    if kind == 1:
        time.sleep(5)
    if kind == 2:
        raise ValueError(f"raised for {event['id']}")
    return {"id": event["id"], "request_id": context.aws_request_id}
"""


def expected_kind(n: int) -> str:
    return {0: "Runtime.ExitError", 1: "Sandbox.Timedout", 2: "ValueError"}.get(n % 100, "ok")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_every_caller_gets_its_own_answer(tmp_path: Path) -> None:
    code = write_code(tmp_path, HANDLER)
    server = start_serve(
        [
            "--artifact",
            str(code),
            "--handler",
            "app.handler",
            "--runtime",
            "python3.13",
            "--timeout",
            "1",
            "--concurrency",
            str(CALLERS),
        ],
        tmp_path / "serve.log",
    )
    outcomes: dict[int, str] = {}
    problems: list[str] = []
    lock = threading.Lock()
    numbers = iter(range(TOTAL))

    def caller() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                break
            event_id = f"event-{n}"
            connection.request(
                "POST", "/2015-03-31/functions/function/invocations", body=json.dumps({"n": n, "id": event_id})
            )
            response = connection.getresponse()
            payload = json.loads(response.read())
            request_id = response.getheader("X-Amzn-RequestId")
            failed = response.getheader("X-Amz-Function-Error") == "Unhandled"
            kind = payload.get("errorType", "ok") if failed else "ok"
            if kind == "ok":
                ok = payload == {"id": event_id, "request_id": request_id}
            elif kind == "ValueError":
                ok = payload["errorMessage"] == f"raised for {event_id}" and payload["requestId"] == request_id
            else:
                ok = payload["errorMessage"].startswith(f"RequestId: {request_id} Error: ")
            with lock:
                if not ok or response.status != 200:
                    problems.append(f"{n}: {response.status} {payload}")
                if n in outcomes:
                    problems.append(f"{n}: answered twice")
                outcomes[n] = kind
        connection.close()

    started = time.monotonic()
    try:
        threads = [threading.Thread(target=caller) for _ in range(CALLERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        # Afterwards the server still answers normally.
        after = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        after.request("POST", "/2015-03-31/functions/function/invocations", body='{"n": 55, "id": "after"}')
        response = after.getresponse()
        assert json.loads(response.read())["id"] == "after"
    finally:
        stop(server)

    assert problems == []
    assert len(outcomes) == TOTAL  # none lost
    wrong = [n for n, kind in outcomes.items() if kind != expected_kind(n)]
    assert wrong == []
    counts = collections.Counter(outcomes.values())
    assert counts == {"ok": 9_700, "Runtime.ExitError": 100, "Sandbox.Timedout": 100, "ValueError": 100}
    # The server's log has exactly one REPORT per invocation, each request id once.
    reports = re.findall(r"^REPORT RequestId: (\S+)\t", server.log.read_text(), re.M)
    assert len(reports) == len(set(reports)) == TOTAL + 1
    print(f"{TOTAL} invocations in {elapsed:.1f} s")


def _runtime_children() -> list[int]:
    """PIDs of this process's children that run awslambdaric."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"awslambdaric" in cmdline:
            found.append(int(entry.name))
    return found


def _judged(n: int, result: InvocationResult) -> tuple[str | None, str | None]:
    """The kind of the answer to event `n` ("ok", "exit", None if unreadable), and what is wrong with it."""
    try:
        body = json.loads(result.payload)
    except ValueError:
        return None, f"{n}: not JSON: {result.payload!r}"
    if result.function_error:
        ok = body["errorType"] == "Runtime.ExitError" and result.request_id in body["errorMessage"]
        kind = "exit"
    else:
        ok = body == {"id": n, "request_id": result.request_id}
        kind = "ok"
    return kind, None if ok else f"{n}: {body}"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_environments_killed_at_random_lose_no_event(make_function: Any) -> None:
    """Runtimes are SIGKILLed at random, idle or busy: each event is still answered once,
    by its own request id: a success (re-delivered if its environment died idle) or an
    ExitError (if it died while handling it)."""
    function = make_function(
        "import time\ndef handler(event, context):\n    time.sleep(0.002)\n"
        "    return {'id': event['id'], 'request_id': context.aws_request_id}\n",
        concurrency=4,
    )
    answers: dict[int, tuple[str, str]] = {}
    problems: list[str] = []
    lock = threading.Lock()
    numbers = iter(range(KILLED_TOTAL))
    done = threading.Event()

    def caller() -> None:
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                return
            result = function.invoke(json.dumps({"id": n}).encode())
            kind, problem = _judged(n, result)
            with lock:
                if problem is not None:
                    problems.append(problem)
                if kind is None:
                    continue
                if n in answers:
                    problems.append(f"{n}: answered twice")
                answers[n] = (kind, result.request_id)

    def killer() -> None:
        import random

        # One kill every 50 ms: a sandboxed environment takes tens of ms to start, and an event
        # whose environments all die before taking it is answered as undeliverable (after 5).
        while not done.wait(0.05):
            pids = _runtime_children()
            if pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(random.choice(pids), signal.SIGKILL)

    chaos = threading.Thread(target=killer)
    callers = [threading.Thread(target=caller) for _ in range(8)]
    chaos.start()
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join()
    done.set()
    chaos.join()
    assert problems == []
    assert len(answers) == KILLED_TOTAL
    assert len({request_id for _, request_id in answers.values()}) == KILLED_TOTAL
    kinds = collections.Counter(kind for kind, _ in answers.values())
    # Both paths ran: events that were answered, and events whose runtime died under them
    # (typically ~85% / ~15%); the rest of the kills hit idle runtimes, whose events were retried.
    assert kinds["ok"] >= 100 and kinds["exit"] >= 10, kinds
    assert function.pool.redeliveries >= 1  # some died idle, holding their long-poll
    assert function.pool.environments_started > 10  # the killer really killed
