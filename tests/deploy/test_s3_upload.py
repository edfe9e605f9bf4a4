"""Zips over 50 MB go through S3, into a bucket per account and region, under their hash."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import APP, RecordingProxy, make_project, write_zip_build

from uv_lambda.artifact import digests

FLAGS = ("--no-build", "--yes")


@pytest.mark.slow
def test_large_zip_is_uploaded_through_s3_once(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, clients: Any
) -> None:
    project = make_project(tmp_path / "p")
    # Random bytes do not compress: a 51 MB zip, over the inline limit Lambda enforces and moto does not.
    folder = write_zip_build(project, files={"app.py": APP, "blob.bin": os.urandom(51 * 2**20)}, compress=False)
    assert (folder / "function.zip").stat().st_size > 50 * 2**20

    result = deploy_cli("deploy", project, *FLAGS, "--json")

    assert result.code == 0, result.err
    assert proxy.writes() == ["CreateRole", "AttachRolePolicy", "CreateBucket", "PutObject", "CreateFunction"]
    create = next(call for call in proxy.calls if call.operation == "CreateFunction")
    assert b'"S3Bucket"' in create.body and b"ZipFile" not in create.body
    bucket = "uv-lambda-123456789012-us-east-1"
    keys = [item["Key"] for item in clients.s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("uv-lambda/") and keys[0].endswith(".zip")
    put = next(call for call in proxy.calls if call.operation == "PutObject")
    assert keys[0] in put.path
    sha = clients.lam.get_function(FunctionName="hello")["Configuration"]["CodeSha256"]
    assert sha == digests(folder / "function.zip")[1]

    proxy.reset()
    assert deploy_cli("deploy", project, *FLAGS).code == 0
    assert proxy.writes() == []
