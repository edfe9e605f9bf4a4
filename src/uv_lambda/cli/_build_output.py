"""What `uv-lambda build` prints about zip artifacts, from their metadata documents, and the
tree of `--format dir` and the like: shared by the full build (cli/build.py) and the app-only
rebuild (cli/_rebuild.py)."""

from __future__ import annotations

import os

from uv_lambda.ui import Reporter, human_size

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any


def unpack_into(documents: list[dict[str, Any]], name: str, folder: Path, reporter: Reporter) -> list[dict[str, Any]]:
    """Unpack the artifact `name` into `folder` (bundle/tree.py); its document then names
    the folder too. The tree is rewritten even when the zip is unchanged: a tool may have
    emptied or edited its folder since."""
    from pathlib import Path

    from uv_lambda.bundle import tree

    unpacked = []
    for document in documents:
        if os.path.basename(str(document["path"])) == name:
            count = tree.unpack(Path(str(document["path"])), folder)
            reporter.info(f"  {folder}  {count} files unpacked from {name}")
            document = {**document, "directory": str(folder.resolve())}
        unpacked.append(document)
    return unpacked


def report_artifacts(documents: list[dict[str, Any]], reporter: Reporter) -> None:
    """One line per artifact ({"path": ..., **metadata}), then the largest packages."""
    for document in documents:
        reporter.info(
            f"  {document['path']}  {human_size(document['size'])} zipped, "
            f"{human_size(document['unzipped_size'])} unzipped, {document['file_count']} files, "
            f"{document['runtime']} {document['architecture']}"
        )
    packages = [p for p in documents[0].get("packages", []) if p.get("size")]
    largest = sorted(packages, key=lambda p: p["size"], reverse=True)[:5]
    if largest:
        reporter.info("  largest packages: " + ", ".join(f"{p['name']} {human_size(p['size'])}" for p in largest))
