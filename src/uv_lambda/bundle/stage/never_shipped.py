"""What never goes into a function, whatever the include globs say (used by sources.py,
and by incremental.py to tell which folder changes can affect the selection)."""

NEVER_SHIPPED_DIRS = frozenset(
    {
        "__pycache__",
        ".venv",
        "venv",
        ".git",
        ".hg",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "node_modules",
        ".aws",
        ".ssh",
    }
)
NEVER_SHIPPED_SUFFIXES = (".pyc", ".pyo")
