"""docs/deploy.md's IAM policy is exactly what the code calls: nothing missing, nothing stale."""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
from botocore import xform_name

from uv_lambda.deploy.aws import IAM_ACTIONS, IMPLIED_ACTIONS, UNAUTHORISED_CALLS
from uv_lambda.deploy.images import ECR_PUSH_ACTIONS

REPO = Path(__file__).resolve().parents[2]
CALL = re.compile(r'self\._(lambda|iam|s3|sts|ecr)\.(?:get_paginator\("(\w+)"\)|(\w+)\()')


def documented_policy() -> dict[str, object]:
    text = (REPO / "docs" / "deploy.md").read_text()
    section = text.split("## IAM permissions", 1)[1]
    block = section.split("```json", 1)[1].split("```", 1)[0]
    return json.loads(block)  # type: ignore[no-any-return]


def documented_actions(policy: dict[str, object]) -> set[str]:
    actions: set[str] = set()
    for statement in policy["Statement"]:  # type: ignore[attr-defined]
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def called_actions() -> tuple[set[str], set[str]]:
    """(IAM actions the deploy code needs, the API operations it calls)."""
    session = botocore.session.get_session()
    mappings: dict[str, dict[str, str]] = {}
    actions: set[str] = set(ECR_PUSH_ACTIONS)
    operations: set[str] = set()
    for path in sorted((REPO / "src" / "uv_lambda" / "deploy").glob("*.py")):
        for service, paginated, method in CALL.findall(path.read_text()):
            name = paginated or method
            if service not in mappings:
                model = session.get_service_model(service)
                mappings[service] = {xform_name(operation): operation for operation in model.operation_names}
            operation = mappings[service][name]  # a KeyError: not a real method of the client
            operations.add(f"{service}:{operation}")
            if (service, operation) in UNAUTHORISED_CALLS:
                continue
            actions.add(IAM_ACTIONS.get((service, operation), f"{service}:{operation}"))
            actions.update(IMPLIED_ACTIONS.get((service, operation), ()))
    return actions, operations


def test_the_documented_policy_matches_the_calls_the_code_makes() -> None:
    needed, operations = called_actions()
    documented = documented_actions(documented_policy())

    assert len(operations) > 40  # the scan found the calls (a broken pattern would find none)
    assert sorted(needed - documented) == [], "missing from docs/deploy.md"
    assert sorted(documented - needed) == [], "documented but never needed"


def test_the_policy_names_what_real_aws_needs() -> None:
    documented = documented_actions(documented_policy())
    for action in (
        "lambda:ListTags",  # else GetFunction has no Tags and they are re-applied every deploy
        "ecr:GetRepositoryPolicy",
        "ecr:SetRepositoryPolicy",
        "iam:DeleteRolePolicy",
        "iam:ListRolePolicies",
        "lambda:GetFunctionConfiguration",
        "lambda:InvokeFunction",
    ):
        assert action in documented
    # ListFunctions has no resource-level permissions: its statement must be on "*".
    statements = documented_policy()["Statement"]
    listing = [s for s in statements if "lambda:ListFunctions" in s["Action"]]  # type: ignore[attr-defined]
    assert [s["Resource"] for s in listing] == ["*"]
