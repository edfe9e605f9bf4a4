"""Fixtures for the local runner: hand-made task roots run by the real awslambdaric."""

from __future__ import annotations

import textwrap
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from uv_lambda.config import FunctionConfig
from uv_lambda.emulator.function import LocalFunction, RunOptions
from uv_lambda.model import Function

ZipMaker = Callable[..., Path]
FunctionMaker = Callable[..., LocalFunction]


def write_zip(path: Path, files: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = zipfile.ZipInfo(name)
            # Files under bin/ are executables (a layer's /opt/bin tools).
            info.external_attr = (0o755 if name.startswith("bin/") else 0o644) << 16
            archive.writestr(info, data)
    return path


@pytest.fixture
def make_zip(tmp_path: Path) -> ZipMaker:
    counter = iter(range(1000))

    def make(files: dict[str, str | bytes], name: str | None = None) -> Path:
        return write_zip(tmp_path / (name or f"code{next(counter)}.zip"), files)

    return make


@pytest.fixture
def make_function(make_zip: ZipMaker) -> Iterator[FunctionMaker]:
    """A LocalFunction running `source` as app.py (handler app.handler) on python3.13."""
    opened: list[LocalFunction] = []

    def make(  # noqa: PLR0913  a factory: each test names the few options it varies
        source: str,
        *,
        handler: str = "app.handler",
        layers: tuple[dict[str, str | bytes], ...] = (),
        extra_files: dict[str, str | bytes] | None = None,
        timeout: int = 3,
        memory: int = 128,
        environment: dict[str, str] | None = None,
        concurrency: int = 1,
        credentials: bool = True,
        with_boto3: bool = True,
        name: str = "test-fn",
        sandbox: str | None = None,
        ephemeral_storage: int = 512,
    ) -> LocalFunction:
        code = make_zip({"app.py": textwrap.dedent(source), **(extra_files or {})})
        layer_zips = [make_zip(files) for files in layers]
        config = FunctionConfig(
            name=name,
            handler=handler,
            runtime="python3.13",
            memory=memory,
            timeout=timeout,
            environment=environment or {},
            ephemeral_storage=ephemeral_storage,
            concurrency=concurrency,
        )
        function = LocalFunction.open(
            Function.configured(config),
            code,
            layer_zips,
            RunOptions(pass_credentials=credentials, with_boto3=with_boto3, sandbox=sandbox),
        )
        opened.append(function)
        return function

    yield make
    for function in opened:
        function.close()
