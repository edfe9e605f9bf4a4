"""Damaged cache entries of every kind (a flipped bit, a truncation, an empty file, a valid
seal over the wrong shape): the next build treats each as a miss, rebuilds it, and writes
exactly the bytes of a clean build; the cache is sound afterwards and no scratch is left."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from build_attack import (
    MAIN_B,
    BuildReference,
    Victim,
    assert_clean_run,
    assert_nothing_half_written,
    damaged_entries,
    flip,
    truncate,
)

from uv_lambda import sealed
from uv_lambda.uv import find_uv

pytestmark = pytest.mark.slow


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _wrong_shape(path: Path) -> None:
    """A correctly sealed document of the wrong shape: the seal alone must not be trusted."""
    path.write_bytes(sealed.dumps(["not", "what", "was", "stored"]))


def _unsealed(path: Path) -> None:
    """The JSON without its seal (what an older uv-lambda, or a hand edit, leaves)."""
    body = path.read_bytes().rpartition(b"\nsha256:")[0]
    path.write_bytes(body or b"{}")


def _garbage_json(path: Path) -> None:
    path.write_text(json.dumps({"version": 3, "files": 7}))


Damage = Callable[[Path], None]
BINARY: dict[str, Damage] = {"flip": flip, "flip-end": lambda p: flip(p, 0.999), "truncate": truncate, "empty": _empty}
DOCUMENT: dict[str, Damage] = {
    "flip": flip,
    "truncate": truncate,
    "wrong-shape": _wrong_shape,
    "unsealed": _unsealed,
    "garbage": _garbage_json,
}

# entry kind -> (glob below the cache, layout built, whether the set must be rebuilt to use it)
ENTRIES: dict[str, tuple[str, str, bool, dict[str, Damage]]] = {
    "set-archive": ("sets/*/dependencies.zip", "zip", False, BINARY),
    "set-info": ("sets/*/info.json", "zip", False, DOCUMENT),
    "layer-archive": ("sets/*/layer-*.zip", "split", False, BINARY),
    "layer-digest": ("sets/*/layer-*.json", "split", False, DOCUMENT),
    "package-archive": ("packages/*/files.zip", "zip", True, BINARY),
    "package-info": ("packages/*/info.json", "zip", True, DOCUMENT),
    "export": ("exports/*.json", "zip", False, DOCUMENT),
    "build-record": ("rebuild/*.json", "zip", False, DOCUMENT),
    "record-archive": ("rebuild/*.zip", "zip", False, BINARY),
    "command-pointer": ("rebuild/commands/*.json", "zip", False, DOCUMENT),
    "uv-version-memo": ("memo/uv-version-*", "zip", False, DOCUMENT),
    "interpreter-memo": ("memo/python-*", "zip", False, DOCUMENT),
}

CASES = [
    pytest.param(kind, damage_name, id=f"{kind}-{damage_name}")
    for kind, (_, _, _, damages) in ENTRIES.items()
    for damage_name in damages
]


@pytest.fixture(scope="module")
def unbundled_uv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the uv binary outside its wheel: its version is asked for and remembered
    (memo/uv-version-*), where the wheel's own binary's is read from the wheel's RECORD."""
    copy = tmp_path_factory.mktemp("uv") / "uv"
    shutil.copy2(find_uv().path, copy)
    return copy


def _prepared(reference: BuildReference, tmp_path: Path, layout: str, uv: Path | None = None) -> Victim:
    """A victim built once (so its build record exists), then edited to version B; with
    `uv`, every build of it runs that binary (UV_LAMBDA_UV)."""
    victim = reference.victim(tmp_path)
    if uv is not None:
        victim.extra_env["UV_LAMBDA_UV"] = str(uv)
    first = victim.build("--format", layout)
    assert_clean_run(first)
    assert victim.artifacts(layout) == reference.artifacts[layout, "A"]
    victim.edit(MAIN_B)
    return victim


@pytest.mark.parametrize(("kind", "damage_name"), CASES)
def test_a_damaged_cache_entry_is_a_miss(
    build_reference: BuildReference, unbundled_uv: Path, tmp_path: Path, kind: str, damage_name: str
) -> None:
    pattern, layout, drop_set, damages = ENTRIES[kind]
    victim = _prepared(build_reference, tmp_path, layout, unbundled_uv if kind == "uv-version-memo" else None)
    targets = sorted(victim.cache.glob(pattern))
    assert targets, f"no {pattern} in the cache"
    for target in targets:
        damages[damage_name](target)
    if drop_set:  # a package archive is read only when a set is spliced from it
        for info in victim.cache.glob("sets/*/info.json"):
            info.unlink()

    # The same command line (the app-only path when its record is sound), then a full
    # build (-v skips that path), which reads every entry of this build.
    for args in ((), ("-v",)):
        rebuilt = victim.build(*args, "--format", layout)
        assert_clean_run(rebuilt)
        assert victim.artifacts(layout) == build_reference.artifacts[layout, "B"]
        assert_nothing_half_written(victim)
    assert damaged_entries(victim.cache) == []
    # What was rebuilt is trusted: no second miss.
    again = victim.build("-v", "--format", layout)
    assert_clean_run(again)
    assert "damaged cache entry" not in again.stderr, again.stderr
    assert victim.artifacts(layout) == build_reference.artifacts[layout, "B"]


@pytest.mark.parametrize(
    ("pattern", "damage"),
    [
        pytest.param("sets/*/dependencies.zip", flip, id="set-archive"),
        pytest.param("exports/*.json", truncate, id="export"),
        pytest.param("memo/uv-version-*", flip, id="memo"),
    ],
)
def test_a_miss_is_one_line_at_verbose(
    build_reference: BuildReference, unbundled_uv: Path, tmp_path: Path, pattern: str, damage: Damage
) -> None:
    victim = _prepared(build_reference, tmp_path, "zip", unbundled_uv if pattern.startswith("memo/") else None)
    (target,) = victim.cache.glob(pattern)
    damage(target)
    rebuilt = victim.build("-v")
    assert_clean_run(rebuilt)
    lines = [line for line in rebuilt.stderr.splitlines() if "damaged cache entry" in line]
    assert len(lines) == 1, rebuilt.stderr
    assert str(target.parent if pattern.startswith("sets/") else target) in lines[0] or str(target) in lines[0]
    assert victim.artifacts("zip") == build_reference.artifacts["zip", "B"]


def test_a_corrupt_set_is_rebuilt_by_a_full_build_too(build_reference: BuildReference, tmp_path: Path) -> None:
    """Not only the app-only path: a full build (-v skips that path) copies the set while
    checking it, and does not ship a bad CRC."""
    victim = build_reference.victim(tmp_path)
    for archive in victim.cache.glob("sets/*/dependencies.zip"):
        flip(archive, 0.3)
    rebuilt = victim.build("-v")
    assert_clean_run(rebuilt)
    assert victim.artifacts("zip") == build_reference.artifacts["zip", "A"]
    assert damaged_entries(victim.cache) == []


def test_the_unpacked_set_for_images_is_checked_on_use(
    build_reference: BuildReference, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Image builds read the set as a folder: a file changed there is unpacked again, and an
    archive that fails its digest is a damaged entry (which the build drops and remakes)."""
    from uv_lambda.bundle.install.dependencies import _load_set
    from uv_lambda.errors import DamagedCacheEntry

    victim = build_reference.victim(tmp_path)
    monkeypatch.setenv("UV_LAMBDA_CACHE_DIR", str(victim.cache))
    (folder,) = victim.cache.glob("sets/*")
    loaded = _load_set(folder, folder.name)
    assert loaded is not None
    site_packages = loaded.site_packages
    six = site_packages / "six.py"
    original = six.read_bytes()
    six.write_bytes(original + b"\nimport os; os.system('echo poisoned')\n")
    assert (loaded.site_packages / "six.py").read_bytes() == original
    flip(loaded.archive)
    (site_packages / "six.py").unlink()
    with pytest.raises(DamagedCacheEntry):
        loaded.site_packages  # noqa: B018 (the property unpacks)
