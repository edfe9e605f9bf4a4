"""Plan a destroy: what deploy created for a function, found with read-only calls.

Only what uv-lambda made is removed: the function, its role and (for image functions) its
ECR repository only when their `uv-lambda:function` owner tag names this function, and
layer versions whose description carries uv-lambda's content hash. A role still used by
another function is kept.
"""

from __future__ import annotations

from typing import Protocol

from uv_lambda.deploy.models import (
    OWNER_TAG,
    DeleteAlias,
    DeleteFunction,
    DeleteFunctionUrl,
    DeleteLayerVersion,
    DeleteRepository,
    DeleteRole,
    FunctionState,
    Plan,
    RoleState,
    Step,
    layer_name_for,
    repository_name_for,
    role_name_for,
)
from uv_lambda.deploy.planner import StateReader
from uv_lambda.image.reference import parse_repository


class TeardownReader(StateReader, Protocol):
    """The planner's reads and the two only destroy needs (AwsClient implements them)."""

    def list_inline_policies(self, role_name: str) -> tuple[str, ...]: ...
    def functions_using_role(self, role_arn: str) -> list[str]: ...


def owns_function(function_name: str, current: FunctionState, role: RoleState | None) -> bool:
    """The owner tag names it, or (deployed before functions were tagged) it runs with the
    role uv-lambda created for it."""
    if current.owner is not None:
        return current.owner == function_name
    return role is not None and role.owned_by(function_name) and current.role == role.arn


def plan_destroy(
    function_name: str,
    reader: TeardownReader,
    *,
    configured_role: str | None = None,
    image: bool = False,
    image_repository: str | None = None,
) -> Plan:
    """`image`: the function is deployed as an image (to `image_repository`, or the ECR
    repository named after it)."""
    steps: list[Step] = []
    warnings: list[str] = []
    current = reader.get_function(function_name)
    role = reader.get_role(role_name_for(function_name)) if configured_role is None else None
    if current is None:
        steps.append(Step("function", function_name, "no-change", "does not exist"))
    elif not owns_function(function_name, current, role):
        what = "has no uv-lambda owner tag" if current.owner is None else f"is tagged as {current.owner}'s"
        steps.append(Step("function", function_name, "no-change", f"{what} ({OWNER_TAG}): left alone"))
        warnings.append(f"function {function_name} {what}: uv-lambda did not create it, so destroy leaves it")
        current = None
    else:
        url = reader.get_function_url(function_name)
        if url is not None:
            steps.append(Step("url", function_name, "delete", url.url, DeleteFunctionUrl(function_name)))
        for alias in reader.list_aliases(function_name):
            served = reader.get_function_url(function_name, alias.name)
            if served is not None and served.url != (url.url if url else None):
                target = f"{function_name}:{alias.name}"
                steps.append(Step("url", target, "delete", served.url, DeleteFunctionUrl(function_name, alias.name)))
            steps.append(
                Step(
                    "alias",
                    f"{function_name}:{alias.name}",
                    "delete",
                    f"-> version {alias.version}",
                    DeleteAlias(function_name, alias.name),
                )
            )
        steps.append(
            Step(
                "function",
                function_name,
                "delete",
                "with all its versions",
                DeleteFunction(function_name),
            )
        )

    layer_name = layer_name_for(function_name)
    for version in reader.list_layer_versions(layer_name):
        if version.content_sha256 is None:
            continue  # not published by uv-lambda
        steps.append(
            Step(
                "layer",
                f"{layer_name}:{version.version}",
                "delete",
                "published by uv-lambda",
                DeleteLayerVersion(layer_name, version.version),
            )
        )

    if image:
        _plan_repository(function_name, image_repository, reader, steps)

    if configured_role is not None:
        steps.append(Step("role", configured_role, "no-change", "configured role: left alone"))
    elif role is not None and role.owned_by(function_name):
        _plan_role(function_name, role, reader, steps, warnings)
    elif role is not None:
        steps.append(Step("role", role.name, "no-change", "not created by uv-lambda for this function: left alone"))
    return Plan(
        operation="destroy",
        function=function_name,
        region=reader.region,
        steps=tuple(steps),
        function_arn=current.arn if current else None,
        warnings=tuple(warnings),
    )


def _plan_role(
    function_name: str, role: RoleState, reader: TeardownReader, steps: list[Step], warnings: list[str]
) -> None:
    others = [name for name in reader.functions_using_role(role.arn) if name != function_name]
    if others:
        users = ", ".join(sorted(others))
        steps.append(Step("role", role.name, "no-change", f"still the role of {users}: kept"))
        warnings.append(f"IAM role {role.name} is kept: function(s) {users} still use it")
        return
    inline = reader.list_inline_policies(role.name)
    detail = "created by uv-lambda for this function"
    if inline:
        detail += f"; its inline policies {', '.join(inline)} are deleted first"
    steps.append(Step("role", role.name, "delete", detail, DeleteRole(role.name, role.attached_policies, inline)))


def _plan_repository(function_name: str, configured: str | None, reader: StateReader, steps: list[Step]) -> None:
    from uv_lambda.deploy.images import is_ecr

    if configured is not None:
        parsed = parse_repository(configured)
        registry, name = parsed.registry, parsed.repository
        if not is_ecr(registry):
            steps.append(Step("repository", f"{registry}/{name}", "no-change", "configured registry: left alone"))
            return
    else:
        name = repository_name_for(function_name)
    repository = reader.get_repository(name)
    if repository is None:
        return
    if repository.created_for(function_name):
        steps.append(
            Step(
                "repository",
                repository.uri,
                "delete",
                "created by uv-lambda for this function (with its images)",
                DeleteRepository(repository.name),
            )
        )
    else:
        steps.append(Step("repository", repository.uri, "no-change", "not created by uv-lambda: left alone"))
