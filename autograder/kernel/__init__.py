"""Code that runs inside the sandbox (copied into the per-run lib dir; imports nothing from the course)."""
