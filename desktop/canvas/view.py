"""CanvasView: the frame with its label overlay, navigation, and the active annotation tool.

Navigation (from ZoomPanView): the wheel zooms about the cursor, space+drag or the middle button pans,
`fit()` / `actual_size()`; Ctrl+wheel (or `[` / `]`) changes the brush radius. One scene unit is one
image pixel, so a click at scene (x + 0.5, y + 0.5) acts on pixel (x, y).

Painting never lags: tools edit the label array in place with `engine.edits`, then `refresh(rect)`
re-renders only that rectangle of the overlay buffer and schedules a repaint of only that scene rect.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QWidget

from desktop.canvas.items import BrushCursorItem, ImageItem, PreviewItem
from desktop.canvas.navigation import ZOOM_STEP, ZoomPanView
from desktop.canvas.overlay import Overlay
from desktop.canvas.segment_layer import SegmentLayer
from desktop.qt_image import rgb_to_qimage
from desktop.tools import PointerEvent, Tool, create_tool, tool_names
from engine.edits import PaintPolicy
from engine.taxonomy import DISPLAY_PALETTES, IGNORE, NUM_CLASSES, PALETTE

Rect = tuple[int, int, int, int]
MAX_RADIUS = 512
_BUTTONS = {Qt.LeftButton: "left", Qt.RightButton: "right", Qt.MiddleButton: "middle"}


class CanvasView(ZoomPanView):
    """Annotation canvas. The label array given to `set_frame` is edited in place by the tools."""

    strokeFinished = Signal(object)  # UndoRecord of one finished tool action, already applied
    cursorMoved = Signal(int, int, int)  # image x, y and class ID under the cursor (-1 outside the image)
    classPicked = Signal(int)  # the picker tool picked a class
    brushRadiusChanged = Signal(int)
    zoomChanged = Signal(float)  # the view scale (1.0 = one screen pixel per image pixel)
    paletteChanged = Signal(str)  # the display palette changed (layers drawn over the overlay follow it)
    segmentMessage = Signal(str)  # what the Segment tool has to say (no model, embedding not ready, ...)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._palette, self._palette_name = PALETTE, "cadis"
        self._scene = QGraphicsScene(self)  # parented and referenced: an orphan scene renders blank
        self.setScene(self._scene)
        self._image_item = ImageItem()
        self._overlay_item = ImageItem()
        self._overlay_item.setZValue(1)
        self._preview_item = PreviewItem()
        self._preview_item.setZValue(2)
        self._brush_item = BrushCursorItem()
        self._brush_item.setZValue(3)
        self._brush_item.setVisible(False)
        self._segment_item = SegmentLayer()
        self._segment_item.setZValue(1.5)
        self._segment_source = None  # a SegmentAssist (desktop.canvas.segment_assist) once the window sets one
        for item in (self._image_item, self._overlay_item, self._segment_item, self._preview_item, self._brush_item):
            self._scene.addItem(item)
        self._overlay = Overlay()
        self._overlay_item.set_image(self._overlay.image)
        self._overlay_item.setOpacity(0.6)

        self._label: np.ndarray | None = None
        self._class = 0
        self._radius = 8
        self._policy = PaintPolicy()
        self._eraser = IGNORE
        self._tools: dict[str, Tool] = {}
        self._tool = self._get_tool("brush")
        self._space = False  # space held: left drag pans
        self._hover: QPointF | None = None  # scene point under the pointer, None when outside the view
        self._radius_wheel = 0  # Ctrl+wheel angle not yet turned into a brush size step

        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.viewport().setCursor(self._tool.cursor)

    # -- frame ---------------------------------------------------------------------------------------
    def set_frame(self, image: np.ndarray | None, label: np.ndarray) -> None:
        """Show a frame. `label` (HxW uint8) is kept by reference and edited in place by the tools.

        A stroke or polygon under way on the previous frame is finished first (its strokeFinished is
        emitted before the switch). The zoom is kept when the size is unchanged, else the view fits.
        """
        if label.ndim != 2 or label.dtype != np.uint8:
            raise ValueError(f"a label must be an HxW uint8 array of class IDs, got {label.dtype} {label.shape}")
        if image is not None and image.shape[:2] != label.shape:
            raise ValueError(f"image {image.shape[1]}x{image.shape[0]} and label {label.shape[1]}x{label.shape[0]} differ in size")
        self._tool.finish()
        self._label = label
        h, w = label.shape
        qimg = rgb_to_qimage(image) if image is not None else rgb_to_qimage(np.zeros((h, w), np.uint8))
        self._image_item.set_image(qimg)
        self._overlay.set_label(label)
        self._overlay_item.set_image(self._overlay.image)
        if self.set_image_size(w, h):
            self.fit()
        self.viewport().update()

    def label(self) -> np.ndarray | None:
        """The label array being edited (the same object given to `set_frame`)."""
        return self._label

    def overlay(self) -> Overlay:
        """The overlay renderer (its buffer shows exactly what is drawn over the image)."""
        return self._overlay

    def refresh(self, rect: Rect | None = None) -> None:
        """Redraw after the label changed in `rect` (x0, y0, x1, y1; None = all): undo, repair, recovery."""
        changed = self._overlay.update(rect)
        if changed is None:
            return
        x0, y0, x1, y1 = changed
        self._overlay_item.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    # -- tool settings --------------------------------------------------------------------------------
    def tool_names(self) -> list[str]:
        return tool_names()

    def set_tool(self, name: str) -> None:
        """Switch tool ("brush", "eraser", "fill", "polygon", "lasso", "picker"); an action under way
        with the old tool is finished."""
        tool = self._get_tool(name)
        if tool is self._tool:
            return
        self._tool.finish()
        self._tool = tool
        self.viewport().setCursor(tool.cursor)
        self._update_brush_item()

    def tool(self) -> Tool:
        return self._tool

    def tool_name(self) -> str:
        return self._tool.name

    def _get_tool(self, name: str) -> Tool:
        if name not in self._tools:
            self._tools[name] = create_tool(name, self)
        return self._tools[name]

    def set_current_class(self, cls: int) -> None:
        if not 0 <= int(cls) <= 255:
            raise ValueError(f"class ID must be 0..35 (or 255), got {cls}")
        self._class = int(cls)

    def current_class(self) -> int:
        return self._class

    def set_brush_radius(self, r: int) -> None:
        r = max(0, min(MAX_RADIUS, int(r)))
        if r != self._radius:
            self._radius = r
            self._update_brush_item()
            self.brushRadiusChanged.emit(r)

    def brush_radius(self) -> int:
        return self._radius

    def set_policy(self, policy: PaintPolicy) -> None:
        self._policy = policy

    def policy(self) -> PaintPolicy:
        return self._policy

    def set_eraser_value(self, v: int = IGNORE) -> None:
        if not 0 <= int(v) <= 255:
            raise ValueError(f"eraser value must be a class ID 0..35 or 255, got {v}")
        self._eraser = int(v)

    def eraser_value(self) -> int:
        return self._eraser

    # -- overlay settings -----------------------------------------------------------------------------
    def set_overlay_mode(self, mode: str) -> None:
        """"fill" (classes as colour), "contour" (class boundaries only) or "hidden"."""
        self._overlay.set_mode(mode)
        self._overlay_item.setVisible(mode != "hidden")
        self._overlay_item.update()

    def overlay_mode(self) -> str:
        return self._overlay.mode

    def set_opacity(self, a: float) -> None:
        """Overlay opacity 0..1 (applied when drawing: costs no re-render)."""
        self._overlay_item.setOpacity(max(0.0, min(1.0, float(a))))

    def opacity(self) -> float:
        return self._overlay_item.opacity()

    def set_hidden_classes(self, ids: set[int]) -> None:
        """Original CaDIS IDs not drawn (their pixels stay editable)."""
        self._overlay.set_hidden_classes(ids)
        self._overlay_item.update()

    def set_class_set(self, class_set) -> None:
        """Colour the overlay as in an `engine.taxonomy.ClassSet` view (experiment 1/2/3 or "full")."""
        self._overlay.set_class_set(class_set)
        self._overlay_item.update()

    def set_palette(self, palette: str) -> None:
        """Display palette of the overlay ("distinct" or "cadis", see engine.taxonomy.DISPLAY_PALETTES)."""
        changed = palette != self._palette_name
        self._palette, self._palette_name = DISPLAY_PALETTES[palette], palette
        self._overlay.set_palette(palette)
        self._overlay_item.update()
        if changed:
            self.paletteChanged.emit(palette)

    def palette_name(self) -> str:
        """The display palette the overlay is drawn in (layers over it, e.g. a proposal, follow it)."""
        return self._palette_name

    def scale_changed(self, scale: float) -> None:
        """Keep the cosmetic pens of the outline and preview inside their items' bounds; tell the window."""
        self._brush_item.set_pad(4.0 / scale)
        self._preview_item.set_pad(4.0 / scale)
        self.zoomChanged.emit(float(scale))

    # -- ToolHost -------------------------------------------------------------------------------------
    def commit(self, record: object, model_source: str = "") -> None:
        """A tool's finished action; `model_source` names the model whose output it wrote (a committed
        segmentation), so the window records its pixels as model-made (`take_model_source`)."""
        self._model_source = model_source
        self.strokeFinished.emit(record)
        self._model_source = ""

    def take_model_source(self) -> str:
        """While strokeFinished is delivered: the model whose output the record wrote, "" for a person's edit."""
        return getattr(self, "_model_source", "")

    def pick(self, class_id: int) -> None:
        self.classPicked.emit(int(class_id))

    def show_preview(self, points: list[tuple[float, float]], cursor: tuple[float, float] | None,
                     closed: bool = False) -> None:
        colour = QColor(*self._palette[self._class]) if self._class < NUM_CLASSES else QColor(255, 255, 0)
        self._preview_item.set_preview(points, cursor, closed, colour)

    def clear_preview(self) -> None:
        self._preview_item.clear()

    def set_segment_source(self, source) -> None:
        """Where the Segment tool's masks come from (a SegmentAssist); its `ready` re-asks a waiting prompt."""
        self._segment_source = source
        source.ready.connect(lambda: self._tool.model_ready())
        source.candidatesReady.connect(lambda prompt, cands: self._tool.candidates_ready(prompt, cands))
        source.statusChanged.connect(self.segmentMessage)

    def request_candidates(self, prompt) -> None:
        if self._segment_source is None:
            self.segmentMessage.emit("Segment: no segmentation model is set up")
            return
        self._segment_source.request(prompt)

    def show_segment(self, mask, points, box=None, cls: int = 0) -> None:
        if self._label is None:
            return
        colour = self._palette[cls] if cls < NUM_CLASSES else (255, 255, 0)
        self._segment_item.show(self._label.shape, mask, colour, points, box)

    def segment_layer(self) -> SegmentLayer:
        return self._segment_item

    def segment_message(self, text: str) -> None:
        self.segmentMessage.emit(text)

    # -- input ----------------------------------------------------------------------------------------
    def _pointer(self, ev: QMouseEvent, button: str = "") -> PointerEvent:
        p = self.map_to_scene(ev.position())
        return PointerEvent(p.x(), p.y(), button, ev.modifiers())

    def mousePressEvent(self, ev: QMouseEvent) -> None:
        if ev.button() == Qt.MiddleButton or (ev.button() == Qt.LeftButton and self._space):
            self.start_pan(ev.position())
            return
        button = _BUTTONS.get(ev.button())
        if button and self._label is not None:
            self.setFocus(Qt.MouseFocusReason)
            self._tool.press(self._pointer(ev, button))
        ev.accept()

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:
        if self.panning():
            self.pan_to(ev.position())
            return
        if self._label is None:
            return
        pe = self._pointer(ev)
        self._hover = QPointF(pe.x, pe.y)
        self._tool.move(pe)
        self._update_brush_item()
        h, w = self._label.shape
        if 0 <= pe.px < w and 0 <= pe.py < h:
            self.cursorMoved.emit(pe.px, pe.py, int(self._label[pe.py, pe.px]))
        else:
            self.cursorMoved.emit(pe.px, pe.py, -1)

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:
        if self.panning() and ev.button() in (Qt.MiddleButton, Qt.LeftButton):
            self.end_pan()
            self.viewport().setCursor(Qt.OpenHandCursor if self._space else self._tool.cursor)
            return
        button = _BUTTONS.get(ev.button())
        if button and self._label is not None:
            self._tool.release(self._pointer(ev, button))

    def mouseDoubleClickEvent(self, ev: QMouseEvent) -> None:
        button = _BUTTONS.get(ev.button())
        if button and button != "middle" and self._label is not None and not self._space:
            self._tool.double_click(self._pointer(ev, button))

    def wheelEvent(self, ev: QWheelEvent) -> None:
        delta = ev.angleDelta().y() or ev.angleDelta().x()
        if not delta:
            return
        notches = delta / 120.0
        if ev.modifiers() & Qt.ControlModifier:
            # whole notches change the size; touchpads send small deltas that add up to notches
            self._radius_wheel += delta
            while abs(self._radius_wheel) >= 120:
                step = 1 if self._radius_wheel > 0 else -1
                self._radius_wheel -= 120 * step
                self._step_radius(step)
        else:
            self.zoom_at(ZOOM_STEP ** notches, ev.position())
        ev.accept()

    def _step_radius(self, direction: int) -> None:
        step = max(1, round(self._radius * 0.15))
        self.set_brush_radius(self._radius + direction * step)

    def keyPressEvent(self, ev: QKeyEvent) -> None:
        key = ev.key()
        if key == Qt.Key_Space:
            if not ev.isAutoRepeat():
                self._space = True
                self.viewport().setCursor(Qt.OpenHandCursor)
            return
        if key == Qt.Key_BracketLeft:
            self._step_radius(-1)
        elif key == Qt.Key_BracketRight:
            self._step_radius(1)
        elif key == Qt.Key_Escape and self._tool.busy():
            self._tool.cancel()
        elif not self._tool.key_press(key):
            super().keyPressEvent(ev)

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802 - Qt name
        """Tab goes to the tool while it is busy (the Segment tool cycles its masks), else moves the focus."""
        return False if self._tool.busy() else super().focusNextPrevChild(next)

    def keyReleaseEvent(self, ev: QKeyEvent) -> None:
        if ev.key() == Qt.Key_Space and not ev.isAutoRepeat():
            self._space = False
            if not self.panning():
                self.viewport().setCursor(self._tool.cursor)
            return
        super().keyReleaseEvent(ev)

    def viewportEvent(self, ev: QEvent) -> bool:
        if ev.type() == QEvent.Leave:
            self._hover = None
            self._update_brush_item()
        return super().viewportEvent(ev)

    def focusOutEvent(self, ev) -> None:
        self._space = False
        super().focusOutEvent(ev)

    def _update_brush_item(self) -> None:
        show = self._tool.shows_brush and self._hover is not None and self._label is not None
        if show:
            self._brush_item.set_radius(self._radius)
            self._brush_item.setPos(math.floor(self._hover.x()) + 0.5, math.floor(self._hover.y()) + 0.5)
        if show != self._brush_item.isVisible():
            self._brush_item.setVisible(show)
