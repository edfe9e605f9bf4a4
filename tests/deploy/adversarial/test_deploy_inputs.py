"""Hostile or careless input to `deploy` and `destroy`, against a real moto_server on 127.0.0.1.

Each case is refused with the right exit code, one `error:` line, a hint that is true and no
traceback; and nothing was written to AWS: the recording proxy in front of moto saw no write
call, and moto holds no function. The moto server, the recording proxy and the hand-made
artifacts are the deploy suite's own (tests/deploy/conftest.py, deploy_helpers.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import (
    REGION,
    RecordingProxy,
    make_project,
    write_artifact,
    write_split_build,
    write_zip_build,
)

from uv_lambda.cli import main

FLAGS = ("--no-build", "--yes")
ACCOUNT = "123456789012"


def assert_refused(result: Any, code: int, needle: str, hint: str) -> None:
    """Exit `code`; one `error:` line holding `needle`; one `hint:` line holding `hint`; no traceback."""
    err = result.err
    assert result.code == code, (result.code, err)
    assert "Traceback" not in err and "internal error" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    hints = [line for line in err.splitlines() if line.startswith("hint:")]
    assert len(errors) == 1 and needle in errors[0], err
    assert len(hints) == 1 and hint in hints[0], err


def assert_nothing_written(proxy: RecordingProxy, clients: Any) -> None:
    """No write call went through the proxy, and moto holds nothing (for cases that read AWS)."""
    assert proxy.writes() == []
    assert clients.lam.list_functions()["Functions"] == []
    assert clients.iam.list_roles()["Roles"] == []
    assert clients.lam.list_layers()["Layers"] == []


@dataclass
class Result:
    code: int
    err: str


@pytest.fixture
def aws(recording_proxy: RecordingProxy, aws_env: None) -> RecordingProxy:
    """The recording proxy, emptied; moto behind it is not reset (that takes seconds): these
    cases must be refused before any call, which `assert_no_call` checks."""
    recording_proxy.reset()
    return recording_proxy


def assert_no_call(proxy: RecordingProxy) -> None:
    assert proxy.operations() == [], "refused input reached AWS"


@pytest.fixture
def deploy_command(aws: RecordingProxy, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """`uv-lambda COMMAND PATH ARGS --endpoint-url <proxy> --region us-east-1`, in this process;
    `--endpoint-url` and `--region` given in ARGS win (argparse keeps the last)."""

    def run(name: str, project: Path, *args: str) -> Result:
        capsys.readouterr()
        extra = ["--no-build", "--yes"] if name == "deploy" else ["--yes"]
        try:
            code = main([name, str(project), *extra, "--endpoint-url", aws.url, "--region", REGION, *args])
        except SystemExit as exit:  # the argument parser's errors end the process
            code = int(exit.code or 0)
        return Result(code, capsys.readouterr().err)

    return run


def deploy_config(tmp_path: Path, deploy_command: Callable[..., Result], tool: str, *extra: str) -> Result:
    """`deploy --no-build --yes` of a split build whose [tool.uv-lambda] holds `tool`."""
    project = make_project(tmp_path / "p", tool=tool)
    write_split_build(project)
    return deploy_command("deploy", project, *extra)


# --- --endpoint-url and --region ------------------------------------------------------------

ENDPOINT_HINT = "give a full URL such as http://127.0.0.1:5000"
BAD_ENDPOINTS = {
    "empty": ("", "is empty"),
    "blank": ("  ", "is empty"),
    "ftp-scheme": ("ftp://127.0.0.1:5000", "must start with http:// or https://"),
    "no-scheme": ("127.0.0.1:5000", "must start with http:// or https://"),
    "port-0": ("http://127.0.0.1:0", "port 0 cannot be connected to"),
    "port-text": ("http://127.0.0.1:http", "is not a valid URL"),
    "port-negative": ("http://127.0.0.1:-1", "is not a valid URL"),
    "no-host": ("http://:5000", "names no host"),
    "space-in-host": ("http://exa mple.com", "is not a valid URL"),
    "newline": ("http://127.0.0.1:5000\r\nX-Injected: 1", "is not a valid URL"),
}


@pytest.mark.parametrize("verb", ["deploy", "destroy"])
@pytest.mark.parametrize("case", sorted(BAD_ENDPOINTS))
def test_malformed_endpoint_urls(
    tmp_path: Path, deploy_command: Callable[..., Result], aws: RecordingProxy, verb: str, case: str
) -> None:
    url, needle = BAD_ENDPOINTS[case]
    project = make_project(tmp_path / "p")
    write_split_build(project)

    result = deploy_command(verb, project, "--endpoint-url", url)

    assert_refused(result, 2, needle, ENDPOINT_HINT)
    assert result.err.splitlines()[0].startswith("error: --endpoint-url")
    assert_no_call(aws)


BAD_REGIONS = {
    "empty": ("", "--region is empty", "unset"),
    "blank": ("   ", "--region is empty", "unset"),
    "shell": ("us-east-1; rm -rf /", "not a valid AWS region", "us-east-1"),
    "path": ("../../etc", "not a valid AWS region", "us-east-1"),
    "trailing-space": ("us-east-1 ", "not a valid AWS region", "us-east-1"),
    "unicode": ("us-éast-1", "not a valid AWS region", "us-east-1"),
}


@pytest.mark.parametrize("verb", ["deploy", "destroy"])
@pytest.mark.parametrize("case", sorted(BAD_REGIONS))
def test_garbage_regions(
    tmp_path: Path, deploy_command: Callable[..., Result], aws: RecordingProxy, verb: str, case: str
) -> None:
    region, needle, hint = BAD_REGIONS[case]
    project = make_project(tmp_path / "p")
    write_split_build(project)

    result = deploy_command(verb, project, "--region", region)

    assert_refused(result, 2, needle, hint)
    assert_no_call(aws)


# --- configuration Lambda would refuse --------------------------------------------------------


def _layer(name: str, version: int = 1, region: str = REGION) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:layer:{name}:{version}"


def _cases(
    prefix: str, rows: dict[str, tuple[str, str, str]], extra: tuple[str, ...] = ()
) -> dict[str, tuple[str, tuple[str, ...], str, str]]:
    return {f"{prefix}-{case}": (tool, extra, needle, hint) for case, (tool, needle, hint) in rows.items()}


def _role(role: str) -> tuple[str, str, str]:
    return f'role = "{role}"\n', f"role {role!r} is not an IAM role ARN", "arn:aws:iam::123456789012:role/NAME"


def _range(line: str, needle: str) -> tuple[str, str, str]:
    key = line.split(" ")[0]
    return line + "\n", needle, f"fix {key!r} in pyproject.toml"


def _layers(
    arn: str, needle: str, hint: str = "arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION"
) -> tuple[str, str, str]:
    return f'layers = ["{arn}"]\n', f"layer {arn!r} {needle}", hint


def _name(name: str, needle: str) -> tuple[str, str, str]:
    return f'function-name = "{name}"\n', f"function name {name!r} {needle}", "function-name"


def _env_key(key: str, needle: str) -> tuple[str, tuple[str, ...], str, str]:
    return "", ("--env", f"{key}=1"), f"{key!r} is {needle}", "letters, digits and _"


def _alias(alias: str, needle: str) -> tuple[str, tuple[str, ...], str, str]:
    return "", ("--alias", alias), f"alias {alias!r} {needle}", "pick an alias name such as live"


def _url(table: str, needle: str, hint: str) -> tuple[str, str, str]:
    return f"function-url = {table}\n", needle, hint


# id -> ([tool.uv-lambda] lines, extra deploy arguments, the error holds, the hint holds)
CONFIG_CASES: dict[str, tuple[str, tuple[str, ...], str, str]] = {
    **_cases(
        "role",
        {
            "bare-name": _role("my-lambda-role"),
            "short-account": _role("arn:aws:iam::1234:role/x"),
            "a-user": _role(f"arn:aws:iam::{ACCOUNT}:user/bob"),
            "empty": _role(""),
            "lambda-arn": _role(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"),
        },
    ),
    **_cases(
        "range",
        {
            "memory-low": _range("memory = 127", "memory must be a whole number from 128 to 10240"),
            "memory-high": _range("memory = 10241", "memory must be a whole number from 128 to 10240"),
            "timeout-zero": _range("timeout = 0", "timeout must be a whole number from 1 to 900"),
            "timeout-high": _range("timeout = 901", "timeout must be a whole number from 1 to 900"),
            "ephemeral-low": _range("ephemeral-storage = 511", "ephemeral-storage must be a whole number from 512"),
            "ephemeral-high": _range("ephemeral-storage = 10241", "ephemeral-storage must be a whole number from"),
        },
    ),
    **_cases(
        "layer",
        {
            "not-an-arn": _layers("my-layer", "is not a layer version ARN"),
            "no-version": _layers(f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:x", "is not a layer version ARN"),
            "version-zero": _layers(_layer("x", 0), "is not a layer version ARN"),
            "a-function": _layers(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f:1", "is not a layer version ARN"),
            "empty": _layers("", "is not a layer version ARN"),
            "other-region": _layers(_layer("x", 1, "eu-west-1"), f"is in eu-west-1, not {REGION}", "same region"),
            "twice": (
                f'layers = ["{_layer("x", 1)}", "{_layer("x", 2)}"]\n',
                "layer x is listed twice (versions 1 and 2)",
                "keep one version",
            ),
        },
    ),
    **_cases(
        "environment",
        {
            "over-4-kb": (
                "environment = { " + ", ".join(f'V{i} = "{"x" * 100}"' for i in range(45)) + " }\n",
                "environment variables take 4625 bytes; Lambda allows 4096",
                "Parameter Store",
            ),
            "bytes-not-characters": (  # 1,500 characters, 4,500 bytes
                f'environment = {{ EURO = "{"€" * 1500}" }}\n',
                "environment variables take 4504 bytes",
                "Parameter Store",
            ),
        },
    ),
    "environment-leading-digit": _env_key("1ST", "not a valid environment variable name"),
    "environment-dash": _env_key("MY-KEY", "not a valid environment variable name"),
    "environment-reserved-region": _env_key("AWS_REGION", "reserved by Lambda"),
    "environment-reserved-handler": _env_key("_HANDLER", "reserved by Lambda"),
    "environment-reserved-runtime-api": _env_key("AWS_LAMBDA_RUNTIME_API", "reserved by Lambda"),
    **_cases(
        "name",
        {
            "65-chars": _name("a" * 65, "is longer than 64 characters"),
            "space": _name("my function", "may hold only letters, digits, - and _"),
            "dot": _name("my.function", "may hold only letters, digits, - and _"),
            "slash": _name("../etc", "may hold only letters, digits, - and _"),
            "empty": _name("", "is empty"),
        },
    ),
    "alias-digits": _alias("123", "is a version number"),
    "alias-space": _alias("my alias", "may hold only letters"),
    "alias-latest": _alias("$LATEST", "may hold only letters"),
    "alias-empty": _alias("", "may hold only letters"),
    "alias-too-long": _alias("a" * 129, "is longer than 128 characters"),
    **_cases(
        "tags",
        {
            "aws-prefix": ('tags = { "aws:team" = "a" }\n', "tag key 'aws:team' starts with aws:", "tags"),
            "too-many": ("tags = { " + ", ".join(f't{i} = "v"' for i in range(50)) + " }\n", "51 tags", "tags"),
            "long-key": (f'tags = {{ {"k" * 129} = "v" }}\n', "longer than 128 characters", "tags"),
            "long-value": (f'tags = {{ k = "{"v" * 257}" }}\n', "longer than 256 characters", "tags"),
        },
    ),
    "description-257": (
        f'description = "{"d" * 257}"\n',
        (),
        "description is 257 characters; Lambda allows 256",
        "shorten description",
    ),
    **_cases(
        "url",
        {
            "auth-lowercase": _url('{ auth = "none" }', 'auth must be "NONE" or "AWS_IAM", not \'none\'', "public"),
            "auth-number": _url("{ auth = 1 }", 'auth must be "NONE" or "AWS_IAM", not 1', "public"),
            "unknown-key": _url('{ auth = "NONE", public = true }', "unknown key(s) public in function-url", "cors"),
            "cors-string": _url('{ cors = "*" }', "cors must be a table", "allow-origins"),
            "cors-unknown": _url('{ cors = { origins = ["*"] } }', "cors must be a table with keys", "allow-origins"),
            "origins-string": _url(
                '{ cors = { allow-origins = "*" } }', "allow-origins must be a list of strings", "allow-origins"
            ),
            "method": _url(
                '{ cors = { allow-methods = ["FETCH"] } }', "allow-methods 'FETCH' is not an HTTP method", "GET"
            ),
            "max-age-negative": _url("{ cors = { max-age = -1 } }", "max-age must be from 0 to 86400", "max-age"),
            "max-age-high": _url("{ cors = { max-age = 86401 } }", "max-age must be from 0 to 86400", "max-age"),
            "credentials-text": _url(
                '{ cors = { allow-credentials = "yes" } }', "allow-credentials must be true/false", "cors"
            ),
        },
    ),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_configuration_lambda_would_refuse(
    tmp_path: Path, deploy_command: Callable[..., Result], aws: RecordingProxy, case: str
) -> None:
    tool, extra, needle, hint = CONFIG_CASES[case]
    result = deploy_config(tmp_path, deploy_command, tool, *extra)
    assert_refused(result, 2, needle, hint)
    assert_no_call(aws)


def test_six_configured_layers_on_a_zip_function(
    tmp_path: Path, deploy_command: Callable[..., Result], aws: RecordingProxy
) -> None:
    arns = ", ".join(f'"{_layer(f"l{i}")}"' for i in range(6))
    project = make_project(tmp_path / "p", tool=f"layers = [{arns}]\n")
    write_zip_build(project)
    result = deploy_command("deploy", project)
    assert_refused(result, 2, "6 layers; Lambda allows 5", "remove entries from `layers`")
    assert_no_call(aws)


def test_layers_merged_from_the_shared_and_the_function_table(
    tmp_path: Path, deploy_command: Callable[..., Result], aws: RecordingProxy
) -> None:
    shared = ", ".join(f'"{_layer(f"s{i}")}"' for i in range(3))
    own = ", ".join(f'"{_layer(f"f{i}")}"' for i in range(2))
    project = make_project(
        tmp_path / "p", tool=f"layers = [{shared}]\n[tool.uv-lambda.functions.hello]\nlayers = [{own}]\n"
    )
    write_split_build(project)  # the built layer makes 6
    result = deploy_command("deploy", project)
    assert_refused(result, 2, "6 layers; Lambda allows 5", "remove entries from `layers`")
    assert_no_call(aws)


def test_destroy_of_a_name_lambda_rejects(
    tmp_path: Path, deploy_command: Callable[..., Result], aws: RecordingProxy
) -> None:
    project = make_project(tmp_path / "p", tool='function-name = "my function"\n')
    result = deploy_command("destroy", project)
    assert_refused(result, 2, "function name 'my function' may hold only letters", 'function-name = "my-function"')
    assert_no_call(aws)


def test_a_function_table_name_lambda_rejects(
    tmp_path: Path, deploy_command: Callable[..., Result], aws: RecordingProxy
) -> None:
    """Without function-name, the table's name is the name in AWS; Lambda has no dots in names."""
    project = make_project(tmp_path / "p", tool='[tool.uv-lambda.functions."api.v2"]\nmemory = 256\n')
    write_split_build(project, "api.v2")
    result = deploy_command("deploy", project)
    assert_refused(result, 2, "function name 'api.v2' may hold only letters", 'set function-name = "api-v2"')
    assert_no_call(aws)


# --- artifacts, interruptions, credentials, the file system ------------------------------------


@pytest.mark.slow
def test_a_small_zip_over_250_mb_unzipped(
    tmp_path: Path, deploy_command: Callable[..., Result], aws: RecordingProxy
) -> None:
    project = make_project(tmp_path / "p")
    folder = project / "dist" / "lambda" / "hello"
    folder.mkdir(parents=True)
    import zipfile

    zeros = bytes(2**20)
    with zipfile.ZipFile(folder / "function.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
        info = zipfile.ZipInfo("data.bin", (1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as sink:
            for _ in range(251):  # zeros: 251 MB that deflate to a few hundred KB
                sink.write(zeros)
    write_artifact(folder / "function.zip", function="hello", format="zip", role="function", handler="app.handler")
    assert (folder / "function.zip").stat().st_size < 2**20

    result = deploy_command("deploy", project)

    assert_refused(
        result, 1, "263.2 MB unzipped (code 263.2 MB); Lambda allows 250 MB (262,144,000 bytes)", "container image"
    )
    assert_no_call(aws)


@pytest.mark.parametrize("flag", ["--profile", "--image-repository", "--base-image"])
def test_empty_option_values(
    tmp_path: Path, deploy_command: Callable[..., Result], aws: RecordingProxy, flag: str
) -> None:
    """An unset variable (`--profile "$PROFILE"`) is an error, never the default profile or repository."""
    result = deploy_config(tmp_path, deploy_command, "", flag, "")
    assert_refused(result, 2, f"argument {flag}: is empty", "pass a value, or leave the option out")
    assert_no_call(aws)


TAMPERED = {
    "runtime-retired": ("runtime", "python2.7", "names runtime 'python2.7', which uv-lambda does not deploy"),
    "runtime-foreign": ("runtime", "nodejs22.x", "names runtime 'nodejs22.x'"),
    "architecture": ("architecture", "i386", "names architecture 'i386'; Lambda runs x86_64 or arm64"),
    "handler": ("handler", "app handler", "names a malformed handler 'app handler'"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_hand_edited_build_metadata(
    tmp_path: Path, deploy_command: Callable[..., Result], aws: RecordingProxy, case: str
) -> None:
    """deploy --no-build takes runtime, architecture and handler from the metadata file."""
    key, value, needle = TAMPERED[case]
    project = make_project(tmp_path / "p")
    metadata = write_zip_build(project) / "function.zip.json"
    document = json.loads(metadata.read_text())
    metadata.write_text(json.dumps({**document, key: value}))
    result = deploy_command("deploy", project)
    assert_refused(result, 1, f"function.zip.json {needle}", "rebuild with `uv-lambda build`")
    assert_no_call(aws)


def test_no_build_without_a_build(tmp_path: Path, deploy_command: Callable[..., Result], aws: RecordingProxy) -> None:
    project = make_project(tmp_path / "p")
    result = deploy_command("deploy", project)
    assert_refused(result, 2, f"no uv-lambda build in {project / 'dist' / 'lambda' / 'hello'}", "uv-lambda build")
    assert_no_call(aws)


def _subprocess_deploy(project: Path, proxy: RecordingProxy, *extra: str, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uv_lambda",
            "deploy",
            str(project),
            "--endpoint-url",
            proxy.url,
            "--region",
            REGION,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def interrupt_at(project: Path, proxy: RecordingProxy, operation: str) -> str:
    """Deploy in a process of its own, held on `operation` (not forwarded), and Ctrl-C it there:
    exit 130 and one `error:` line, no traceback. Returns stderr."""
    proxy.drop(operation, 1, stall=20.0)
    process = _subprocess_deploy(project, proxy, *FLAGS)
    deadline = time.monotonic() + 60
    while operation not in proxy.operations() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert operation in proxy.operations()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1, err
    return err


def deploy_again(project: Path, proxy: RecordingProxy) -> None:
    proxy.reset()
    rerun = _subprocess_deploy(project, proxy, *FLAGS)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err


def test_ctrl_c_while_planning_changes_nothing(tmp_path: Path, proxy: RecordingProxy, clients: Any) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)

    err = interrupt_at(project, proxy, "GetRole")  # the plan hangs on a read

    assert "error: interrupted\n" in err  # and nothing was written: below
    assert_nothing_written(proxy, clients)
    deploy_again(project, proxy)  # ... and the next deploy goes through from a clean slate
    assert proxy.writes().count("CreateFunction") == 1


def test_ctrl_c_while_applying_then_a_rerun_converges(tmp_path: Path, proxy: RecordingProxy, clients: Any) -> None:
    """Interrupted between steps: each step is whole, the rerun finishes without duplicates."""
    project = make_project(tmp_path / "p")
    write_split_build(project)

    err = interrupt_at(project, proxy, "PublishLayerVersion")  # not forwarded: no layer is made

    assert "error: deploy of hello interrupted at step 2 of 3" in err
    assert "hint: run `uv-lambda deploy` again" in err
    assert clients.lam.list_functions()["Functions"] == []
    assert clients.lam.list_layers()["Layers"] == []
    deploy_again(project, proxy)
    assert "CreateRole" not in proxy.writes()  # the role made before the interruption is used
    assert [role["RoleName"] for role in clients.iam.list_roles()["Roles"]] == ["uv-lambda-hello"]
    versions = clients.lam.list_layer_versions(LayerName="hello-dependencies")["LayerVersions"]
    assert [version["Version"] for version in versions] == [1]
    assert clients.lam.get_function(FunctionName="hello")["Configuration"]["State"] == "Active"


CREDENTIAL_CASES = {
    "none": ({}, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], 1, "no usable AWS credentials found", "aws configure"),
    "key-id-only": ({}, ["AWS_SECRET_ACCESS_KEY"], 1, "no usable AWS credentials found", "AWS_SECRET_ACCESS_KEY"),
    "profile-from-env": (
        {"AWS_PROFILE": "nope"},
        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
        2,
        "AWS profile 'nope' not found",
        "aws configure list-profiles",
    ),
}


@pytest.mark.parametrize("verb", ["deploy", "destroy"])
@pytest.mark.parametrize("case", sorted(CREDENTIAL_CASES))
def test_missing_credentials(
    tmp_path: Path,
    deploy_command: Callable[..., Result],
    aws: RecordingProxy,
    monkeypatch: pytest.MonkeyPatch,
    verb: str,
    case: str,
) -> None:
    setenv, delenv, code, needle, hint = CREDENTIAL_CASES[case]
    project = make_project(tmp_path / "p")
    write_split_build(project)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no link-local lookups from tests
    for key in delenv:
        monkeypatch.delenv(key)
    for key, value in setenv.items():
        monkeypatch.setenv(key, value)

    assert_refused(deploy_command(verb, project), code, needle, hint)
    assert_no_call(aws)


def test_a_credentials_file_that_is_not_ini(
    tmp_path: Path, deploy_command: Callable[..., Result], aws: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "p")
    write_split_build(project)
    credentials = tmp_path / "credentials"
    credentials.write_text("this is [not an ini file\naws_access_key_id\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    assert_refused(deploy_command("deploy", project), 2, f"cannot read {credentials}", "fix or remove")
    assert_no_call(aws)


def _without_dac_override() -> list[str]:
    """A command prefix that makes root honour file modes (no CAP_DAC_OVERRIDE), or []."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be made")
    return [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_a_read_only_dist_folder(tmp_path: Path, proxy: RecordingProxy, clients: Any) -> None:
    from tests.support.projects import write_project

    project = write_project(
        tmp_path / "p",
        '[project]\nname = "hello"\nversion = "0.1.0"\nrequires-python = ">=3.13"\n'
        '[tool.uv-lambda]\nhandler = "app.handler"\n',
        {"app.py": "def handler(event, context):\n    return 1\n"},
    )
    folder = write_zip_build(project)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    (project / "app.py").write_text("def handler(event, context):\n    return 2\n")  # a rebuild is needed
    for path in (project / "dist", project / "dist" / "lambda", folder):
        path.chmod(0o555)
    try:
        completed = subprocess.run(
            [
                *_without_dac_override(),
                sys.executable,
                "-m",
                "uv_lambda",
                "deploy",
                str(project),
                "--yes",
                "--endpoint-url",
                proxy.url,
                "--region",
                REGION,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        for path in (project / "dist", project / "dist" / "lambda", folder):
            path.chmod(0o755)

    assert_refused(
        Result(completed.returncode, completed.stderr), 2, f"output folder {folder} is not writable", "permissions"
    )
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    assert_nothing_written(proxy, clients)
