"""Find the uv project, its workspace and its functions on disk."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uv_lambda.config import FunctionConfig, function_configs
from uv_lambda.errors import ConfigError


def normalize_name(name: str) -> str:
    """PEP 503 name normalisation: "My_Package" -> "my-package"."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Package:
    """One pyproject.toml with a [project] table: the root or a workspace member.

    A virtual workspace root (only [tool.uv.workspace], no [project]) is a Package too, named
    after its folder, with `is_virtual_root` set: it holds configuration, never code.
    """

    name: str  # normalised
    path: Path
    pyproject: dict[str, Any]

    @property
    def is_virtual_root(self) -> bool:
        return "project" not in self.pyproject

    @property
    def is_packaged(self) -> bool:
        """Whether uv builds and installs the project (else it is virtual: never built, never
        exported): `[tool.uv] package` when set, otherwise whether it has a [build-system]."""
        package = self.pyproject.get("tool", {}).get("uv", {}).get("package")
        return package if isinstance(package, bool) else "build-system" in self.pyproject

    @property
    def requires_python(self) -> str | None:
        value = self.pyproject.get("project", {}).get("requires-python")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Project:
    """The project a command works on: the package at PATH, inside its workspace."""

    package: Package  # the pyproject.toml at PATH
    workspace_root: Path  # where uv.lock lives (== package.path when not in a workspace)
    members: dict[str, Package]  # every workspace package by name, the root included unless virtual

    @property
    def root(self) -> Path:
        return self.package.path

    @property
    def lock_path(self) -> Path:
        return self.workspace_root / "uv.lock"

    @property
    def is_member(self) -> bool:
        """PATH is a workspace member, not the workspace root."""
        return self.package.path != self.workspace_root

    def python_version_pin(self) -> tuple[str, Path] | None:
        """The version `.python-version` pins (PATH first, then the workspace root), and that file.

        "3.13", "3.13.1" and "cpython-3.13" all pin "3.13"; a file that names no minor version
        ("3", "pypy") pins nothing uv-lambda can use and is passed over.
        """
        for folder in (self.root, self.workspace_root):
            pin = folder / ".python-version"
            if pin.is_file():
                match = re.match(r"\s*(?:cpython-|python)?(\d+\.\d+)", pin.read_text())
                if match:
                    return match.group(1), pin
        return None

    def functions(self) -> dict[str, FunctionConfig]:
        table = self.package.pyproject.get("tool", {}).get("uv-lambda", {})
        configs = function_configs(table, self.package.name, self.root / "pyproject.toml")
        if self.is_member:
            # Run from a member's folder: the function lives in that member.
            return {
                name: config if config.package else _with_package(config, self.package.name)
                for name, config in configs.items()
            }
        return configs

    def source(self, config: FunctionConfig) -> Package:
        """The package whose folder holds the function's code."""
        if config.package:
            return self.member(config.package)
        if self.package.is_virtual_root:
            known = ", ".join(sorted(self.members)) or "none"
            raise ConfigError(
                f"{self.root / 'pyproject.toml'} is a virtual workspace root (no [project]): "
                f"function {config.name!r} needs the member that holds it",
                f'pass --package NAME, set package = "NAME" in [tool.uv-lambda], or build from the member\'s '
                f"folder (members: {known})",
            )
        return self.package

    def member(self, name: str) -> Package:
        key = normalize_name(name)
        if key not in self.members:
            known = ", ".join(sorted(self.members)) or "none"
            raise ConfigError(
                f"{name!r} is not a package of the workspace at {self.workspace_root}",
                f"workspace packages: {known}",
            )
        return self.members[key]


def default_out_dir(project: Project, function: str) -> Path:
    """Where a function's artifacts go unless --out says otherwise: dist/lambda/<function>/."""
    return project.root / "dist" / "lambda" / function


def _with_package(config: FunctionConfig, package: str) -> FunctionConfig:
    from dataclasses import replace

    return replace(config, package=package, origins={**config.origins, "package": "the member at PATH"})


def read_pyproject(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", "fix the syntax error it names") from None
    except UnicodeDecodeError as exc:  # TOML is UTF-8; a latin-1 editor's "café" is not
        raise ConfigError(
            f"{path} is not UTF-8 (byte {exc.object[exc.start]:#x} at offset {exc.start})",
            "save it as UTF-8: TOML files are UTF-8",
        ) from None
    _check_shape(data, path)
    return data


# The parts of pyproject.toml read here, and the type each must have when present.
_SHAPE: tuple[tuple[tuple[str, ...], type, str], ...] = (
    (("project",), dict, "a table"),
    (("project", "name"), str, "a string"),
    (("project", "version"), str, "a string"),
    (("project", "requires-python"), str, "a string"),
    (("build-system",), dict, "a table"),
    (("tool",), dict, "a table"),
    (("tool", "uv"), dict, "a table"),
    (("tool", "uv", "workspace"), dict, "a table"),
    (("tool", "uv", "workspace", "members"), list, "a list of strings"),
    (("tool", "uv", "workspace", "exclude"), list, "a list of strings"),
    (("tool", "uv-lambda"), dict, "a table"),
)


def _check_shape(data: dict[str, Any], path: Path) -> None:
    """A value of the wrong type where uv-lambda reads is a config error naming the key."""
    for keys, kind, described in _SHAPE:
        value: Any = data
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                break
            value = value[key]
        else:
            if not isinstance(value, kind) or (isinstance(value, list) and not all(isinstance(v, str) for v in value)):
                table, key = ".".join(keys[:-1]), keys[-1]
                where = f"[{table}] {key}" if table else key
                raise ConfigError(f"{path}: {where} must be {described}, not {value!r}", f"fix {key!r} in {path.name}")


def _load_package(folder: Path, *, workspace_root: bool = False) -> Package:
    pyproject_path = folder / "pyproject.toml"
    if not pyproject_path.is_file():
        raise ConfigError(
            f"no pyproject.toml in {folder}",
            "run uv-lambda in a uv project, pass its folder, or create one with `uv init`",
        )
    data = read_pyproject(pyproject_path)
    project = data.get("project")
    if project is None and workspace_root and "workspace" in data.get("tool", {}).get("uv", {}):
        return Package(normalize_name(folder.name), folder, data)  # uv's virtual workspace root
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise ConfigError(
            f"{pyproject_path} has no [project] table with a name",
            'add [project] with name = "..." (uv init writes one)',
        )
    return Package(normalize_name(project["name"]), folder, data)


def _workspace_members(root: Path, data: dict[str, Any]) -> list[Path]:
    workspace = data.get("tool", {}).get("uv", {}).get("workspace", {})
    members: set[Path] = set()
    for pattern in workspace.get("members", []):
        members.update(path for path in root.glob(pattern) if (path / "pyproject.toml").is_file())
    for pattern in workspace.get("exclude", []):
        members.difference_update(root.glob(pattern))
    return sorted(path.resolve() for path in members)


def find_workspace_root(folder: Path) -> Path:
    """The nearest folder at or above `folder` whose workspace lists it (uv's own rule)."""
    for candidate in [folder, *folder.parents]:
        pyproject = candidate / "pyproject.toml"
        if not pyproject.is_file():
            continue
        data = read_pyproject(pyproject)
        if "workspace" in data.get("tool", {}).get("uv", {}) and (
            candidate == folder or folder in _workspace_members(candidate, data)
        ):
            return candidate
    return folder


def load_project(path: Path | None = None) -> Project:
    folder = (path or Path.cwd()).resolve()
    if not folder.exists():
        raise ConfigError(f"{folder} does not exist", "pass the folder that holds pyproject.toml")
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder", "pass the folder that holds pyproject.toml")
    workspace_root = find_workspace_root(folder)
    package = _load_package(folder, workspace_root=workspace_root == folder)
    root_package = package if workspace_root == folder else _load_package(workspace_root, workspace_root=True)
    members = {} if root_package.is_virtual_root else {root_package.name: root_package}
    for member_path in _workspace_members(workspace_root, root_package.pyproject):
        member = _load_package(member_path)
        members[member.name] = member
    return Project(package=package, workspace_root=workspace_root, members=members)
