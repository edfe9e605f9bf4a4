"""Print plans and outcomes: a table for people, JSON for scripts."""

from __future__ import annotations

import json

from uv_lambda.deploy.models import AppliedPlan, Plan
from uv_lambda.ui import human_size

# The markers `terraform plan` and `cdk diff` use, then the word.
KIND_LABEL = {"create": "+ create", "update": "~ update", "no-change": "= no change", "delete": "- delete"}


def plan_warnings(plan: Plan) -> list[str]:
    """What a reader must not miss: adoptions, recreations, kept resources, and every deletion."""
    lines = list(plan.warnings)
    deleted = [f"{step.resource} {step.target}" for step in plan.changes if step.kind == "delete"]
    if deleted:
        lines.append("this plan deletes: " + ", ".join(deleted))
    return lines


def plan_table(plan: Plan) -> str:
    rows = [(KIND_LABEL[step.kind], step.resource, step.target, step.reason) for step in plan.steps]
    widths = [max((len(row[column]) for row in rows), default=0) for column in range(3)]
    lines = [f"{plan.operation} {plan.function} ({plan.region})"]
    lines += [f"warning: {warning}" for warning in plan_warnings(plan)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        lines.append("  " + "  ".join([*cells, row[3]]).rstrip())
    count = len(plan.changes)
    if not count:
        lines.append("nothing to remove" if plan.operation == "destroy" else "nothing to change")
    elif plan.operation == "destroy":
        lines.append(f"{count} resource{'s' if count != 1 else ''} to remove")
    else:
        kinds = [step.kind for step in plan.changes]
        summary = ", ".join(
            f"{kinds.count(kind)} to {word}"
            for kind, word in (("create", "create"), ("update", "update"), ("delete", "delete"))
            if kind in kinds
        )
        lines.append(f"{count} change{'s' if count != 1 else ''} to apply ({summary})")
    return "\n".join(lines)


def outcome_text(outcome: AppliedPlan, operation: str) -> str:
    if operation == "destroy":
        return f"destroyed {outcome.function}: {len(outcome.changed)} resource(s) removed"
    lines = [f"deployed {outcome.function}"]
    if outcome.function_arn:
        lines.append(f"  arn       {outcome.function_arn}")
    if outcome.version:
        lines.append(f"  version   {outcome.version}")
    if outcome.alias:
        lines.append(f"  alias     {outcome.alias}")
    if outcome.url:
        lines.append(f"  url       {outcome.url}")
    if outcome.changed:
        what = ", ".join(dict.fromkeys(step.resource for step in outcome.changed))  # details: the plan
        lines.append(f"  changed   {what}; {human_size(outcome.bytes_uploaded)} uploaded")
    else:
        lines.append("  changed   nothing")
    lines += [f"  note      {note}" for note in outcome.notes]
    return "\n".join(lines)


def json_document(results: list[tuple[Plan, AppliedPlan | None]]) -> str:
    """One JSON document for the whole command: each function's plan and, if run, its outcome."""
    functions = []
    for plan, outcome in results:
        entry: dict[str, object] = {"plan": plan.to_json(), "changes": len(plan.changes)}
        entry["result"] = outcome.to_json() if outcome else None
        functions.append(entry)
    return json.dumps({"functions": functions}, indent=2)
