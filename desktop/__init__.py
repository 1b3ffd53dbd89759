"""CaDIS Studio desktop: the PySide6 annotation app. Widgets only; every data operation is an engine call."""
