"""The Pre-segment dock, its background jobs, and the proposal layer it draws on the canvas."""
