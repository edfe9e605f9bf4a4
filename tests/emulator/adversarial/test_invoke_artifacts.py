"""Hostile and broken archives given to `invoke --artifact` / `--layer`: each is refused with
one line and a true hint before anything is unpacked, or (zip-slip) run without writing
outside the function's folder. The archive itself is never changed."""

from __future__ import annotations

import struct
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.local_run import HANDLER, ZIP_ARGS, Run, assert_no_scratch, assert_refused, digest, run, write_zip

from uv_lambda.emulator.unpack_checks import FILE_LIMIT, UNZIPPED_LIMIT

Entries = list[tuple[str, bytes | str]]


def invoke(tmp_path: Path, code: Path, *layers: Path) -> Run:
    layer_args = [arg for layer in layers for arg in ("--layer", str(layer))]
    before = [digest(path) for path in (code, *layers)]
    result = run("invoke", "--artifact", code, *ZIP_ARGS, *layer_args, tmp=tmp_path / "tmp")
    assert [digest(path) for path in (code, *layers)] == before  # the inputs are read, never changed
    return result


_APP = ("app.py", HANDLER)
# Entries a file system cannot hold, and what the error says about each.
_UNPLACEABLE: dict[str, tuple[Entries, list[str]]] = {
    "under-file": ([_APP, ("app.py/x", "y")], ["'app.py/x' under 'app.py'", "is a file"]),
    "dir-over-file": ([("a", "y"), ("a/", ""), _APP], ["folder entry 'a/'", "'a' is a file"]),
    "file-over-dir": ([("a/b", "y"), ("a", "z"), _APP], ["file entry 'a'", "'a' is a folder"]),
    "file-over-dir-entry": ([("pkg/", ""), ("pkg", "z"), _APP], ["file entry 'pkg'"]),
    "dot-parts": ([("x/./y", "1"), ("x/y/z", "2"), _APP], ["'x/y/z' under 'x/y'"]),
    "dotdot-file": ([("..", "y"), _APP], ["file entry '..' that names no file"]),
    "dot-file": ([("./.", "y"), _APP], ["file entry './.' that names no file"]),
    "long-name": ([("a" * 256, "y"), _APP], ["name part over 255 bytes"]),
}


@pytest.mark.parametrize("case", sorted(_UNPLACEABLE))
def test_entries_that_cannot_be_placed(tmp_path: Path, case: str) -> None:
    entries, needles = _UNPLACEABLE[case]
    code = write_zip(tmp_path / "code.zip", entries)
    assert_refused(invoke(tmp_path, code), 2, f"code zip {code}", *needles, hint="repack it without that entry")


@pytest.mark.parametrize(
    ("first", "second", "needles"),
    [
        pytest.param(
            [("python/", ""), ("python/lib.py", "x")],
            [("python", "a file over a folder")],
            ["layer", "file entry 'python'", "is a folder in", "one.zip"],
            id="file-over-folder",
        ),
        pytest.param(
            [("bin", "#!/bin/sh\n")],
            [("bin/tool", "x")],
            ["'bin/tool' under 'bin'", "which is a file in", "one.zip"],
            id="under-earlier-file",
        ),
    ],
)
def test_layers_that_conflict_with_earlier_layers(
    tmp_path: Path, first: Entries, second: Entries, needles: list[str]
) -> None:
    code = write_zip(tmp_path / "code.zip", [("app.py", HANDLER)])
    one = write_zip(tmp_path / "one.zip", first)
    two = write_zip(tmp_path / "two.zip", second)
    assert_refused(invoke(tmp_path, code, one, two), 2, f"layer {two}", *needles)


def test_a_later_layer_may_replace_a_file(tmp_path: Path) -> None:
    """As on Lambda, a later layer wins a conflict between files."""
    code = write_zip(tmp_path / "code.zip", [("app.py", "import lib\ndef handler(e, c):\n    return lib.NAME\n")])
    one = write_zip(tmp_path / "one.zip", [("python/lib.py", "NAME = 'one'\n")])
    two = write_zip(tmp_path / "two.zip", [("python/lib.py", "NAME = 'two'\n")])
    result = invoke(tmp_path, code, one, two)
    assert (result.returncode, result.stdout) == (0, '"two"'), result.stderr
    assert_no_scratch(result.tmp)


def _zeros_zip(path: Path, size: int, name: str = "data.bin", with_handler: bool = True) -> Path:
    """A small zip that unzips to `size` bytes of zeros (deflate makes it about size/1000)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        if with_handler:
            archive.writestr("app.py", HANDLER)
        block = bytes(1 << 20)
        with archive.open(name, "w", force_zip64=True) as sink:
            for _ in range(size // len(block)):
                sink.write(block)
            sink.write(bytes(size % len(block)))
    return path


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    half = UNZIPPED_LIMIT // 2 + 1024
    return {
        "over": _zeros_zip(folder / "over.zip", UNZIPPED_LIMIT + 1),
        "half-code": _zeros_zip(folder / "half-code.zip", half),
        "half-layer": _zeros_zip(folder / "half-layer.zip", half, name="python/data.bin", with_handler=False),
    }


def test_a_code_zip_over_250_mb_unzipped(tmp_path: Path, bombs: dict[str, Path]) -> None:
    result = invoke(tmp_path, bombs["over"])
    assert_refused(result, 2, "would unzip to", "over Lambda's limit of 262,144,000 bytes", hint="S3")


def test_code_and_layers_together_over_250_mb(tmp_path: Path, bombs: dict[str, Path]) -> None:
    """Each archive is under the limit; together they are over it, as Lambda counts."""
    result = invoke(tmp_path, bombs["half-code"], bombs["half-layer"])
    assert_refused(result, 2, "layer", "and the archives before it would unzip to", "262,144,000")


@pytest.mark.slow  # writes 100,000 entries
def test_more_entries_than_the_limit(tmp_path: Path) -> None:
    code = tmp_path / "many.zip"
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", HANDLER)
        for index in range(FILE_LIMIT):
            archive.writestr(zipfile.ZipInfo(f"d/{index}"), b"")
    assert_refused(invoke(tmp_path, code), 2, f"more than {FILE_LIMIT:,} entries")


@pytest.mark.parametrize("name", ["../../escaped.txt", "/escaped.txt", "a/../../../escaped.txt"])
def test_zip_slip_stays_inside(tmp_path: Path, name: str) -> None:
    """An entry that climbs out is written inside the function's folder (zipfile drops the
    `..` and `/` parts), and the function still runs."""
    code = write_zip(tmp_path / "a" / "b" / "code.zip", [(name, "gotcha"), ("app.py", HANDLER)])
    result = invoke(tmp_path, code)
    assert result.returncode == 0, result.stderr
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not Path("/escaped.txt").exists()
    assert_no_scratch(result.tmp)


def _flip_data_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    offset = data.index(b"def handler")
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-30])


def _not_a_zip(path: Path) -> None:
    path.write_text("this is not a zip\n")


def _broken_deflate(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", HANDLER * 50)
    data = bytearray(path.read_bytes())
    start = 30 + len("app.py")  # the deflate stream starts after the local header
    data[start : start + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))


def _unknown_method(path: Path) -> None:
    """Compression method 99 (WinZip AES), which zipfile cannot read."""
    data = bytearray(path.read_bytes())
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<H", data, local + 8, 99)
    struct.pack_into("<H", data, central + 10, 99)
    path.write_bytes(bytes(data))


Corruption = Callable[[Path], None]


@pytest.mark.parametrize(
    ("corrupt", "needle"),
    [
        pytest.param(_flip_data_byte, "bad CRC", id="bit-flip"),
        pytest.param(_truncate, "is not a valid zip file", id="truncated"),
        pytest.param(_not_a_zip, "is not a valid zip file", id="text"),
        pytest.param(_broken_deflate, "is not a valid zip file", id="broken-deflate"),
        pytest.param(_unknown_method, "is not a valid zip file", id="unknown-method"),
    ],
)
def test_unreadable_archives(tmp_path: Path, corrupt: Corruption, needle: str) -> None:
    code = write_zip(tmp_path / "code.zip", [("app.py", HANDLER)])
    corrupt(code)
    assert_refused(invoke(tmp_path, code), 2, needle, hint="rebuild it")


def test_an_encrypted_zip(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    code = tmp_path / "code.zip"
    subprocess.run(["zip", "-q", "-P", "secret", str(code), "app.py"], cwd=tmp_path / "src", check=True)
    assert_refused(invoke(tmp_path, code), 2, "is not a valid zip file", "encrypted")


def test_a_corrupt_layer(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "code.zip", [("app.py", HANDLER)])
    layer = write_zip(tmp_path / "layer.zip", [("python/x.py", "X = 1\n")])
    _truncate(layer)
    assert_refused(invoke(tmp_path, code, layer), 2, f"layer {layer} is not a valid zip file")


def test_a_missing_layer(tmp_path: Path) -> None:
    code = write_zip(tmp_path / "code.zip", [("app.py", HANDLER)])
    result = run("invoke", "--artifact", code, *ZIP_ARGS, "--layer", tmp_path / "nope.zip", tmp=tmp_path / "tmp")
    assert_refused(result, 2, "nope.zip does not exist", hint="layer zip")


def test_a_folder_as_artifact_that_is_no_build(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run("invoke", "--artifact", tmp_path / "empty", tmp=tmp_path / "tmp")
    assert_refused(result, 2, "no uv-lambda build in", hint="uv-lambda build")


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("{not json", id="not-json"),
        pytest.param("[]", id="a-list"),
        pytest.param('{"function": "x"}', id="missing-keys"),
        pytest.param("\xff\xfe", id="not-utf8"),
    ],
)
def test_malformed_metadata_beside_a_zip(tmp_path: Path, document: str) -> None:
    code = write_zip(tmp_path / "function.zip", [("app.py", HANDLER)])
    (tmp_path / "function.zip.json").write_bytes(document.encode("latin-1"))
    result = run("invoke", "--artifact", code, tmp=tmp_path / "tmp")
    assert_refused(result, 2, "function.zip.json is not uv-lambda metadata", hint="rebuild")
