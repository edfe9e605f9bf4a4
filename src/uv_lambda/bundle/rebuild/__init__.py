"""The app-only rebuild: the build record and the fast path that reads it.

`uv-lambda build` after an edit of application code runs in less time than argparse, logging,
dataclasses or the configuration take to import, so `cli/__init__.py` asks this fast path
(through `cli/_rebuild.py`) before it imports any of them. record_file.py finds the record,
chooses the application files again and starts the target interpreter's compiler;
incremental.py, imported while that compiler starts, does the rest.

What it imports is listed in tests/bundle/test_rebuild_imports.py, which fails on anything
else. The shared modules on that list (errors, ui, atomic, sealed, cache, proc, metadata_file,
bundle/bytecode.py, bundle/stage/sources.py, ...) stay light for it, and only they use these
start-up measures; every other module is ordinary Python:
- `TYPE_CHECKING = False` instead of `from typing import TYPE_CHECKING` in the modules loaded
  before the compiler starts (mypy reads the name as True): typing is imported later;
- plain classes with `__slots__` or NamedTuples instead of dataclasses (which import inspect);
- os.path and a small tree removal instead of pathlib and shutil: functions these modules
  share with the full build take `str | os.PathLike[str]` (a Path from the full build, a str
  here) and return str; debug output through `sys.modules.get("logging")`, since logging is
  never imported on this path.
"""
