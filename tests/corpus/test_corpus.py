"""Real projects, made the way users make them (tests/corpus/make_projects.sh: `uv init` in
every flavour, `uv add` with exact pins under `exclude-newer`), each built with the real
`uv-lambda build` and run with `uv-lambda invoke` on an event from `uv-lambda event`.

arm64 builds cannot run here: they are built and every ELF file in them is checked (machine
and glibc symbol versions) by a reader of the test's own, independent of the one in the build.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.fixtures import PythonFor
from tests.support.projects import CliRunner

pytestmark = pytest.mark.slow

# e_machine of the ELF header, and the newest glibc each runtime's OS provides.
ELF_MACHINE = {"x86_64": 62, "arm64": 183}
RUNTIME_GLIBC = {"python3.10": (2, 26), "python3.11": (2, 26)} | {f"python3.{minor}": (2, 34) for minor in (12, 13, 14)}


@dataclass(frozen=True)
class Case:
    id: str  # <project>@<variant>: cases of one project share the part before @
    folder: str  # where `uv-lambda build` runs, under projects/
    runtime: str  # what the build must resolve
    event: tuple[str, ...] = ()  # `uv-lambda event` arguments
    expect: tuple[str, ...] = ()  # fragments of the answer (an HTTP answer's body included)
    build: tuple[str, ...] = ()  # more `uv-lambda build` arguments
    project: str | None = None  # the PATH argument; None: build in `folder` itself
    arch: str = "x86_64"  # arm64 is built and checked, not run
    refused: str | None = None  # the error line of a build that must fail


def _elsewhere(name: str, runtime: str, event: tuple[str, ...], expect: tuple[str, ...]) -> Case:
    """Built with PATH from another project's folder, whose own [tool.uv] (an exclude-newer of
    2020 and an index nobody serves) must reach neither the build nor the tool's installs."""
    return Case(f"{name}@from-elsewhere", "caller", runtime, event, expect, project=f"../{name}")


def _runtimes() -> list[Case]:
    cases = []
    for minor in (10, 11, 12, 13, 14):
        runtime = f"python3.{minor}"
        tomli = "true" if minor == 10 else "false"  # tomli ; python_version < '3.11'
        expect = (f'"python": "3.{minor}"', '"machine": "x86_64"', f'"tomli": {tomli}', "&lt;lambda&gt;")
        build = ("--runtime", runtime)
        cases.append(Case(f"runtimes@{runtime}-x86_64", "runtimes", runtime, ("schedule",), expect, build))
        cases.append(
            Case(f"runtimes@{runtime}-arm64", "runtimes", runtime, build=(*build, "--arch", "arm64"), arch="arm64")
        )
    return cases


CASES = [
    Case(
        "fastapi-mangum@apigw-v2",
        "fastapi-mangum",
        "python3.13",
        ("apigw-v2", "--path", "/items/7", "--query", "q=lambda"),
        ('"item_id":7', '"q":"lambda"'),
    ),
    Case(
        "flask-apig-wsgi@alb",
        "flask-apig-wsgi",
        "python3.12",
        ("alb", "--path", "/hello", "--query", "name=flask"),
        ('"hello":"flask"',),
    ),
    Case(
        "django-mangum@apigw-v1",
        "django-mangum",
        "python3.12",
        ("apigw-v1", "--path", "/ping/", "--query", "who=corpus"),
        ('"pong": "corpus"', '"django": "5.2.1"'),
    ),
    Case(
        "flask-apig-wsgi@split-apigw-v2",
        "flask-apig-wsgi",
        "python3.12",
        ("apigw-v2", "--path", "/hello", "--query", "name=layer"),
        ('"hello":"layer"',),
        ("--format", "split"),
    ),
    Case(
        "flask-templates@function-url",
        "flask-templates",
        "python3.13",
        ("function-url", "--path", "/", "--query", "name=<corpus>"),
        ("<h1>Hello, &lt;corpus&gt;</h1>",),
    ),
    Case(
        "litestar-mangum@apigw-v2",
        "litestar-mangum",
        "python3.13",
        ("apigw-v2", "--path", "/books/12", "--query", "fields=title,author"),
        ('"book_id":12', '"fields":["title","author"]'),
    ),
    Case(
        "powertools-api@apigw-v2",
        "powertools-api",
        "python3.13",
        ("apigw-v2", "--method", "POST", "--path", "/orders", "--body", '{"id": "o-1", "items": [1, 2]}'),
        ('"created":"o-1"', '"items":2'),
    ),
    Case("psycopg3-app@import", "psycopg3-app", "python3.12", ("schedule",), ('"impl": "binary"', '"psycopg": "3.')),
    Case("psycopg2-app@import", "psycopg2-app", "python3.11", ("schedule",), ('"psycopg2": "2.9.10',)),
    Case(
        "numpy-pandas@sqs",
        "numpy-pandas",
        "python3.12",
        ("sqs", "--body", '[{"amount": 2.5}, {"amount": 4}]'),
        ('"rows": 2', '"total": 6.5'),
    ),
    Case("pillow-arm64@arm64", "pillow-arm64", "python3.12", arch="arm64"),
    Case(
        "orjson-ujson-311@eventbridge",
        "orjson-ujson-311",
        "python3.11",
        ("eventbridge", "--body", '{"k": [1, 2]}'),
        ('"orjson": "3.9.15"', '"same": true'),
    ),
    Case(
        "fastapi-pydantic210@function-url",
        "fastapi-pydantic210",
        "python3.12",
        (
            "function-url",
            "--method",
            "POST",
            "--path",
            "/orders",
            "--header",
            "content-type:application/json",
            "--body",
            '{"id": "a-1", "quantity": 3}',
        ),
        ('"quantity":3', '"pydantic_core":"2.27.2"'),
    ),
    Case(
        "sdist-docopt@eventbridge",
        "sdist-docopt",
        "python3.12",
        ("eventbridge", "--body", '{"argv": ["ship", "o-9", "--fast"]}'),
        ('"--fast": true', '"<order>": "o-9"'),
    ),
    Case(
        "sdist-with-c@refused",
        "sdist-with-c",
        "python3.12",
        refused="error: crcmod publishes only a source distribution with C code: no wheel for python3.12 x86_64",
    ),
    Case(
        "namespace-deps@eventbridge",
        "namespace-deps",
        "python3.13",
        ("eventbridge", "--body", '{"name": " ns "}'),
        ('"composed": "NS"',),
    ),
    Case(
        "package-data@s3-put",
        "package-data",
        "python3.13",
        ("s3-put", "--bucket", "fruit", "--key", "uploads/pear.csv"),
        ('"fruit": "pear"', '"price": 0.75'),
    ),
    Case(
        "path-dependency@eventbridge",
        "path-dependency",
        "python3.13",
        ("eventbridge", "--body", '{"name": "corpus"}'),
        ('"message": "Hello, corpus!"',),
    ),
    Case(
        "virtual-workspace@orders-from-member",
        "virtual-workspace/functions/orders",
        "python3.13",
        ("eventbridge", "--body", '{"id": "o-1"}'),
        ('"order": "o-1, stamped by common"',),
    ),
    Case(
        "virtual-workspace@users-from-root",
        "virtual-workspace",
        "python3.13",
        ("eventbridge", "--body", '{"id": "u-1"}'),
        ('"user": "u-1, stamped by common"',),
        ("--package", "users"),
    ),
    Case(
        "init-app@eventbridge",
        "init-app",
        "python3.13",
        ("eventbridge", "--body", '{"when": "2025-06-01T10:00:00Z"}'),
        ('"weekday": "Sunday"',),
    ),
    Case(
        "init-package@sqs",
        "init-package",
        "python3.12",
        ("sqs", "--body", "a: 1"),
        ('"parsed": {"a": 1}', '"libyaml": true'),
    ),
    Case(
        "init-lib@apigw-v1",
        "init-lib",
        "python3.11",
        ("apigw-v1", "--query", "q=lambda"),
        ('"url": "https://example.com/search?q=lambda"',),
    ),
    # No .python-version, requires-python >= 3.10: the oldest runtime Lambda has not deprecated.
    Case("init-bare@sns", "init-bare", "python3.12", ("sns", "--body", "<b>hi</b>"), ("&lt;b&gt;hi&lt;/b&gt;",)),
    *_runtimes(),
    _elsewhere("exclude-newer", "python3.12", ("schedule",), ('"requests": "2.32.3"',)),
    _elsewhere("default-groups", "python3.13", ("eventbridge",), ('"pytest_shipped": false',)),
    _elsewhere("vendored-wheel", "python3.13", ("sqs", "--body", "hey"), ('"said": "HEY!"',)),
    _elsewhere("namespace-app", "python3.12", ("apigw-v2", "--path", "/ns"), ('"body": "/ns"',)),
]


def _answer_text(stdout: str) -> str:
    """The answer, with an HTTP answer's body decoded after it (fragments may be in either)."""
    try:
        answer = json.loads(stdout)
    except ValueError:
        return stdout
    body = answer.get("body") if isinstance(answer, dict) else None
    if not isinstance(body, str):
        return stdout
    if answer.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return stdout + "\n" + body


def _elf_problems(archive: Path, arch: str, glibc: tuple[int, int]) -> tuple[int, list[str]]:
    """How many ELF files the zip holds, and what is wrong with them for arch and glibc."""
    count, problems = 0, []
    with zipfile.ZipFile(archive) as bundle:
        for name in bundle.namelist():
            data = bundle.read(name)
            if not data.startswith(b"\x7fELF"):
                continue
            count += 1
            (machine,) = struct.unpack_from("<H", data, 18)
            if machine != ELF_MACHINE[arch]:
                problems.append(f"{name}: e_machine {machine}")
            newest = max(
                ((int(major), int(minor)) for major, minor in re.findall(rb"GLIBC_(\d+)\.(\d+)", data)),
                default=(0, 0),
            )
            if newest > glibc:
                problems.append(f"{name}: needs GLIBC_{newest[0]}.{newest[1]}")
    return count, problems


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_project(case: Case, corpus: Path, cli: CliRunner, tmp_path: Path, python_for: PythonFor) -> None:
    python_for(case.runtime.removeprefix("python"))  # the build compiles bytecode with it
    out = tmp_path / "out"
    where = corpus / case.folder
    arguments = [*([case.project] if case.project else []), "--out", out, *case.build]
    built = cli("build", *arguments, cwd=where)
    if case.refused is not None:
        assert built.returncode == 1, built.stderr
        assert any(line.startswith(case.refused) for line in built.stderr.splitlines()), built.stderr
        assert "Traceback" not in built.stderr
        assert not out.exists()
        return
    assert built.returncode == 0, built.stderr
    elf_files = 0
    for archive in sorted(out.glob("*.zip")):  # function.zip, or layer.zip and app.zip
        meta = json.loads(archive.with_name(archive.name + ".json").read_text())
        assert (meta["runtime"], meta["architecture"]) == (case.runtime, case.arch)
        count, problems = _elf_problems(archive, case.arch, RUNTIME_GLIBC[case.runtime])
        assert not problems, problems
        elf_files += count
    if case.arch != "x86_64":
        assert elf_files > 0  # the arm64 cases are there for their native code
        return

    event = cli("event", *case.event)
    assert event.returncode == 0, event.stderr
    (tmp_path / "event.json").write_text(event.stdout)
    invoked = cli("invoke", "--artifact", out, "--event", tmp_path / "event.json", cwd=where)
    assert invoked.returncode == 0, invoked.stderr
    answer = _answer_text(invoked.stdout)
    for fragment in case.expect:
        assert fragment in answer, answer
