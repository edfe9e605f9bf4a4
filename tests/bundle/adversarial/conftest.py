"""Fixtures of the build attacks only: clean reference builds of the victim project and a
cache they warmed (build_attack.py holds the victim and the checks)."""

from __future__ import annotations

import pytest
from build_attack import MAIN_A, MAIN_B, BuildReference, assert_clean_run, make_victim, write_template


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
