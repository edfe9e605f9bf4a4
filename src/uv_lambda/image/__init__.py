"""Container images without a Docker daemon: read a base image, add layers, push or save.

`build_image` (in `pipeline`) is the entry point; `dockerfile` renders the uv guide's
Dockerfile for people who build with Docker instead. Nothing is imported here: the CLI
reaches `image.command` at start-up, and the builder (HTTP client, tar, gzip) must load only
when an image is built.
"""
