"""Container images without a Docker daemon: read a base image, add layers, push or save.

`assemble.build_image` builds an image from staged folders as a `reference.ImageTarget`
says (`app/image.py` stages a function and calls it); `unpack_pulled` unpacks a pushed
one for `app/local.py` to run here; `dockerfile` renders the uv guide's Dockerfile for
people who build with Docker instead. Nothing is imported here: the builder (HTTP client, tar, gzip) loads only when an
image is built.
"""
