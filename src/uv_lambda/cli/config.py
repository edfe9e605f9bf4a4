"""`uv-lambda config`: the resolved configuration of each function, and where each value came from."""

from __future__ import annotations

import argparse
import json

from uv_lambda.cli import options
from uv_lambda.cli._common import HelpFormatter, add_project_arguments
from uv_lambda.ui import Reporter

ORDER = 60

DESCRIPTION = """\
Print the configuration each function is built and deployed with: [tool.uv-lambda]
merged with the function's own table, command-line flags over both, and the values a
build derives (runtime, handler). Beside each value, where it came from:

  default                              uv-lambda's default
  [tool.uv-lambda]                     the shared table
  [tool.uv-lambda.functions.NAME]      the function's table
  [tool.uv-lambda] + [...functions.NAME]   a list or table merged from both
  .python-version, requires-python     how the runtime was chosen
  --runtime, --arch, ...               a flag

Tables (environment, tags) merge key by key; lists (include, exclude, exclude-packages,
layers, ...) are the shared list followed by the function's, unless the function sets
`<key>-replace = true`.

examples:
  uv-lambda config                     # every function
  uv-lambda config --function api --runtime python3.13
  uv-lambda config --json | jq '.api.environment.value'"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "config",
        parents=[common],
        help="print each function's resolved configuration and where each value came from",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    add_project_arguments(parser, allow_all=False, without_function="every function")
    options.add_build_arguments(parser, lock=False)
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"function": {"key": {"value": ..., "origin": ...}}} on stdout',
    )
    parser.set_defaults(handler=run, lock=False)


def run(args: argparse.Namespace, reporter: Reporter) -> int:
    from uv_lambda.cli._common import select_functions
    from uv_lambda.cli.config_view import resolved
    from uv_lambda.config import with_overrides
    from uv_lambda.ui import result

    args.all = args.function is None  # every function unless one is named
    project, functions = select_functions(args)
    views = {config.name: resolved(project, with_overrides(config, **options.overrides(args))) for config in functions}
    if args.json:
        document: dict[str, dict[str, dict[str, object]]] = {
            name: {key: {"value": value, "origin": origin} for key, (value, origin) in view.items()}
            for name, view in views.items()
        }
        result(json.dumps(document, indent=2))
        return 0
    lines = []
    for name, view in views.items():
        lines.append(name)
        texts = {key: _text(value) for key, (value, _) in view.items()}
        width, value_width = max(map(len, texts)), min(max(map(len, texts.values())), 40)
        lines += [f"  {key:<{width}}  {texts[key]:<{value_width}}  {origin}" for key, (_, origin) in view.items()]
    result("\n".join(lines))
    return 0


def _text(value: object) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) and value else json.dumps(value)
