"""Identifiers for requests and traces.

Drawn from `random`, not `os.urandom`: they must be unique, not secret, and getrandom(2)
costs ~20 us a call on some virtual machines, several times per invocation.
"""

from __future__ import annotations

import random
import time
import uuid


def request_id() -> str:
    """A version-4 UUID, as Lambda's request ids are."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def trace_id() -> str:
    """An X-Ray trace header as Lambda passes it in Lambda-Runtime-Trace-Id."""
    root = f"1-{int(time.time()):08x}-{random.getrandbits(96):024x}"
    return f"Root={root};Parent={random.getrandbits(64):016x};Sampled=0"
