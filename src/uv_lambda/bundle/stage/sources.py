"""Choose the application files that go into an artifact, and check them: the one
implementation every build path uses (the full pipeline, and the app-only rebuild of
bundle/rebuild/record_file.py, which runs it before the rest of uv-lambda is imported).

What is chosen: the files matched by the include globs (default: the top-level packages and
modules), less `exclude`, caches, bytecode, the build's own output folders and secrets.
Every chosen file and every folder above it is resolved: a link may point anywhere inside
the project (its target's bytes ship under the link's name), never outside it, and never at
a secret-looking file, whatever the link's own name. Such links are left out with a
warning, or refused with `strict = true`.

Import-light on purpose (os and stat; fnmatch and pathlib only when a pattern needs them):
an app-only rebuild calls this before its compiler starts. Hence plain classes, no typing.
"""

from __future__ import annotations

import os
import stat

from uv_lambda.bundle.stage.never_shipped import NEVER_SHIPPED_DIRS, NEVER_SHIPPED_SUFFIXES
from uv_lambda.errors import ConfigError, VerificationError
from uv_lambda.limits import UNZIPPED_LIMIT, ZIP_UPLOAD_LIMIT

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bundle/rebuild/__init__.py
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any, TypedDict, Unpack

    class RuleFields(TypedDict, total=False):
        """The fields of Rules besides its root, each given by name."""

        boundary: str | None
        includes: Sequence[str]
        excludes: Sequence[str]
        handler_module: str | None
        provided: Sequence[str]
        never_inputs: Sequence[str]
        strict: bool


# Left out by default when no `include` is configured: not code a function runs.
NOT_APPLICATION_DIRS = {
    "tests",
    "test",
    "docs",
    "doc",
    "examples",
    "build",
    "dist",
    "scripts",
    "bench",
    "benchmarks",
}
NOT_APPLICATION_FILES = {"setup.py", "conftest.py", "noxfile.py", "fabfile.py", "tasks.py"}
SECRET_PATTERNS = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_ed25519*",
    "id_ecdsa*",
    "*.p12",
    "*.pfx",
    ".netrc",
    ".pypirc",
    "credentials",
)
SECRET_FOLDERS = frozenset({".aws", ".ssh", ".gnupg"})
_GLOB_CHARACTERS = frozenset("*?[")
_LISTED = 10  # the largest items an over-size error names


def _split_patterns(patterns: Sequence[str]) -> tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]:
    """(exact names, prefixes, suffixes) of patterns that are a name with at most one `*` at
    an end: matched with str methods, since `re` would cost a rebuild's start-up its import."""
    exact, prefixes, suffixes = set(), [], []
    for pattern in patterns:
        if pattern.endswith("*"):
            prefixes.append(pattern[:-1])
        elif pattern.startswith("*"):
            suffixes.append(pattern[1:])
        else:
            exact.add(pattern)
    return frozenset(exact), tuple(prefixes), tuple(suffixes)


_SECRET_NAMES, _SECRET_PREFIXES, _SECRET_SUFFIXES = _split_patterns(SECRET_PATTERNS)


def secret_name(name: str) -> bool:
    """A file name that looks like credentials (SECRET_PATTERNS)."""
    return name in _SECRET_NAMES or name.startswith(_SECRET_PREFIXES) or name.endswith(_SECRET_SUFFIXES)


def looks_secret(relative: str) -> bool:
    """A path ("/"-separated) whose name or folders look like credentials."""
    parts = relative.split("/")
    return secret_name(parts[-1]) or bool(SECRET_FOLDERS.intersection(parts))


def check_pattern(pattern: str) -> str | None:
    """Why an include/exclude glob cannot be used (None when it can): each must stay inside
    the project, so no absolute path and no `..` part."""
    if not pattern.strip():
        return "an empty pattern"
    if pattern.startswith(("/", "\\", "~")) or (pattern[:1].isalpha() and pattern[1:3] in (":/", ":\\")):
        return f"{pattern!r} is absolute"
    if ".." in pattern.replace("\\", "/").split("/"):
        return f"{pattern!r} leaves the project (..)"
    return None


def default_includes(root: str | os.PathLike[str]) -> list[str]:
    """Top-level packages (folders with __init__.py) and modules, minus tests, docs and tools."""
    includes = []
    with os.scandir(root) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.is_dir():
                if entry.name not in NOT_APPLICATION_DIRS and os.path.isfile(os.path.join(entry.path, "__init__.py")):
                    includes.append(entry.name)
            elif entry.name.endswith(".py") and entry.name not in NOT_APPLICATION_FILES and entry.is_file():
                includes.append(entry.name)
    return includes


def module_file(module: str, root: str | os.PathLike[str]) -> str | None:
    """The file of a dotted module under `root` (`a/b.py` or `a/b/__init__.py`), if it is there."""
    relative = os.path.join(*module.split("."))
    for candidate in (relative + ".py", os.path.join(relative, "__init__.py")):
        path = os.path.join(root, candidate)
        if os.path.isfile(path):
            return path
    return None


def project_entry(module: str, root: str | os.PathLike[str] | None) -> str | None:
    """The top-level entry of the project that holds `module`, if its file is there."""
    if root is None or module_file(module, root) is None:
        return None
    top = module.split(".")[0]
    return top if os.path.isdir(os.path.join(root, top)) else f"{top}.py"


def application_includes(
    root: str, configured: Sequence[str], handler_module: str | None, provided: Iterable[str]
) -> tuple[list[str], bool]:
    """(the include globs, whether the default was widened for the handler).

    `configured`: the `include` setting (empty for the default: the top-level packages and
    modules, less the names a local package installs (`provided`), plus the folder or module
    that holds the handler, e.g. a namespace `app/` or `main.py` next to a packaged `src/`).
    """
    if configured:
        return list(configured), False
    installed = set(provided)
    defaults = default_includes(root)
    includes = [name for name in defaults if name not in installed]
    entry = project_entry(handler_module, root) if handler_module else None
    if entry is not None and entry not in includes and entry not in installed:
        includes = sorted([*includes, entry])
    return includes, includes != defaults


class Rules:
    """What decides the selection; a build record keeps it (as_json) for the next rebuild."""

    __slots__ = ("boundary", "excludes", "handler_module", "includes", "never_inputs", "provided", "root", "strict")

    def __init__(self, root: str, **fields: Unpack[RuleFields]) -> None:
        unknown = set(fields).difference(self.__slots__)
        if unknown:  # a record of another version: its rules are not these (record_file.py)
            raise TypeError(f"unknown rules: {', '.join(sorted(unknown))}")
        boundary = fields.get("boundary")
        self.root = os.path.realpath(root)  # the folder files are chosen from
        self.boundary = os.path.realpath(boundary or root)  # the project: no link leaves it
        self.includes = list(fields.get("includes", ()))  # the `include` setting; empty for the default
        self.excludes = list(fields.get("excludes", ()))
        self.handler_module = fields.get("handler_module")
        self.provided = list(fields.get("provided", ()))  # top-level names installed by local packages
        # The build's output folders
        self.never_inputs = [os.path.realpath(folder) for folder in fields.get("never_inputs", ())]
        self.strict = fields.get("strict", False)

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Rules:
        document = dict(document)
        return cls(document.pop("root"), **document)


class Chosen:
    """One application file: its name in the archive, the file it comes from, size and mode."""

    __slots__ = ("mode", "name", "path", "size", "stamp")

    def __init__(self, name: str, path: str, status: os.stat_result) -> None:
        self.name = name
        self.path = path  # in the project; a link inside the project ships its target's bytes
        self.size = status.st_size
        self.mode = 0o755 if status.st_mode & stat.S_IXUSR else 0o644  # as archive.normalised_mode
        # What changes whenever the file's bytes do (ctime cannot be set back, unlike mtime):
        # a build record compares it before hashing the file (see incremental.py).
        self.stamp = [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino]


class Selection:
    """The chosen files (sorted by name) and what was left out with a warning."""

    __slots__ = ("files", "left_out")

    def __init__(self, files: list[Chosen], left_out: list[tuple[str, str]]) -> None:
        self.files = files
        self.left_out = left_out  # (archive name, why), sorted

    @property
    def warnings(self) -> list[str]:
        return [f"left out {name}: {why} (add it to `exclude` to silence this)" for name, why in self.left_out]

    def names(self) -> list[str]:
        return [chosen.name for chosen in self.files]


class _Walk:
    """One selection in progress (see select_application_files)."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.chosen: dict[str, Chosen] = {}
        self.left_out: dict[str, str] = {}
        self._inside_prefix = rules.boundary.rstrip("/") + "/"

    def inside(self, real: str) -> bool:
        return real == self.rules.boundary or real.startswith(self._inside_prefix)

    def is_output(self, real: str) -> bool:
        return any(real == folder or real.startswith(folder + "/") for folder in self.rules.never_inputs)

    def excluded(self, relative: str) -> bool:
        """Whether `exclude` matches the path or one of its folders."""
        if not self.rules.excludes:
            return False
        import fnmatch

        parts = relative.split("/")
        candidates = ["/".join(parts[:depth]) for depth in range(len(parts), 0, -1)]
        return any(fnmatch.fnmatch(candidate, pattern) for pattern in self.rules.excludes for candidate in candidates)

    def refuse_or_leave_out(self, relative: str, why: str, hint: str) -> None:
        if self.rules.strict:
            raise ConfigError(f"{relative}: {why}, refused (strict = true)", hint)
        self.left_out[relative] = why

    def link_target_ok(self, relative: str, link: str, real: str) -> bool:
        """Whether a link (`link`, on the way to `relative`) may be followed to `real`."""
        if not self.inside(real):
            self.refuse_or_leave_out(
                relative,
                f"{link} is a link to {real}, outside the project",
                f"copy what {link} points to into the project, or leave it out with exclude",
            )
            return False
        shown = os.path.relpath(real, self.rules.boundary)
        hidden = NEVER_SHIPPED_DIRS.intersection(shown.split("/")) - SECRET_FOLDERS
        if hidden:  # what never ships (.git's config, a virtualenv) does not ship through a link either
            self.refuse_or_leave_out(
                relative,
                f"{link} is a link into {min(hidden)}/ ({shown}), which is never shipped",
                f"leave {relative} out with exclude, or copy the file it points to into the project",
            )
            return False
        if looks_secret(shown):
            self.refuse_or_leave_out(
                relative,
                f"{link} is a link to {shown}, which looks like a secret",
                f"leave {relative} out with exclude, or point the link at a file that holds no secret",
            )
            return False
        return True

    def add_file(self, relative: str, name: str, path: str, status: os.stat_result) -> None:
        """A file found at `relative` (whose last part is `name`); `status` follows links."""
        if not stat.S_ISREG(status.st_mode) or name.endswith(NEVER_SHIPPED_SUFFIXES):
            return
        if secret_name(name):
            self.refuse_or_leave_out(relative, "it looks like a secret", f"leave {relative} out with exclude")
            return
        self.chosen[relative] = Chosen(relative, path, status)

    def add(self, relative: str) -> None:
        """Add what the include pattern matched at `relative`: a file or a folder's tree."""
        parts = relative.split("/")
        if NEVER_SHIPPED_DIRS.intersection(parts) or SECRET_FOLDERS.intersection(parts) or self.excluded(relative):
            return
        path = os.path.join(self.rules.root, *parts)
        real = os.path.realpath(path)
        if real != path:  # a link on the way: the first one is what the warning names
            link = next(
                "/".join(parts[:depth])
                for depth in range(1, len(parts) + 1)
                if os.path.islink(os.path.join(self.rules.root, *parts[:depth]))
            )
            if not self.link_target_ok(relative, link, real):
                return
        if self.is_output(real):
            return
        try:
            status = os.stat(real)
        except OSError:
            return  # a dangling link: nothing to ship
        if stat.S_ISDIR(status.st_mode):
            self.walk(relative, path, real, {real})
        else:
            self.add_file(relative, parts[-1], path, status)

    def walk(self, relative: str, path: str, real: str, ancestors: set[str]) -> None:
        """Every file under the folder `path` (resolved: `real`). Links are followed inside
        the project, but never into a folder that holds them (a cycle)."""
        try:
            with os.scandir(path) as iterator:
                entries = sorted(iterator, key=lambda e: e.name)
        except OSError as exc:
            raise VerificationError(
                f"cannot read the folder {relative}: {exc.strerror}",
                f'fix its permissions, or leave it out with exclude = ["{relative}"]',
            ) from None
        excludes = bool(self.rules.excludes)
        for entry in entries:
            name = entry.name
            if name in NEVER_SHIPPED_DIRS:
                continue
            child = f"{relative}/{name}"
            if excludes and self.excluded(child):
                continue
            try:
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if not self.link_target_ok(child, child, target):
                        continue
                    status = os.stat(target)
                else:
                    target = f"{real}/{name}"
                    status = entry.stat()
            except OSError:
                continue  # a dangling link, or a file removed meanwhile
            if stat.S_ISDIR(status.st_mode):
                if target not in ancestors and not self.is_output(target):
                    self.walk(child, entry.path, target, ancestors | {target})
            else:
                self.add_file(child, name, entry.path, status)


def _matches_of(root: str, pattern: str) -> list[str]:
    """The relative names an include pattern picks under `root` (pathlib's glob rules)."""
    if not _GLOB_CHARACTERS.intersection(pattern):
        relative = "/".join(part for part in pattern.split("/") if part not in ("", "."))
        if not relative:  # "." is the whole folder: each of its entries
            return sorted(os.listdir(root))
        return [relative] if os.path.lexists(os.path.join(root, relative)) else []
    from pathlib import Path

    base = Path(root)
    found = []
    for match in sorted(base.glob(pattern)):
        relative = match.relative_to(base).as_posix()
        found += sorted(os.listdir(root)) if relative == "." else [relative]
    return found


def select_application_files(rules: Rules) -> Selection:
    """The application files `rules` choose. Raises ConfigError for a refused link (strict)."""
    walk = _Walk(rules)
    includes, _ = application_includes(rules.root, rules.includes, rules.handler_module, rules.provided)
    for pattern in includes:
        reason = check_pattern(pattern)
        if reason is not None:  # validated with the configuration already; never trusted here
            raise ConfigError(f"include {reason}", "patterns name files inside the project")
        for relative in _matches_of(rules.root, pattern):
            walk.add(relative)
    files = [walk.chosen[name] for name in sorted(walk.chosen)]
    return Selection(files, sorted(walk.left_out.items()))


def check_unzipped_size(total: int, items: Iterable[tuple[str, int]]) -> None:
    """Lambda's 250 MB limit on function + layers unzipped; the error names the largest
    packages and application files (`items`: (name, bytes))."""
    if total <= UNZIPPED_LIMIT:
        return
    from uv_lambda.ui import human_size

    largest = sorted((item for item in items if item[1]), key=lambda item: item[1], reverse=True)[:_LISTED]
    listing = ", ".join(f"{name} {human_size(size)}" for name, size in largest)
    raise VerificationError(
        f"the function would be {human_size(total)} unzipped, over Lambda's 250 MB limit (largest: {listing})",
        "leave large files out with exclude, drop packages with exclude-packages, "
        "or build a container image (--format image)",
    )


def check_selection(
    selection: Selection, *, installed_size: int, packages: Iterable[tuple[str, int]], ships_application: bool
) -> None:
    """The checks a selection must pass before any of its files is read: its size with what
    is installed beside it (dependencies, local packages), against Lambda's limit."""
    if not ships_application:
        return
    application = sum(chosen.size for chosen in selection.files)
    if installed_size + application > UNZIPPED_LIMIT:
        check_unzipped_size(
            installed_size + application, [*packages, *((chosen.name, chosen.size) for chosen in selection.files)]
        )


def upload_warning(name: str, size: int) -> str | None:
    """The warning for a zip over Lambda's direct-upload limit (deploy then goes through S3)."""
    if size <= ZIP_UPLOAD_LIMIT:
        return None
    from uv_lambda.ui import human_size

    return f"{name} is {human_size(size)}, over the 50 MB direct upload limit: deploy will upload it through S3"
