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
