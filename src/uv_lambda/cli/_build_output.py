"""What `uv-lambda build` prints about zip artifacts, from their metadata documents."""

from __future__ import annotations

from typing import Any

from uv_lambda.ui import Reporter, human_size


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
