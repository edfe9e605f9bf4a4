"""Lambda's limits and fixed values that the local runner enforces."""

from __future__ import annotations

# Synchronous invocation payloads, request and response: 6 MB (6 * 1024 * 1024 bytes).
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
# The Runtime API accepts a response 100 bytes over the limit before refusing it (RIE does too).
MAX_RUNTIME_RESPONSE = MAX_SYNC_PAYLOAD + 100
# Asynchronous (`Event`) invocations: 1 MB since January 2026.
MAX_ASYNC_PAYLOAD = 1024 * 1024
# The init phase (import of the handler module) may take at most 10 s.
INIT_TIMEOUT_SECONDS = 10.0
# X-Amz-Log-Result carries the last 4 KB of the invocation's log.
LOG_TAIL_BYTES = 4096
DEFAULT_VERSION = "$LATEST"
DEFAULT_REGION = "us-east-1"
# The account id moto and the AWS documentation use in examples.
LOCAL_ACCOUNT_ID = "123456789012"
