"""The deploy and destroy use cases, and the one loop that applies their plans.

`deploy` builds every function (or reads what dist/lambda/<fn>/ holds), checks everything
that can be checked locally, then, one function at a time, reads the state in AWS, plans,
shows the plan, asks, and executes it. `destroy` plans the removal of what deploy made and
goes through the same loop. AWS libraries load only here, when a command needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from uv_lambda.app.build import BuildOptions
from uv_lambda.config import FunctionConfig, with_overrides
from uv_lambda.deploy.desired import DeployOptions
from uv_lambda.errors import UsageError
from uv_lambda.model import Format
from uv_lambda.project import Project, default_out_dir
from uv_lambda.ui import Reporter

if TYPE_CHECKING:
    from uv_lambda.deploy.aws import AwsClient
    from uv_lambda.deploy.models import AppliedPlan, DesiredFunction, ImageArtifact, Plan

# The answer to a question before a plan is applied: True yes, False no, None when there is
# nobody to ask (not a terminal). Its second argument is the plan when the screen does not
# show it (-q, --json), to print before asking.
Ask = Callable[[str, str | None], bool | None]
Applied = tuple["Plan", "AppliedPlan | None"]  # a plan, and what executing it left (None: not executed)


@dataclass(frozen=True)
class AwsAccess:
    """Where the AWS calls go: --region, --profile, --endpoint-url (checked when made)."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None

    def __post_init__(self) -> None:
        from uv_lambda.deploy.endpoint import check_endpoint_url, check_region

        check_endpoint_url(self.endpoint_url)  # before the build: a typo should not cost one
        check_region(self.region)

    def connect(self) -> AwsClient:
        from uv_lambda.deploy.aws import connect

        return connect(region=self.region, profile=self.profile, endpoint_url=self.endpoint_url)


@dataclass(frozen=True)
class Approval:
    """Whether and how plans are applied: --plan, --yes, and who answers otherwise."""

    ask: Ask
    plan_only: bool = False  # --plan: show the plans, change nothing
    yes: bool = False  # apply without asking


@dataclass(frozen=True)
class DeployRequest:
    """Everything a deploy takes besides the project and its functions."""

    aws: AwsAccess
    approval: Approval
    options: DeployOptions = field(default_factory=lambda: DeployOptions(environment={}))
    build: BuildOptions = field(default_factory=BuildOptions)
    no_build: bool = False  # deploy what dist/lambda/<fn>/ holds, as it is
    base_image: str | None = None  # --base-image, for image functions


@dataclass(frozen=True)
class Pending:
    """A plan to make, show, confirm and execute."""

    make: Callable[[], Plan]
    reading: str | None  # the progress line while the state is read (None: none)
    alias: str | None = None


@dataclass(frozen=True)
class Wording:
    """What the loop says for one kind of plan ({name}: the function, {count}: its changes)."""

    question: str
    unattended: tuple[str, str]  # nobody to ask: message and hint
    cancelled: tuple[str, str]
    plan_only_note: str | None  # said under a plan with changes, with --plan
    execute_unchanged: bool  # a deploy without changes still reports the function's state


DEPLOY_WORDING = Wording(
    question="apply to {name}?",
    unattended=(
        "deploy of {name} has {count} change(s) and nobody to confirm them (not a terminal); nothing was changed",
        "pass --yes to apply without a prompt, or --plan to only show the plan",
    ),
    cancelled=("deploy of {name} cancelled; nothing was changed", "pass --yes to skip the question"),
    plan_only_note="(--plan: nothing was changed)",
    execute_unchanged=True,
)
DESTROY_WORDING = Wording(
    question="remove {count} resource(s) of {name}?",
    unattended=("destroying {name} needs confirmation", "pass --yes to remove it without a prompt"),
    cancelled=("destroy cancelled; nothing was removed", "pass --yes to skip the question"),
    plan_only_note=None,
    execute_unchanged=False,
)


def apply_plans(
    pending: Iterable[Pending], aws: AwsClient, reporter: Reporter, approval: Approval, words: Wording
) -> list[Applied]:
    """Plan, show, confirm, execute and report, one function at a time (a function's plan
    is read after the previous one is applied)."""
    from uv_lambda.deploy import render
    from uv_lambda.deploy.executor import execute

    results: list[Applied] = []
    for item in pending:
        if item.reading is None:
            plan = item.make()
        else:
            with reporter.step(item.reading):
                plan = item.make()
        reporter.info(render.plan_table(plan))
        if approval.plan_only and plan.changes and words.plan_only_note:
            reporter.info(words.plan_only_note)
        outcome = None
        if not approval.plan_only and (plan.changes or words.execute_unchanged):
            if plan.changes and not approval.yes:
                _confirm(plan, reporter, approval, words)
            outcome = execute(plan, aws, reporter, alias=item.alias)
            reporter.info(render.outcome_text(outcome, plan.operation))
        results.append((plan, outcome))
    return results


def _confirm(plan: Plan, reporter: Reporter, approval: Approval, words: Wording) -> None:
    """Ask; raise when nobody can answer (off a terminal only --yes applies) or the answer is no."""
    from uv_lambda.deploy import render

    fields = {"name": plan.function, "count": len(plan.changes)}
    # -q / --json hid the plan: nobody says yes to an unseen plan.
    answer = approval.ask(words.question.format(**fields), render.plan_table(plan) if reporter.quiet else None)
    if answer is None:
        message, hint = words.unattended
        raise UsageError(message.format(**fields), hint)
    if not answer:
        message, hint = words.cancelled
        raise UsageError(message.format(**fields), hint)


def deploy(
    project: Project, functions: list[FunctionConfig], request: DeployRequest, reporter: Reporter
) -> list[Applied]:
    """Build (or read) every function, check it, then plan and apply each in turn."""
    from uv_lambda.deploy.names import check_layer_regions
    from uv_lambda.deploy.planner import plan_deploy

    # Every local step (build, checks) runs for every function before the first AWS call.
    wanted = [_desired(project, config, request, reporter) for config in functions]
    aws = request.aws.connect()
    for desired in wanted:  # the region is known now; still before any AWS call
        check_layer_regions(desired.extra_layers, aws.region, desired.name)

    def pending(desired: DesiredFunction) -> Pending:
        return Pending(lambda: plan_deploy(desired, aws), f"reading the state of {desired.name}", desired.alias)

    return apply_plans(map(pending, wanted), aws, reporter, request.approval, DEPLOY_WORDING)


def _desired(project: Project, base: FunctionConfig, request: DeployRequest, reporter: Reporter) -> DesiredFunction:
    """What one function should be in AWS: its configuration, the flags and its build."""
    from uv_lambda.deploy.desired import desired_function, desired_image_function

    config = with_overrides(base, **request.build.overrides)
    out_dir = default_out_dir(project, config.name)
    if config.format is Format.IMAGE:
        return desired_image_function(config, _image(project, config, request, reporter), request.options)
    if request.options.image_repository or request.base_image:
        raise UsageError("--image-repository and --base-image apply to image functions", "add --format image")
    if request.no_build:
        from uv_lambda.artifact import read_build

        build = read_build(out_dir)
    else:
        from uv_lambda.app.build import build_into

        reporter.info(f"building {config.name} ({config.format})")
        build = build_into(project, base, out_dir, reporter, request.build).build
    return desired_function(config, build, request.options)


def _image(project: Project, config: FunctionConfig, request: DeployRequest, reporter: Reporter) -> ImageArtifact:
    """The image a deploy ships: built into the function's OCI layout (pushed later, by the
    executor, when the plan says so), or with --no-build the one already there."""
    from uv_lambda.app.image import LAYOUT_FOLDER, build_function_image
    from uv_lambda.deploy.images import read_layout
    from uv_lambda.image.reference import ImageTarget, parse_reference, parse_repository

    out_dir = default_out_dir(project, config.name)
    if not request.no_build:
        repository = request.options.image_repository or config.image_repository
        target = ImageTarget(
            base=parse_reference(request.base_image) if request.base_image else None,
            login_registry=parse_repository(repository).registry if repository else None,
        )
        reporter.info(f"building {config.name} (image)")
        build_function_image(project, config, target, out_dir=out_dir, reporter=reporter, lock=request.build.lock)
    return read_layout(out_dir / LAYOUT_FOLDER)


def destroy(
    functions: list[FunctionConfig], aws_access: AwsAccess, approval: Approval, reporter: Reporter
) -> list[Applied]:
    """Plan the removal of what deploy made for each function, and apply it."""
    from uv_lambda.deploy.names import check_function_name
    from uv_lambda.deploy.teardown import plan_destroy

    aws = aws_access.connect()
    for config in functions:  # a name Lambda cannot hold has nothing to destroy: say why
        check_function_name(
            config.aws_name if config.function_name is None else config.function_name,
            configured=config.function_name is not None,
        )

    def pending(config: FunctionConfig) -> Pending:
        def make() -> Plan:
            return plan_destroy(
                config.aws_name,
                aws,
                configured_role=config.role,
                image=config.format is Format.IMAGE,
                image_repository=config.image_repository,
            )

        return Pending(make, reading=None)

    return apply_plans(map(pending, functions), aws, reporter, approval, DESTROY_WORDING)
