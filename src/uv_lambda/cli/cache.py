"""`uv-lambda cache dir` and `uv-lambda cache clean`: where the cache is, and emptying it."""

from __future__ import annotations

import argparse
import contextlib

from uv_lambda.cli._common import HelpFormatter
from uv_lambda.ui import Reporter, human_size, result

ORDER = 70

DESCRIPTION = """\
uv-lambda keeps reusable work in one folder: UV_LAMBDA_CACHE_DIR if set, else
$XDG_CACHE_HOME/uv-lambda, else ~/.cache/uv-lambda. Every entry carries a digest of its
content and a damaged one is rebuilt, so cleaning is never needed for correctness; it
frees space. uv's own cache (`uv cache dir`) is separate and left alone.

examples:
  uv-lambda cache dir            # print the folder
  uv-lambda cache dir --verbose  # and what each subfolder holds, with sizes
  uv-lambda cache clean          # remove everything uv-lambda cached"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "cache",
        parents=[common],
        help="show or clean uv-lambda's cache",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    where = actions.add_parser("dir", parents=[common], help="print the cache folder")
    where.set_defaults(handler=show)
    clean = actions.add_parser(
        "clean", parents=[common], help="remove everything uv-lambda cached (a later build fills it again)"
    )
    clean.set_defaults(handler=clean_cache)


def show(args: argparse.Namespace, reporter: Reporter) -> int:
    from uv_lambda.cache import FOLDERS, cache_root

    root = cache_root()
    result(str(root))
    if args.verbose:
        for name, what in FOLDERS.items():
            size = _size(root / name)
            reporter.info(f"  {name + '/':<10} {human_size(size):>8}  {what}")
    return 0


def clean_cache(args: argparse.Namespace, reporter: Reporter) -> int:
    from uv_lambda.cache import FOLDERS, cache_root, remove

    root = cache_root()
    freed = 0
    for name in FOLDERS:
        folder = root / name
        if folder.exists():
            freed += _size(folder)
            remove(folder)
    with contextlib.suppress(OSError):
        root.rmdir()  # only when nothing else is there
    reporter.info(f"removed {root} ({human_size(freed)})")
    return 0


def _size(folder: object) -> int:
    import os

    total = 0
    for parent, _, files in os.walk(str(folder)):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(parent, name)).st_size
    return total
