"""The resolved function model: formats and the artifacts each one makes (model.py, artifact.py)."""

from __future__ import annotations

from uv_lambda.model import Format


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
