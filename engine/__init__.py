"""CaDIS Studio engine: everything that is not Qt.

This package must never import PySide6, qtawesome or `desktop` (checked by import-linter in CI).
"""

__version__ = "0.1.0"
