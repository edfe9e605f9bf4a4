"""The handler string and the static check that its module defines it (bundle/verify/handler.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from uv_lambda.bundle.verify.handler import check_handler, defines, parse_handler
from uv_lambda.errors import ConfigError, VerificationError


def test_handler_parsing_and_static_check(tmp_path: Path) -> None:
    assert parse_handler("app/main.handler") == ("app.main", "handler")
    for bad in ("handler", "a..b", "app.main.", "1app.main.h"):
        with pytest.raises(ConfigError):
            parse_handler(bad)
    assert defines("from mangum import Mangum\nhandler = Mangum(app)\n", "handler")
    assert defines("from x import handler\n", "handler")
    assert defines("try:\n    from x import handler\nexcept ImportError:\n    pass\n", "handler")
    assert defines("async def handler(e, c):\n    pass\n", "handler")
    assert not defines("def other(e, c):\n    handler = 1\n", "handler")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("def run(e, c):\n    return 1\n")
    check_handler("pkg.run", [tmp_path])
    with pytest.raises(VerificationError):
        check_handler("pkg.missing", [tmp_path])


# What the check reads with _ast (not ast, an import an app-only rebuild does without) must be
# what ast gives: the same tree, and every node of it.
SAMPLE = """\
import os as handler_module, json
from x import *
try:
    from fast import handler
except ImportError:
    if os.environ.get("A"):
        class handler:
            pass
    else:
        (handler, other), [third] = (1, 2), [3]
handler: int = 1
lambda_handler += 1
def handler(event, context):
    global state
    state = [n for n in range(3) if n]
    return {"a": event} | {**context}
"""


def test_the_check_parses_and_walks_as_ast_does() -> None:
    import ast

    from uv_lambda.bundle.verify import handler as module

    assert ast.dump(module._parse(SAMPLE)) == ast.dump(ast.parse(SAMPLE))
    tree = ast.parse(SAMPLE)
    assert sorted(map(ast.dump, module._walk(tree))) == sorted(map(ast.dump, ast.walk(tree)))
    for bad in ("def handler(:\n", b"\xff\xfe = 1\n", "x = '\0'\n"):
        with pytest.raises((SyntaxError, ValueError)) as ours:
            module._parse(bad)
        with pytest.raises((SyntaxError, ValueError)) as theirs:
            ast.parse(bad)
        assert type(ours.value) is type(theirs.value)


@pytest.mark.parametrize(
    ("source", "bound"),
    [
        ("try:\n    from fast import handler\nexcept ImportError:\n    handler = None\n", True),
        ("if True:\n    (handler, other) = 1, 2\n", True),
        ("if False:\n    class handler:\n        pass\n", True),
        ("try:\n    import handler.sub\nfinally:\n    pass\n", True),
        ("if True:\n    print(handler)\n", False),
        ("handler: int = 1\n", True),
        ("x = handler\n", False),
        ("from x import *\n", True),
    ],
)
def test_what_binds_a_handler_in_blocks_and_assignments(source: str, bound: bool) -> None:
    assert defines(source, "handler") is bound
