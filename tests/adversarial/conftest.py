"""Fixtures for the adversarial suite: tests that attack uv-lambda as a careless user or an
attacker would (bad input, hostile files, corrupt caches, crashes and races)."""
