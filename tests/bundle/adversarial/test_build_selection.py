"""Hostile project files given to `build`: links out of the project or to secrets, globs that
leave it, an output folder inside the application, a file past Lambda's size limit. Each
is refused (exit code, one line, a true hint, no traceback) or left out with a warning,
both by a full build and by an app-only rebuild; a refusal leaves the previous artifact
byte for byte, and no scratch anywhere."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest
from tests.support.local_run import Run, assert_no_scratch, assert_refused, run
from tests.support.projects import ORDERS_PYPROJECT as PYPROJECT
from tests.support.projects import write_project

pytestmark = pytest.mark.slow

FILES = {
    "app/__init__.py": "",
    "app/main.py": "import six\n\ndef handler(event, context):\n    return six.__version__\n",
    "app/util.py": "X = 1\n",
}
FAST = "the rest reused"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(tmp_path_factory.mktemp("selection") / "orders", PYPROJECT, FILES)
    result = run("build", root, tmp=root.parent / "tmp")  # fills the dependency cache once
    assert result.returncode == 0, result.stderr
    shutil.rmtree(root / "dist")
    return root


class Built:
    """A copy of the template, built once (so that it has a build record and an artifact)."""

    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.tmp = tmp
        self.zip = root / "dist" / "lambda" / "orders" / "function.zip"
        result = self.build()
        assert result.returncode == 0, result.stderr
        self.before = self.zip.read_bytes()
        self.metadata = self.zip.with_name("function.zip.json").read_bytes()

    def build(self, *args: str) -> Run:
        return run("build", self.root, *args, tmp=self.tmp)

    def names(self) -> list[str]:
        with zipfile.ZipFile(self.zip) as archive:
            return archive.namelist()

    def assert_unchanged(self) -> None:
        assert self.zip.read_bytes() == self.before
        assert self.zip.with_name("function.zip.json").read_bytes() == self.metadata
        left = [p.name for p in self.zip.parent.iterdir() if p.name not in ("function.zip", "function.zip.json")]
        assert left == [], left
        rebuild = Path(os.environ["UV_LAMBDA_CACHE_DIR"]) / "rebuild"
        assert not [p.name for p in rebuild.iterdir() if p.name.startswith(".")]
        assert_no_scratch(self.tmp)


def _copy(template: Path, tmp_path: Path, table: str | None = None) -> Built:
    root = tmp_path / "orders"
    shutil.copytree(template, root, symlinks=True)
    if table is not None:
        _configure(root, table)
    return Built(root, tmp_path / "tmp")


@pytest.fixture
def built(template: Path, tmp_path: Path) -> Built:
    return _copy(template, tmp_path)


@pytest.fixture
def strict(template: Path, tmp_path: Path) -> Built:
    return _copy(template, tmp_path, "strict = true")


def _configure(root: Path, table: str) -> None:
    (root / "pyproject.toml").write_text(PYPROJECT + "\n[tool.uv-lambda]\n" + table)


def _take(path: str, built: Built, result: Run) -> None:
    """Assert which path ran: the full pipeline says what it builds before it fails."""
    assert ("building orders" in result.stderr) == (path == "full"), result.stderr


def _forget_record(built: Built) -> None:
    """The next build into the same folder takes the full pipeline."""
    from uv_lambda.bundle.rebuild import record_file

    Path(record_file.location(built.zip.parent)).unlink()


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        pytest.param('include = ["../../x"]', "'../../x' leaves the project (..)", id="include-dotdot"),
        pytest.param('include = ["app", "app/../../.."]', "leaves the project", id="include-inner-dotdot"),
        pytest.param('include = ["/etc/passwd"]', "'/etc/passwd' is absolute", id="include-absolute"),
        pytest.param('include = ["~/.aws"]', "'~/.aws' is absolute", id="include-home"),
        pytest.param('include = [""]', "an empty pattern", id="include-empty"),
        pytest.param('exclude = ["../secrets"]', "leaves the project", id="exclude-dotdot"),
        pytest.param('exclude = ["/tmp/*"]', "is absolute", id="exclude-absolute"),
    ],
)
def test_globs_that_leave_the_project(built: Built, table: str, needle: str) -> None:
    _configure(built.root, table)
    result = built.build()
    key = table.split(" ", 1)[0]
    assert_refused(result, 2, f"{built.root / 'pyproject.toml'}: [tool.uv-lambda] {key} must be", needle, hint=key)
    built.assert_unchanged()
    assert not (built.root.parent / "x").exists()


def _outside(built: Built, name: str = "passwd", text: str = "root:x:0:0:root:/root:/bin/sh\n") -> Path:
    target = built.root.parent / "outside" / name
    target.parent.mkdir(exist_ok=True)
    target.write_text(text)
    return target


@pytest.mark.parametrize("path", ["fast", "full"])
def test_strict_refuses_a_link_out_of_the_project(strict: Built, path: str) -> None:
    target = _outside(strict)
    (strict.root / "app" / "util.py").unlink()
    os.symlink(target, strict.root / "app" / "util.py")  # a file swapped for a link
    if path == "full":
        _forget_record(strict)
    result = strict.build()
    _take(path, strict, result)
    assert_refused(
        result,
        2,
        f"app/util.py: app/util.py is a link to {target}, outside the project, refused (strict = true)",
        hint="copy what app/util.py points to into the project, or leave it out with exclude",
    )
    strict.assert_unchanged()


@pytest.mark.parametrize("path", ["fast", "full"])
def test_strict_refuses_a_link_to_a_secret(strict: Built, path: str) -> None:
    (strict.root / ".env").write_text("TOKEN=hunter2\n")
    os.symlink("../.env", strict.root / "app" / "settings.py")
    if path == "full":
        _forget_record(strict)
    result = strict.build()
    _take(path, strict, result)
    assert_refused(result, 2, "app/settings.py is a link to .env, which looks like a secret", hint="exclude")
    strict.assert_unchanged()


@pytest.mark.parametrize("path", ["fast", "full"])
def test_strict_refuses_a_linked_package_out_of_the_project(strict: Built, path: str) -> None:
    library = _outside(strict, "__init__.py", "SECRET = 'from the build machine'\n").parent
    os.symlink(library, strict.root / "vendored")  # a top-level package: the default picks it
    if path == "full":
        _forget_record(strict)
    result = strict.build()
    _take(path, strict, result)
    assert_refused(result, 2, f"vendored is a link to {library}, outside the project", hint="copy what vendored")
    strict.assert_unchanged()


@pytest.mark.parametrize("path", ["fast", "full"])
def test_a_file_past_lambdas_limit(built: Built, path: str) -> None:
    if path == "full":
        _forget_record(built)
    with (built.root / "app" / "model.bin").open("wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: cheap to make, and refused before it is read
    result = built.build()
    _take(path, built, result)
    assert_refused(
        result,
        1,
        "unzipped, over Lambda's 250 MB limit (largest: app/model.bin 314.6 MB, six",
        hint="leave large files out with exclude",
    )
    built.assert_unchanged()


# Left out with a warning (not strict): the build succeeds and ships none of it.


def _warned(result: Run, *lines: str) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    for line in lines:
        assert line in warnings, result.stderr


def test_links_out_of_the_project_are_left_out_by_every_build_path(built: Built) -> None:
    target = _outside(built)
    library = _outside(built, "__init__.py", "SECRET = 1\n").parent
    (built.root / "app" / "util.py").unlink()
    os.symlink(target, built.root / "app" / "util.py")
    os.symlink(library, built.root / "vendored")
    (built.root / "app" / "main.py").write_text(FILES["app/main.py"] + "# edited\n")
    result = built.build()
    assert FAST in result.stderr
    _warned(
        result,
        f"warning: left out app/util.py: app/util.py is a link to {target}, outside the project "
        "(add it to `exclude` to silence this)",
        f"warning: left out vendored: vendored is a link to {library}, outside the project "
        "(add it to `exclude` to silence this)",
    )
    assert not [name for name in built.names() if "util" in name or "vendored" in name]
    # invoke's own record chooses the same files.
    event = built.root / "event.json"
    event.write_text("{}")
    invoked = run("invoke", built.root, "--event", event, tmp=built.tmp)
    assert invoked.returncode == 0 and invoked.stdout.strip() == '"1.17.0"', invoked.stderr
    (built.root / "app" / "main.py").write_text(FILES["app/main.py"] + "# edited again\n")
    invoked = run("invoke", built.root, "--event", event, tmp=built.tmp)
    assert invoked.returncode == 0 and f"vendored is a link to {library}" in invoked.stderr, invoked.stderr


def test_a_link_to_a_secret_is_left_out_whatever_its_name(built: Built) -> None:
    (built.root / ".aws").mkdir()
    (built.root / ".aws" / "credentials").write_text("[default]\naws_secret_access_key = x\n")
    os.symlink("../.aws/credentials", built.root / "app" / "config.ini")
    result = built.build()
    assert FAST in result.stderr or "up to date" in result.stderr
    _warned(
        result,
        "warning: left out app/config.ini: app/config.ini is a link to .aws/credentials, "
        "which looks like a secret (add it to `exclude` to silence this)",
    )
    assert "app/config.ini" not in built.names()


@pytest.mark.parametrize("out", ["app/out", "app/tree"])
def test_the_output_folder_is_never_an_input(built: Built, out: str) -> None:
    _configure(built.root, 'include = ["app"]')
    args = ["--out", str(built.root / out)]
    if out == "app/tree":
        args += ["--format", "dir"]
    for edit in range(3):  # a full build, then app-only rebuilds: none ships the one before
        (built.root / "app" / "util.py").write_text(f"X = {edit}\n")
        result = built.build(*args)
        assert result.returncode == 0, result.stderr
    if out == "app/tree":
        # The tree's zip and record are shared with plain builds into dist/lambda/orders/,
        # for which app/tree is just files: a tree build after one still never reads its tree.
        plain = built.build("-v")
        assert plain.returncode == 0 and "app/tree/app/util.py" in built.names(), plain.stderr
        again = built.build(*args)
        assert again.returncode == 0 and FAST in again.stderr, again.stderr
    if out == "app/out":
        with zipfile.ZipFile(built.root / out / "function.zip") as archive:
            names = archive.namelist()
    else:
        names = [p.relative_to(built.root / out).as_posix() for p in (built.root / out).rglob("*") if p.is_file()]
    assert not [name for name in names if name.startswith(("app/out", "app/tree"))], names
    assert "app/util.py" in names
