"""uv-lambda: take a uv project to AWS Lambda."""

__version__ = "0.1.0"
