"""Mask edit operations and undo (Qt-free).

Every op edits an HxW uint8 label in place, only where its :class:`PaintPolicy` allows, and returns
an :class:`UndoRecord` of the tight box of changed pixels (None when nothing changed). Pixel (x, y)
has its centre at (x, y); points are (x, y).

Pixel rules: a brush/eraser stroke paints the pixels whose centre lies within `radius` (at least 0.5)
of the polyline through the points rounded to whole pixels; a polygon is filled by OpenCV's fillPoly
with its edges; a flood fill takes the 4- or 8-connected component of the seed's class. A policy is
checked against each pixel's value before the edit; locked classes are never overwritten.
"""
from engine.edits.fill import flood_fill
from engine.edits.paint import brush_stroke, erase_stroke, fill_polygon
from engine.edits.policy import PaintPolicy
from engine.edits.proposal import accept_proposal
from engine.edits.record import UndoRecord
from engine.edits.repair import REPAIRS, fill_holes, remove_islands, replace_class, run_repair, smooth_class
from engine.edits.stroke import StrokeBuilder
from engine.edits.undo import UndoStack

__all__ = [
    "PaintPolicy", "UndoRecord", "UndoStack", "StrokeBuilder",
    "brush_stroke", "erase_stroke", "flood_fill", "fill_polygon",
    "remove_islands", "fill_holes", "smooth_class", "replace_class", "run_repair", "REPAIRS",
    "accept_proposal",
]
