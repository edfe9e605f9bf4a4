"""Pure logic: the runtime table, configuration, handlers, wheel-tag rules, archives."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from uv_lambda.bundle import archive
from uv_lambda.bundle.verify.elf import read_elf
from uv_lambda.bundle.verify.handler import check_handler, defines, parse_handler
from uv_lambda.bundle.verify.platform_checks import Target, check_binaries, check_no_build_paths, check_wheel_tags
from uv_lambda.config import FunctionConfig, function_configs, with_overrides
from uv_lambda.errors import ConfigError, UsageError, VerificationError
from uv_lambda.model import Format
from uv_lambda.runtimes import RUNTIMES, Architecture, get_architecture, get_runtime


def test_runtime_table_platforms_and_images() -> None:
    assert list(RUNTIMES) == ["python3.10", "python3.11", "python3.12", "python3.13", "python3.14"]
    assert get_runtime("python3.11").uv_platform(Architecture.X86_64) == "x86_64-manylinux_2_17"
    assert get_runtime("3.13").uv_platform(Architecture.ARM64) == "aarch64-manylinux_2_34"
    assert get_runtime("python3.12").glibc == (2, 34) and get_runtime("python3.10").glibc == (2, 26)
    assert get_runtime("python3.13").base_image(Architecture.X86_64) == "public.ecr.aws/lambda/python:3.13"
    assert get_runtime("python3.13").base_image(Architecture.ARM64) == "public.ecr.aws/lambda/python:3.13-arm64"
    assert get_runtime("python3.13").site_packages == "python/lib/python3.13/site-packages"
    assert get_architecture("aarch64") is Architecture.ARM64
    with pytest.raises(UsageError, match="deprecated"):
        get_runtime("python3.9")
    with pytest.raises(UsageError, match="unknown architecture"):
        get_architecture("mips")


def test_config_defaults_functions_and_overrides(tmp_path: Path) -> None:
    source = tmp_path / "pyproject.toml"
    configs = function_configs(
        {"memory": 512, "functions": {"a": {"handler": "x.y"}, "b": {"memory": 1024}}}, "p", source
    )
    assert configs["a"].memory == 512 and configs["a"].handler == "x.y" and configs["b"].memory == 1024
    assert function_configs({}, "proj", source) == {"proj": FunctionConfig(name="proj")}
    overridden = with_overrides(configs["a"], architecture="arm64", runtime=None)
    assert overridden.architecture == "arm64" and overridden.runtime is None and overridden.memory == 512
    with pytest.raises(ConfigError, match="memory must be a whole number from 128 to 10240"):
        function_configs({"memory": 64}, "p", source)
    with pytest.raises(ConfigError, match="environment must be a table of strings"):
        function_configs({"environment": {"A": 1}}, "p", source)
    with pytest.raises(ConfigError, match="functions] must hold one table"):
        function_configs({"functions": {}}, "p", source)
    # Lambda refuses a configuration that sets a reserved variable; unreserved ones override.
    with pytest.raises(ConfigError, match=r"environment sets AWS_REGION, which Lambda reserves"):
        function_configs({"functions": {"a": {"environment": {"AWS_REGION": "x", "TZ": "y"}}}}, "p", source)
    assert function_configs({"environment": {"TZ": "Europe/Paris", "PATH": "/opt/bin"}}, "p", source)
    assert function_configs({"runtime-sdk": "1.40.4"}, "p", source)["p"].runtime_sdk == "1.40.4"
    with pytest.raises(ConfigError, match="runtime-sdk must be"):
        function_configs({"runtime-sdk": "newest"}, "p", source)


def test_flags_and_configuration_share_one_schema(tmp_path: Path) -> None:
    """A command-line value is validated and converted as the same key in pyproject.toml is;
    every range comes from limits.py (or is uv-lambda's own, said so)."""
    from uv_lambda import limits
    from uv_lambda.config import SCHEMA, check_override

    config = FunctionConfig(name="f")
    assert (config.memory, config.timeout, config.ephemeral_storage) == (
        limits.DEFAULT_MEMORY_MB,
        limits.DEFAULT_TIMEOUT_SECONDS,
        limits.DEFAULT_EPHEMERAL_STORAGE_MB,
    )
    for key, (low, high), hint in [
        ("memory", limits.MEMORY_MB, "Lambda allows"),
        ("timeout", limits.TIMEOUT_SECONDS, "Lambda allows"),
        ("ephemeral_storage", limits.EPHEMERAL_STORAGE_MB, "Lambda allows"),
        ("concurrency", (1, 64), "use"),
    ]:
        assert check_override(key, low) == low and check_override(key, high) == high
        for wrong in (low - 1, high + 1):
            flag = "--" + key.replace("_", "-")
            with pytest.raises(UsageError, match=f"{flag} {wrong} is out of range") as refused:
                with_overrides(config, **{key: wrong})
            assert refused.value.hint == f"{hint} {low} to {high}"
            with pytest.raises(ConfigError, match=f"from {low} to {high}"):
                function_configs({key.replace("_", "-"): wrong}, "p", tmp_path / "pyproject.toml")
    arm = with_overrides(config, architecture="arm64", format="split")
    assert arm.architecture is Architecture.ARM64 and arm.format is Format.SPLIT
    assert arm.origins == {"architecture": "--arch", "format": "--format"}
    with pytest.raises(UsageError, match="--format must be one of 'zip', 'layer', 'split', 'image', not 'tar'"):
        with_overrides(config, format="tar")
    # Built in code with plain strings, a config holds the same enums as a validated one.
    assert FunctionConfig(name="f", architecture="arm64").architecture is Architecture.ARM64  # type: ignore[arg-type]
    assert set(SCHEMA) >= {"memory", "timeout", "ephemeral-storage", "concurrency", "format", "architecture"}


def test_formats_know_their_artifacts() -> None:
    from uv_lambda.artifact import FORMAT_FILES

    assert {str(format): files for format, files in FORMAT_FILES.items()} == {
        "zip": ("function.zip",),
        "layer": ("layer.zip",),
        "split": ("layer.zip", "app.zip"),
    }
    assert [format for format in Format if format.has_code] == [Format.ZIP, Format.SPLIT, Format.IMAGE]
    assert [format for format in Format if format.has_layer] == [Format.LAYER, Format.SPLIT]
    assert Format.IMAGE.files == ()


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


def _wheel(root: Path, name: str, *tags: str) -> None:
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "WHEEL").write_text("Wheel-Version: 1.0\n" + "".join(f"Tag: {tag}\n" for tag in tags))


@pytest.mark.parametrize(
    ("tags", "runtime", "arch", "ok"),
    [
        (["py3-none-any"], "python3.11", "x86_64", True),
        (["cp313-cp313-manylinux_2_34_x86_64"], "python3.13", "x86_64", True),
        (["cp313-cp313-manylinux_2_34_x86_64"], "python3.13", "arm64", False),
        (["cp311-cp311-manylinux_2_28_x86_64"], "python3.11", "x86_64", False),  # glibc 2.26
        (
            ["cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"],
            "python3.11",
            "x86_64",
            True,
        ),
        (["cp312-cp312-manylinux_2_17_aarch64"], "python3.13", "arm64", False),  # other CPython
        (["cp39-abi3-manylinux_2_17_aarch64"], "python3.13", "arm64", True),
        (["cp313-cp313-linux_x86_64"], "python3.13", "x86_64", False),
        (["cp313-cp313-macosx_11_0_arm64"], "python3.13", "arm64", False),
        (["cp313-cp313-musllinux_1_2_x86_64"], "python3.13", "x86_64", False),
    ],
)
def test_wheel_tag_rules(tmp_path: Path, tags: list[str], runtime: str, arch: str, ok: bool) -> None:
    _wheel(tmp_path, "pkg", *tags)
    target = Target(get_runtime(runtime), get_architecture(arch))
    if ok:
        check_wheel_tags(tmp_path, target)
    else:
        with pytest.raises(VerificationError, match="pkg"):
            check_wheel_tags(tmp_path, target)


def test_real_host_binary_needs_newer_glibc_than_amazon_linux_2(tmp_path: Path) -> None:
    # This machine's /bin/ls links against glibc 2.34+ (Debian 12): fine on AL2023, not on AL2.
    binary = tmp_path / "tool" / "ls"
    binary.parent.mkdir()
    shutil.copy("/bin/ls", binary)
    info = read_elf(binary)
    assert info.machine == 62 and info.needed_glibc is not None and info.needed_glibc > (2, 26)
    with pytest.raises(VerificationError, match=r"needs GLIBC_2\.\d+, but python3.11"):
        check_binaries(tmp_path, Target(get_runtime("python3.11"), Architecture.X86_64))
    with pytest.raises(VerificationError, match="built for x86_64, not aarch64"):
        check_binaries(tmp_path, Target(get_runtime("python3.13"), Architecture.ARM64))


def test_extension_for_another_python_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mod.cpython-312-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    with pytest.raises(VerificationError, match="another Python"):
        check_binaries(tmp_path, Target(get_runtime("python3.13"), Architecture.X86_64))
    (tmp_path / "mod.cpython-312-x86_64-linux-gnu.so").unlink()
    (tmp_path / "mod.cpython-313-darwin.so").write_bytes(b"\xcf\xfa\xed\xfe")
    with pytest.raises(VerificationError, match="macOS"):
        check_binaries(tmp_path, Target(get_runtime("python3.13"), Architecture.X86_64))


def test_editable_pth_is_refused(tmp_path: Path) -> None:
    (tmp_path / "_library.pth").write_text("/home/me/project/library/src\n")
    with pytest.raises(VerificationError, match="editable install"):
        check_no_build_paths(tmp_path, [Path("/home/me/project")])


def test_archive_splicing_is_byte_identical_to_direct_compression(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "a.py").write_text("x = 1\n" * 500)
    (tree / "pkg" / "blob.bin").write_bytes(bytes(range(256)) * 10)
    (tree / "run.sh").write_text("#!/bin/sh\n")
    (tree / "run.sh").chmod(0o700)
    sources = [archive.SourceFile(p.relative_to(tree).as_posix(), p) for p in sorted(tree.rglob("*")) if p.is_file()]
    direct = tmp_path / "direct.zip"
    archive.write_archive(direct, archive.compress_files(sources, tmp_path / "scratch.bin"))
    spliced = tmp_path / "spliced.zip"
    archive.write_archive(spliced, archive.read_entries(direct))
    assert direct.read_bytes() == spliced.read_bytes()
    prefixed = tmp_path / "prefixed.zip"
    archive.write_archive(prefixed, archive.with_prefix(archive.read_entries(direct), "python/"))
    with zipfile.ZipFile(prefixed) as handle:
        assert handle.testzip() is None
        assert handle.read("python/pkg/a.py") == (tree / "pkg" / "a.py").read_bytes()
        assert handle.getinfo("python/run.sh").external_attr >> 16 == 0o100755
        assert handle.getinfo("python/pkg/a.py").external_attr >> 16 == 0o100644


def test_archive_on_a_base_keeps_the_base_bytes_and_merges_on_collision(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "lib").mkdir(parents=True)
    (tree / "lib" / "x.py").write_text("x = 1\n")
    (tree / "app").mkdir()
    (tree / "app" / "main.py").write_text("print('app')\n")
    base = tmp_path / "base.zip"
    archive.write_archive(
        base, archive.compress_files([archive.SourceFile("lib/x.py", tree / "lib" / "x.py")], tmp_path / "b")
    )
    app = archive.compress_files([archive.SourceFile("app/main.py", tree / "app" / "main.py")], tmp_path / "a")
    combined = tmp_path / "combined.zip"
    archive.write_archive(combined, app, base=base)
    base_bytes = base.read_bytes()
    central_offset = int.from_bytes(base_bytes[-6:-2], "little")
    assert combined.read_bytes()[:central_offset] == base_bytes[:central_offset]
    with zipfile.ZipFile(combined) as handle:
        assert handle.testzip() is None
        assert handle.namelist() == ["lib/", "lib/x.py", "app/", "app/main.py"]
    override = archive.compress_files([archive.SourceFile("lib/x.py", tree / "app" / "main.py")], tmp_path / "o")
    merged = tmp_path / "merged.zip"
    archive.write_archive(merged, override, base=base)
    with zipfile.ZipFile(merged) as handle:
        assert handle.namelist() == ["lib/", "lib/x.py"] and handle.read("lib/x.py") == b"print('app')\n"
