"""The Text edits dock and its background jobs."""
