"""Fixtures for the adversarial suite: tests that attack uv-lambda as a careless user or an
attacker would (bad input, hostile files, corrupt caches, crashes and races)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from build_attack import MAIN_A, MAIN_B, Victim, assert_clean_run, make_victim, write_template


@dataclass(frozen=True)
class BuildReference:
    """Artifacts of clean builds of the victim project, and a cache warmed by them."""

    template: Path  # the locked project
    cache: Path  # a cache holding its packages, set and layer archive
    artifacts: dict[tuple[str, str], dict[str, bytes]]  # (layout, "A"/"B") -> name -> bytes

    def victim(self, folder: Path, *, warm: bool = True) -> Victim:
        return make_victim(folder, self.template, self.cache if warm else None)


@pytest.fixture(scope="session")
def build_reference(tmp_path_factory: pytest.TempPathFactory) -> BuildReference:
    root = tmp_path_factory.mktemp("build-reference")
    template = write_template(root / "template")
    artifacts: dict[tuple[str, str], dict[str, bytes]] = {}
    cache = None
    for layout in ("zip", "split"):
        for version, main in (("A", MAIN_A), ("B", MAIN_B)):
            # Each from a clean build: its own folder, an empty cache.
            victim = make_victim(root / f"{layout}-{version}", template)
            victim.edit(main)
            assert_clean_run(victim.build("--format", layout))
            artifacts[layout, version] = victim.artifacts(layout)
            if layout == "split" and version == "A":
                zip_first = make_victim(root / "warm", template)
                assert_clean_run(zip_first.build())
                assert_clean_run(zip_first.build("--format", "split"))
                cache = zip_first.cache
    assert cache is not None
    return BuildReference(template, cache, artifacts)
