"""The annotation canvas: `CanvasView` (image + label overlay + tools) and the `Overlay` renderer."""
from desktop.canvas.overlay import Overlay
from desktop.canvas.view import CanvasView

__all__ = ["CanvasView", "Overlay"]
