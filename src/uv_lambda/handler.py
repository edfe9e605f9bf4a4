"""Handler strings (`module.function`): validation, the default, and a static check.

Lambda splits the handler with rsplit(".", 1) and reads "/" in the module part as ".".
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

from uv_lambda.errors import ConfigError, VerificationError

DEFAULT_HANDLER = "app.main.handler"
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


def module_file(module: str, roots: Iterable[Path]) -> Path | None:
    relative = Path(*module.split("."))
    for root in roots:
        for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def defines(source: str, name: str) -> bool:
    """Whether a module binds `name` at top level (def, class, assignment or import)."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name:
            return True
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names = [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
                if name in names:
                    return True
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                if bound == name or alias.name == "*":
                    return True
        if isinstance(node, ast.If | ast.Try):  # `try: from x import handler except ...`
            inner = ast.unparse(node)
            if defines_in_block(inner, name):
                return True
    return False


def defines_in_block(source: str, name: str) -> bool:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name:
            return True
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, ast.alias) and (node.asname or node.name.split(".")[0]) == name:
            return True
    return False


def read_source(path: Path) -> str:
    """A Python file's text, decoded as Python decodes it: UTF-8 unless a coding line (PEP 263)
    says otherwise. Undecodable source raises SyntaxError, as Python's own compiler does, so
    it is reported like any other syntax error (by the bytecode step, with the line)."""
    import io
    import tokenize

    data = path.read_bytes()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SyntaxError(f"{path} is not valid source text: {exc}") from None


def default_handler(source_root: Path) -> str:
    """`app.main.handler` when app/main.py defines `handler`; otherwise ask for one."""
    candidate = source_root / "app" / "main.py"
    if candidate.is_file():
        try:
            if defines(read_source(candidate), "handler"):
                return DEFAULT_HANDLER
        except SyntaxError:
            return DEFAULT_HANDLER  # the bytecode step reports the syntax error precisely
    raise ConfigError(
        f"no handler configured for {source_root}",
        'set handler = "package.module.function" in [tool.uv-lambda] of pyproject.toml, or pass --handler',
    )


def _binds(path: Path, name: str) -> bool:
    try:
        return defines(read_source(path), name)
    except SyntaxError:
        return True


def check_handler(handler: str, roots: Iterable[Path]) -> None:
    """Static check: the handler's module is in the artifact and binds the function name."""
    module, function = parse_handler(handler)
    roots = list(roots)
    path = module_file(module, roots)
    if module_file(f"{module}.{function}", roots) and (path is None or not _binds(path, function)):
        raise ConfigError(
            f"handler {handler!r} names a module, not a function in it",
            f"add the function name, e.g. {handler}.handler",
        )
    if path is None:
        raise VerificationError(
            f"handler module {module!r} is not in the artifact",
            f"check the handler {handler!r} and the include globs in [tool.uv-lambda]",
        )
    try:
        found = defines(read_source(path), function)
    except SyntaxError:
        return  # reported by bytecode compilation, with the line
    if not found:
        raise VerificationError(
            f"{module} does not define {function!r} (handler {handler!r})",
            f"define {function} in {path.name}, or point handler at the right function",
        )
