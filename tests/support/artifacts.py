"""Artifact metadata as `uv-lambda build` writes it (the `<archive>.json` beside each zip), for
archives a test makes by hand."""

from __future__ import annotations

import zipfile
from pathlib import Path

from uv_lambda.artifact import ArtifactMetadata, digests, write_metadata


def write_artifact(  # noqa: PLR0913  a factory: each test names the few fields it varies
    path: Path,
    *,
    function: str,
    format: str,
    role: str,
    handler: str | None,
    runtime: str = "python3.13",
    architecture: str = "x86_64",
) -> None:
    """Write `path`.json describing the zip at `path`, with the digests and sizes of its bytes."""
    sha256, code_sha256 = digests(path)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    metadata = ArtifactMetadata(
        function=function,
        format=format,
        role=role,  # type: ignore[arg-type]
        file=path.name,
        runtime=runtime,
        architecture=architecture,
        handler=handler,
        python_version=runtime.removeprefix("python"),
        platform=f"{'x86_64' if architecture == 'x86_64' else 'aarch64'}-manylinux_2_34",
        uv_version="0.13.9",
        sha256=sha256,
        code_sha256=code_sha256,
        size=path.stat().st_size,
        unzipped_size=sum(info.file_size for info in infos),
        file_count=len(infos),
        bytecode=False,
    )
    write_metadata(path, metadata)
