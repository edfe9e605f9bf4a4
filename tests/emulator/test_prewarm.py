"""Pre-warming (Pool.prewarm, used by `serve --watch` after each rebuild): the init runs before
any event, and the first event goes to that environment."""

from __future__ import annotations

import json
import time

from emulator_helpers import FunctionMaker

SLOW_INIT = """
import time
time.sleep(0.3)
READY = time.time()

def handler(event, context):
    return {"ready": READY, "handled": time.time()}
"""


def test_the_init_runs_before_the_first_event(make_function: FunctionMaker) -> None:
    function = make_function(SLOW_INIT)
    function.prewarm().result(timeout=60)  # done once the runtime polls for its first event
    assert function.pool.environments_started == 1
    time.sleep(0.5)
    result = function.invoke(b"{}")
    body = json.loads(result.payload)
    # The init was over before the event was sent: the handler ran at least 0.5 s after it.
    assert body["handled"] - body["ready"] >= 0.5
    assert function.pool.environments_started == 1  # the event went to the pre-warmed environment
    assert result.cold_start and "Init Duration" in result.log


def test_an_event_sent_during_the_init_waits_for_it(make_function: FunctionMaker) -> None:
    function = make_function(SLOW_INIT)
    ready = function.prewarm()
    result = function.invoke(b"{}")  # the init is still running
    assert ready.done() and not result.function_error, result.payload
    assert function.pool.environments_started == 1


def test_an_init_error_while_pre_warming_reaches_the_first_event(make_function: FunctionMaker) -> None:
    function = make_function("import no_such_module\n\ndef handler(event, context):\n    return 1\n")
    function.prewarm().result(timeout=60)
    result = function.invoke(b"{}")
    assert result.function_error and result.error_type == "Runtime.ImportModuleError", result.payload
