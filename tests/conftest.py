"""The suite's fixtures are one plugin, tests/fixtures.py; folders add their own conftest.py
only for fixtures no other folder uses (tests/README.md)."""

pytest_plugins = ["tests.fixtures"]
