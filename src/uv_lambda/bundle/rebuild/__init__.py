"""The app-only rebuild: the build record and the fast path that reads it.

Every module here is imported before argparse and the configuration; keep their imports
to the allowed list in tests/bundle/test_rebuild_imports.py.
"""
