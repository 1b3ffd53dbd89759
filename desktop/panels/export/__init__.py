"""The export dialog and the class-frequency report view."""
