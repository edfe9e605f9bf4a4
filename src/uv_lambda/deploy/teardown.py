"""Plan a destroy: what deploy created for a function, found with read-only calls.

Only what uv-lambda made is removed: layer versions whose description carries its content
hash, and the role and (for image functions) the ECR repository only when their
`uv-lambda:function` tag names this function.
"""

from __future__ import annotations

from uv_lambda.deploy.models import (
    ROLE_TAG,
    DeleteAlias,
    DeleteFunction,
    DeleteFunctionUrl,
    DeleteLayerVersion,
    DeleteRepository,
    DeleteRole,
    Plan,
    Step,
    layer_name_for,
    repository_name_for,
    role_name_for,
)
from uv_lambda.deploy.planner import StateReader, split_repository


def plan_destroy(
    function_name: str,
    reader: StateReader,
    *,
    configured_role: str | None = None,
    image: bool = False,
    image_repository: str | None = None,
) -> Plan:
    """`image`: the function is deployed as an image (to `image_repository`, or the ECR
    repository named after it)."""
    steps: list[Step] = []
    current = reader.get_function(function_name)
    if current is None:
        steps.append(Step("function", function_name, "no-change", "does not exist"))
    else:
        url = reader.get_function_url(function_name)
        if url is not None:
            steps.append(Step("url", function_name, "delete", url.url, DeleteFunctionUrl(function_name)))
        for alias in reader.list_aliases(function_name):
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
    else:
        role = reader.get_role(role_name_for(function_name))
        if role is not None and role.tags.get(ROLE_TAG) == function_name:
            steps.append(
                Step(
                    "role",
                    role.name,
                    "delete",
                    "created by uv-lambda for this function",
                    DeleteRole(role.name, role.attached_policies),
                )
            )
    return Plan(
        operation="destroy",
        function=function_name,
        region=reader.region,
        steps=tuple(steps),
        function_arn=current.arn if current else None,
    )


def _plan_repository(function_name: str, configured: str | None, reader: StateReader, steps: list[Step]) -> None:
    from uv_lambda.deploy.images import is_ecr

    if configured is not None:
        registry, name, _ = split_repository(configured)
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
