"""Export: uv.lock to the target's requirements (markers evaluated for Lambda)."""
