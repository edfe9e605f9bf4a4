"""Handler strings (`module.function`): validation, the default, and a static check.

Lambda splits the handler with rsplit(".", 1) and reads "/" in the module part as ".".
"""

from __future__ import annotations

# _ast, not ast: the same parser and node classes without ast.py's own import (its helpers
# and precedence enum), 2 ms of an app-only rebuild that edits the handler's module (~50 ms).
import _ast
import os
import re
from collections.abc import Iterable, Iterator

from uv_lambda.bundle.stage import sources
from uv_lambda.errors import ConfigError, VerificationError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from _typeshed import StrPath

DEFAULT_HANDLER = "app.main.handler"
# Where a handler is looked for when none is configured, in this order: the layout
# `uv-lambda init` writes, then the files AWS's own examples and blueprints use.
DISCOVERED_MODULES = ("app.main", "main", "app", "handler", "lambda_function")
DISCOVERED_FUNCTIONS = ("handler", "lambda_handler")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_handler(handler: str) -> tuple[str, str]:
    """("app.main", "handler") from "app.main.handler"; a clear error for malformed ones."""
    example = 'e.g. handler = "app.main.handler" (module path, a dot, the function name)'
    if "." not in handler:
        raise ConfigError(f"malformed handler {handler!r}: it needs a module and a function name", example)
    module, function = handler.rsplit(".", 1)
    module = module.replace("/", ".")
    if not module or not all(_IDENTIFIER.match(part) for part in module.split(".")):
        raise ConfigError(f"malformed handler {handler!r}: {module!r} is not a module path", example)
    if not _IDENTIFIER.match(function):
        raise ConfigError(f"malformed handler {handler!r}: {function!r} is not a function name", example)
    return module, function


def module_file(module: str, roots: Iterable[StrPath]) -> str | None:
    """The file of a dotted module in the first of `roots` that has it."""
    for root in roots:
        found = sources.module_file(module, root)
        if found is not None:
            return found
    return None


def read_source(path: StrPath) -> bytes:
    """A module's bytes: ast.parse decodes them as Python does (PEP 263 line, BOM, UTF-8)."""
    with open(path, "rb") as handle:
        return handle.read()


def _parse(source: str | bytes) -> _ast.Module:
    """ast.parse(source): the same call to the parser."""
    tree = compile(source, "<unknown>", "exec", _ast.PyCF_ONLY_AST, dont_inherit=True)
    assert isinstance(tree, _ast.Module)  # what mode "exec" gives
    return tree


def _walk(node: _ast.AST) -> Iterator[_ast.AST]:
    """ast.walk(node), depth first: the node and every node below it."""
    pending = [node]
    while pending:
        node = pending.pop()
        yield node
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, _ast.AST):
                pending.append(value)
            elif isinstance(value, list):
                pending.extend(item for item in value if isinstance(item, _ast.AST))


def defines(source: str | bytes, name: str) -> bool:
    """Whether a module binds `name` at top level (def, class, assignment or import).

    Raises SyntaxError (also for undecodable bytes) and ValueError (null bytes).
    """
    for node in _parse(source).body:
        if isinstance(node, _ast.FunctionDef | _ast.AsyncFunctionDef | _ast.ClassDef) and node.name == name:
            return True
        if isinstance(node, _ast.Assign | _ast.AnnAssign | _ast.AugAssign):
            targets = node.targets if isinstance(node, _ast.Assign) else [node.target]
            for target in targets:
                if any(isinstance(n, _ast.Name) and n.id == name for n in _walk(target)):
                    return True
        if isinstance(node, _ast.Import | _ast.ImportFrom):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                if bound == name or alias.name == "*":
                    return True
        if isinstance(node, _ast.If | _ast.Try) and _binds_in_block(node, name):
            return True  # `try: from x import handler except ...`
    return False


def _binds_in_block(block: _ast.AST, name: str) -> bool:
    """Whether anything in `block` (an if or a try at top level) binds `name`."""
    for node in _walk(block):
        if isinstance(node, _ast.FunctionDef | _ast.AsyncFunctionDef | _ast.ClassDef) and node.name == name:
            return True
        if isinstance(node, _ast.Name) and node.id == name and isinstance(node.ctx, _ast.Store):
            return True
        if isinstance(node, _ast.alias) and (node.asname or node.name.split(".")[0]) == name:
            return True
    return False


def discover_handler(source_root: StrPath) -> str | None:
    """The first of DISCOVERED_MODULES under `source_root` that binds a handler name."""
    for module in DISCOVERED_MODULES:
        path = module_file(module, [source_root])
        if path is None or os.path.basename(path) == "__init__.py":
            continue
        for function in DISCOVERED_FUNCTIONS:
            if _binds(path, function):
                return f"{module}.{function}"
    return None


def _candidates(root: StrPath) -> list[str]:
    """Handler-like functions in the project's top-level modules and packages (and src/)."""
    from pathlib import Path  # only when no handler was found: a rebuild does without it

    source_root = Path(root)
    found = []
    files = [*sorted(source_root.glob("*.py")), *sorted(source_root.glob("*/*.py"))]
    files += sorted((source_root / "src").glob("*/*.py"))
    for path in files:
        relative = path.relative_to(source_root)
        parts = relative.parts[1:] if relative.parts[0] == "src" else relative.parts
        if relative.parts[0].startswith(".") or path.name == "__init__.py":
            continue
        module = ".".join([*parts[:-1], path.stem])
        if not all(_IDENTIFIER.match(part) for part in module.split(".")):
            continue
        for function in DISCOVERED_FUNCTIONS:
            try:
                if defines(read_source(path), function):
                    found.append(f"{module}.{function}")
            except (SyntaxError, ValueError):
                pass
    return found


def default_handler(source_root: StrPath) -> str:
    """The discovered handler (see DISCOVERED_MODULES); otherwise an error that suggests one."""
    found = discover_handler(source_root)
    if found:
        return found
    candidates = _candidates(source_root)
    if candidates:
        suggestion = f'set handler = "{candidates[0]}" in [tool.uv-lambda] of pyproject.toml, or pass --handler'
        if len(candidates) > 1:
            suggestion += " (also found: " + ", ".join(candidates[1:4]) + ")"
    else:
        suggestion = (
            'define handler(event, context) in main.py and set handler = "main.handler" in [tool.uv-lambda] '
            "of pyproject.toml (or pass --handler)"
        )
    raise ConfigError(f"no handler configured for {source_root}", suggestion)


def _binds(path: StrPath, name: str) -> bool:
    try:
        return defines(read_source(path), name)
    except (SyntaxError, ValueError):
        return True  # the bytecode step reports the error precisely


def check_handler(
    handler: str, roots: Iterable[StrPath], project_root: StrPath | None = None, includes: Iterable[str] = ()
) -> None:
    """Static check: the handler's module is in the artifact and binds the function name.

    `project_root` and `includes`: where the application's files come from and the
    configured `include`, to name the include that ships a module the project has.
    """
    module, function = parse_handler(handler)
    roots = list(roots)
    path = module_file(module, roots)
    if module_file(f"{module}.{function}", roots) and (path is None or not _binds(path, function)):
        raise ConfigError(
            f"handler {handler!r} names a module, not a function in it",
            f"add the function name, e.g. {handler}.handler",
        )
    if path is None:
        entry = sources.project_entry(module, project_root)
        if entry is not None:
            fixed = ", ".join(f'"{name}"' for name in [*includes, entry])
            raise ConfigError(
                f"handler module {module!r} is in the project ({entry}) but not in the artifact",
                f"ship it: include = [{fixed}] in [tool.uv-lambda] (and keep it out of exclude)",
            )
        raise VerificationError(
            f"handler module {module!r} is not in the artifact",
            f"no {module.replace('.', '/')}.py in the project: check the handler {handler!r} and the include globs",
        )
    try:
        found = defines(read_source(path), function)
    except (SyntaxError, ValueError):
        return  # reported by bytecode compilation, with the line
    if not found:
        raise VerificationError(
            f"{module} does not define {function!r} (handler {handler!r})",
            f"define {function} in {os.path.basename(path)}, or point handler at the right function",
        )
