"""Lambda's limits, defaults and fixed values, defined once for the configuration, the build's
checks, the local runner and deploy.

Imports nothing: the app-only rebuild's file checks (bundle/stage/sources.py) read it before anything
else is loaded.
"""

# A zip sent inline in the API call; a larger one must be uploaded to S3 first.
ZIP_UPLOAD_LIMIT = 50 * 1024 * 1024
# Function code plus all its layers, unzipped.
UNZIPPED_LIMIT = 250 * 1024 * 1024

# The ranges Lambda accepts for a function's settings (low, high), and its defaults.
MEMORY_MB = (128, 10240)
TIMEOUT_SECONDS = (1, 900)
EPHEMERAL_STORAGE_MB = (512, 10240)
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_SECONDS = 3
DEFAULT_EPHEMERAL_STORAGE_MB = 512
# Layers a function may have, all counted (the built one and configured ARNs).
MAX_LAYERS = 5

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
