"""uv-lambda: take a uv project to AWS Lambda."""

__version__ = "0.1.0"

# What Ctrl-C (or SIGTERM) prints, whenever it lands: here, so that it can be printed even
# while the rest of the command line is still being imported (__main__.py).
INTERRUPTED = (
    "error: interrupted\n"
    "hint: artifacts and cache entries are replaced only once complete, so each is the previous "
    "build's or this one's; run the command again\n"
)
