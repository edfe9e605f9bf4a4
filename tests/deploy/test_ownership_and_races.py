"""What real AWS does that a friendly moto run hides: functions made by hand, extra role
policies, two first deploys at once, the plan's markers and exit codes. On moto, through
the recording proxy."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import APP, REGION, RecordingProxy, make_project, write_split_build, write_zip

from uv_lambda.artifact import read_build
from uv_lambda.cli._common import default_out_dir
from uv_lambda.deploy.aws import connect
from uv_lambda.deploy.desired import DeployOptions, desired_function
from uv_lambda.deploy.executor import execute
from uv_lambda.deploy.models import OWNER_TAG, AppliedPlan, DesiredFunction, Plan
from uv_lambda.deploy.planner import plan_deploy
from uv_lambda.project import load_project
from uv_lambda.ui import Reporter

FLAGS = ("--no-build", "--yes")


def _hand_made_function(clients: Any, name: str = "hello", tags: dict[str, str] | None = None) -> str:
    """A function someone made in the console: not tagged by uv-lambda (or tagged for another)."""
    role = clients.iam.create_role(RoleName=f"console-{name}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    zip_path = Path(clients.tmp) / f"{name}.zip"
    write_zip(zip_path, {"app.py": APP})
    clients.lam.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_path.read_bytes()},
        Tags=tags or {},
    )
    return role


@pytest.fixture
def aws_clients(clients: Any, tmp_path: Path) -> Any:
    clients.tmp = tmp_path
    return clients


def test_adoption_refused_then_allowed(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, aws_clients: Any
) -> None:
    console_role = _hand_made_function(aws_clients)
    project = make_project(tmp_path / "p", tool='tags = { team = "a" }\n')
    write_split_build(project)

    refused = deploy_cli("deploy", project, *FLAGS)
    assert refused.code == 1
    assert "error: function hello exists and has no uv-lambda owner tag" in refused.err
    assert "hint: pass --adopt" in refused.err and "Traceback" not in refused.err
    assert proxy.writes() == []

    # destroy leaves a function uv-lambda did not create, and says so.
    kept = deploy_cli("destroy", project, "--yes")
    assert kept.code == 0, kept.err
    assert "warning: function hello has no uv-lambda owner tag" in kept.err
    assert proxy.writes() == []

    planned = deploy_cli("deploy", project, "--no-build", "--plan", "--adopt")
    assert planned.code == 0, planned.err
    lines = planned.err.splitlines()
    warning = next(i for i, line in enumerate(lines) if line.startswith("warning: adopting function hello"))
    first_row = next(i for i, line in enumerate(lines) if line.startswith("  ") and "function" in line)
    assert warning < first_row  # above the table
    tags_row = next(line for line in lines if line.startswith("  ") and " tags " in line)
    assert tags_row.lstrip().startswith("~ update") and tags_row.endswith(f"tags +team +{OWNER_TAG}")
    assert proxy.writes() == []

    adopted = deploy_cli("deploy", project, *FLAGS, "--adopt")
    assert adopted.code == 0, adopted.err
    configuration = aws_clients.lam.get_function(FunctionName="hello")
    assert configuration["Tags"] == {"team": "a", OWNER_TAG: "hello"}
    assert configuration["Configuration"]["Role"] != console_role  # uv-lambda's own role now

    proxy.reset()
    again = deploy_cli("deploy", project, *FLAGS)  # ours now: no --adopt needed, nothing to do
    assert again.code == 0, again.err
    assert proxy.writes() == []

    assert deploy_cli("destroy", project, "--yes").code == 0
    assert aws_clients.lam.list_functions()["Functions"] == []


def test_a_function_owned_by_another_name_is_refused(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, aws_clients: Any
) -> None:
    _hand_made_function(aws_clients, tags={OWNER_TAG: "someone-else"})
    project = make_project(tmp_path / "p")
    write_split_build(project)

    result = deploy_cli("deploy", project, *FLAGS)

    assert result.code == 1
    assert "is tagged as someone-else's" in result.err
    assert proxy.writes() == []


def test_destroy_deletes_inline_policies_and_keeps_a_shared_role(
    tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy, aws_clients: Any
) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)
    assert deploy_cli("deploy", project, *FLAGS).code == 0
    role = aws_clients.iam.get_role(RoleName="uv-lambda-hello")["Role"]["Arn"]
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    aws_clients.iam.put_role_policy(
        RoleName="uv-lambda-hello", PolicyName="read-s3", PolicyDocument=json.dumps(document)
    )

    # Another function uses the role: the function goes, the role stays, with a note.
    zip_path = tmp_path / "other.zip"
    write_zip(zip_path, {"app.py": APP})
    aws_clients.lam.create_function(
        FunctionName="other",
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_path.read_bytes()},
    )
    proxy.reset()
    shared = deploy_cli("destroy", project, "--yes")
    assert shared.code == 0, shared.err
    assert "warning: IAM role uv-lambda-hello is kept: function(s) other still use it" in shared.err
    assert "DeleteRole" not in proxy.writes()
    assert aws_clients.iam.get_role(RoleName="uv-lambda-hello")["Role"]["Arn"] == role

    # The other function gone, destroy removes the inline policy, detaches the managed one, deletes the role.
    aws_clients.lam.delete_function(FunctionName="other")
    proxy.reset()
    result = deploy_cli("destroy", project, "--yes")
    assert result.code == 0, result.err
    assert "its inline policies read-s3 are deleted first" in result.err
    assert proxy.writes() == ["DeleteRolePolicy", "DetachRolePolicy", "DeleteRole"]
    roles = [r["RoleName"] for r in aws_clients.iam.list_roles()["Roles"]]
    assert "uv-lambda-hello" not in roles


def _desired(project: Path) -> DesiredFunction:
    loaded = load_project(project)
    [config] = loaded.functions().values()
    return desired_function(config, read_build(default_out_dir(loaded, config.name)), DeployOptions(environment={}))


def _plan(desired: DesiredFunction, proxy: RecordingProxy) -> tuple[Plan, Any]:
    aws = connect(region=REGION, profile=None, endpoint_url=proxy.url)
    return plan_deploy(desired, aws), aws


def test_two_concurrent_first_deploys_converge_and_report_the_truth(
    tmp_path: Path, proxy: RecordingProxy, aws_clients: Any, aws_env: None
) -> None:
    """Both plan "create"; the one that runs second gets a 409 on CreateFunction."""
    first = make_project(tmp_path / "a")
    second = make_project(tmp_path / "b")
    write_split_build(first)
    write_split_build(second, app=APP.replace("hello", "second"))  # the one that lands last wins
    plan_a, aws_a = _plan(_desired(first), proxy)
    plan_b, aws_b = _plan(_desired(second), proxy)
    assert [s.kind for s in plan_a.changes] == [s.kind for s in plan_b.changes] == ["create"] * 3

    outcome_a = execute(plan_a, aws_a, Reporter(quiet=True))
    proxy.reset()
    outcome_b = execute(plan_b, aws_b, Reporter(quiet=True))

    assert outcome_a.notes == ()
    assert len(outcome_b.notes) == 1
    note = outcome_b.notes[0]
    assert "created meanwhile by another deploy; CreateFunction uploaded nothing" in note
    assert "its code differed and was updated" in note and "configuration updated" in note
    conflict = [c for c in proxy.calls if c.operation == "CreateFunction"]
    assert [c.status for c in conflict] == [409]  # not retried as if it were "update in progress"
    assert proxy.writes() == [
        "CreateRole",  # EntityAlreadyExists: the role the first deploy made
        "AttachRolePolicy",
        "PublishLayerVersion",
        "CreateFunction",
        "UpdateFunctionCode",
        "UpdateFunctionConfiguration",  # Layers: the layer version this deploy published
    ]
    code_size = (second / "dist" / "lambda" / "hello" / "app.zip").stat().st_size
    layer_size = (second / "dist" / "lambda" / "hello" / "layer.zip").stat().st_size
    assert outcome_b.bytes_uploaded == layer_size + code_size  # the update, once; not the failed create
    deployed = aws_clients.lam.get_function(FunctionName="hello")["Configuration"]
    assert deployed["CodeSha256"] == _desired(second).code.code_sha256  # type: ignore[union-attr]

    # Either project's next deploy plans from what is there.
    proxy.reset()
    plan, _ = _plan(_desired(second), proxy)
    assert plan.is_noop, [s for s in plan.changes]


def test_two_first_deploys_in_parallel_threads_both_succeed(
    tmp_path: Path, proxy: RecordingProxy, aws_clients: Any, aws_env: None
) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)
    desired = _desired(project)
    planned = threading.Barrier(2, timeout=60)
    outcomes: list[AppliedPlan] = []
    errors: list[BaseException] = []

    def deploy() -> None:
        try:
            plan, aws = _plan(desired, proxy)
            planned.wait()  # both have planned "create" before either writes
            outcomes.append(execute(plan, aws, Reporter(quiet=True)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deploy) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(outcomes) == 2
    assert proxy.writes().count("CreateFunction") == 2
    assert aws_clients.lam.get_function(FunctionName="hello")["Configuration"]["CodeSha256"] == desired.code.code_sha256  # type: ignore[union-attr]
    plan, _ = _plan(desired, proxy)
    assert plan.is_noop


def test_plan_markers_sizes_and_detailed_exitcode(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy) -> None:
    project = make_project(tmp_path / "p")
    folder = write_split_build(project)

    changes = deploy_cli("deploy", project, "--no-build", "--plan", "--detailed-exitcode")
    assert changes.code == 2, changes.err
    assert "+ create  function  hello" in changes.err
    desired = _desired(project)
    assert desired.code is not None
    assert f"sha256 {desired.code.code_sha256[:10]}" in changes.err  # the code's hash and size
    assert "3 changes to apply (3 to create)" in changes.err
    assert proxy.writes() == []

    assert deploy_cli("deploy", project, *FLAGS).code == 0
    write_split_build(project, app=APP.replace("hello", "v2"))
    size = (folder / "app.zip").stat().st_size
    edited = deploy_cli("deploy", project, "--no-build", "--plan", "--detailed-exitcode")
    assert edited.code == 2
    assert "~ update     code" in edited.err and f"({size} B)" in edited.err
    assert "= no change  role" in edited.err

    assert deploy_cli("deploy", project, *FLAGS).code == 0
    proxy.reset()
    nothing = deploy_cli("deploy", project, "--no-build", "--plan", "--detailed-exitcode")
    assert nothing.code == 0, nothing.err
    assert "nothing to change" in nothing.err

    # An error is 1, even one of bad input (2 means "changes" here).
    broken = deploy_cli("deploy", project, "--no-build", "--plan", "--detailed-exitcode", "--prune-layers", "0")
    assert broken.code == 1 and "error: --prune-layers must be 1 or more" in broken.err
    assert deploy_cli("deploy", project, "--no-build", "--detailed-exitcode").code == 2  # needs --plan


def test_off_a_terminal_deploy_applies_only_with_yes(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)

    refused = deploy_cli("deploy", project, "--no-build")

    assert refused.code == 2
    errors = [line for line in refused.err.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: deploy of hello has 3 change(s) and nobody to confirm them (not a terminal); nothing was changed"
    ]
    assert "hint: pass --yes" in refused.err
    assert proxy.writes() == []
    assert deploy_cli("deploy", project, *FLAGS).code == 0
    assert deploy_cli("deploy", project, "--no-build").code == 0  # nothing to apply: nothing to confirm


def test_destroy_warns_above_the_table(tmp_path: Path, deploy_cli: Any, proxy: RecordingProxy) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)
    assert deploy_cli("deploy", project, *FLAGS).code == 0

    result = deploy_cli("destroy", project, "--plan")

    lines = result.err.splitlines()
    assert lines[1].startswith("warning: this plan deletes: function hello, layer hello-dependencies:1, role ")
    assert "  - delete  function" in result.err
