"""The Synthesize dock, its gallery, and the training dialog with its loss curve."""
