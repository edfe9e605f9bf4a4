"""The event types `uv-lambda event` prints and `serve` speaks (names only: cheap to import)."""

from __future__ import annotations

HTTP_FORMATS = ("apigw-v1", "apigw-v2", "function-url", "alb")
OTHER_TYPES = ("s3-put", "sqs", "sns", "eventbridge", "schedule")
EVENT_TYPES = HTTP_FORMATS + OTHER_TYPES
