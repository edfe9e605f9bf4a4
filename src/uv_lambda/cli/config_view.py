"""The resolved configuration of one function as `uv-lambda config` shows it: key -> (value, origin)."""

from __future__ import annotations

from collections.abc import Mapping

from uv_lambda.bundle.settings import choose_runtime, lock_digest
from uv_lambda.bundle.verify.handler import default_handler
from uv_lambda.config import SCHEMA, FunctionConfig
from uv_lambda.errors import ConfigError
from uv_lambda.project import Project, default_out_dir

DEFAULT = "default"


def _plain(value: object) -> object:
    """A value as JSON writes it: tuples as lists, mappings as objects."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def resolved(project: Project, config: FunctionConfig) -> dict[str, tuple[object, str]]:
    """Every key of [tool.uv-lambda] (TOML spelling) with its value and where that came from.

    The runtime and the handler are the ones a build would use, derived as the build derives them.
    """
    view: dict[str, tuple[object, str]] = {}
    for key in SCHEMA:
        attribute = key.replace("-", "_")
        view[key] = (_plain(getattr(config, attribute)), config.origins.get(attribute, DEFAULT))
    source = project.source(config)
    choice = choose_runtime(config, project, source, default_out_dir(project, config.name), lock_digest(project))
    explained = (
        choice.reason if choice.reason.startswith(("set by", "pinned by")) else f"{choice.origin}: {choice.reason}"
    )
    view["runtime"] = (choice.runtime.name, explained)
    if config.handler is None and config.format.has_code:
        try:
            view["handler"] = (default_handler(source.path), f"{DEFAULT}: discovered in {source.path}")
        except ConfigError as exc:
            view["handler"] = (None, f"{DEFAULT}: none found ({exc.hint})")
    if config.function_name is None:
        view["function-name"] = (config.name, f"{DEFAULT}: the function's name")
    return view
