"""Verify: does what was staged fit the target (wheel tags, ELF files, the handler)."""
