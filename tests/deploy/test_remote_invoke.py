"""invoke_remote: a synchronous invoke of the deployed function, with the Tail log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import REGION, RecordingProxy, make_project, write_split_build

from uv_lambda.deploy.errors import DeployError
from uv_lambda.deploy.remote import invoke_remote
from uv_lambda.project import load_project


def test_invoke_remote_returns_result_and_log(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, no_docker: None
) -> None:
    project = make_project(tmp_path / "p", tool='alias = "live"\n')
    write_split_build(project)
    assert deploy_cli("deploy", project, "--no-build", "--yes").code == 0
    config = load_project(project).functions()["hello"]
    proxy.reset()

    body, log, error = invoke_remote(config, b'{"ping": 1}', region=REGION, profile=None, endpoint_url=proxy.url)

    assert error is None
    assert body  # moto's stand-in answers without running the code
    assert isinstance(log, str)
    invoke = next(call for call in proxy.calls if call.operation == "Invoke")
    assert "Qualifier=live" in invoke.path
    assert invoke.body == b'{"ping": 1}'


def test_invoke_remote_of_a_missing_function_is_one_line(tmp_path: Path, proxy: RecordingProxy) -> None:
    config = load_project(make_project(tmp_path / "p")).functions()["hello"]

    with pytest.raises(DeployError) as caught:
        invoke_remote(config, b"{}", region=REGION, profile=None, endpoint_url=proxy.url)

    assert caught.value.message.startswith("lambda:InvokeFunction failed: ResourceNotFoundException")
