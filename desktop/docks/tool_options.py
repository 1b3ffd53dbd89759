"""Tool options: tool buttons, brush size, paint mode, overlay mode and opacity, and the repair operations."""
from __future__ import annotations

from typing import Optional

import qtawesome as qta
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout,
                               QLabel, QPushButton, QSlider, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from engine.taxonomy import CLASS_NAMES

TOOLS = (("brush", "mdi6.brush", "Brush (B)"), ("eraser", "mdi6.eraser", "Eraser (E)"),
         ("fill", "mdi6.format-color-fill", "Flood fill (F)"), ("polygon", "mdi6.vector-polygon", "Polygon (P)"),
         ("lasso", "mdi6.lasso", "Lasso (L)"),
         ("segment", "mdi6.auto-fix", "Segment (S): click a structure, right click: not this, drag: a box; Tab: "
                                      "next mask, Enter or double click: commit, Esc: drop; Shift+click: repair "
                                      "the region under the cursor"),
         ("picker", "mdi6.eyedropper", "Class picker (I)"))
PAINT_MODES = (("all", "Everywhere"), ("unlabelled", "Only over unlabelled"), ("only", "Only over class"))
OVERLAY_MODES = (("fill", "mdi6.square", "Filled overlay"), ("contour", "mdi6.square-outline", "Contours only"),
                 ("hidden", "mdi6.eye-off-outline", "Hide overlay"))
MAX_RADIUS = 256
_ICON = "#c8ccd4"
_ACTIVE = "#ffffff"


def _icon(name: str):
    return qta.icon(name, color=_ICON, color_active=_ACTIVE, color_on=_ACTIVE)


def class_combo() -> QComboBox:
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(6)
    for cid, name in enumerate(CLASS_NAMES):
        combo.addItem(f"{cid}  {name}", cid)
    return combo


class ToolOptions(QWidget):
    """Widgets only: every change is a signal; the main window forwards it to the canvas or the document."""

    toolChanged = Signal(str)
    brushRadiusChanged = Signal(int)
    paintModeChanged = Signal(str, int)  # mode ("all" | "unlabelled" | "only"), chosen class for "only"
    overlayModeChanged = Signal(str)
    opacityChanged = Signal(float)
    repairRequested = Signal(str, dict)  # op ("islands" | "holes" | "smooth" | "replace"), parameters

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self._build_tools())
        lay.addWidget(self._build_paint())
        lay.addWidget(self._build_overlay())
        lay.addWidget(self._build_repair())
        lay.addStretch(1)

    # -- sections ----------------------------------------------------------------------------------
    def _build_tools(self) -> QGroupBox:
        box = QGroupBox("Tools")
        grid = QHBoxLayout(box)
        grid.setSpacing(2)
        self.tool_group = QButtonGroup(self)
        self.tool_group.setExclusive(True)
        self.tool_buttons: dict[str, QToolButton] = {}
        for name, icon, tip in TOOLS:
            b = QToolButton()
            b.setIcon(_icon(icon))
            b.setCheckable(True)
            b.setToolTip(tip)
            b.setObjectName("toolButton")
            b.setProperty("tool", name)
            b.setAutoRaise(True)
            self.tool_group.addButton(b)
            self.tool_buttons[name] = b
            b.setIconSize(QSize(20, 20))
            grid.addWidget(b)
        grid.addStretch(1)
        self.tool_buttons["brush"].setChecked(True)
        self.tool_group.buttonClicked.connect(lambda b: self.toolChanged.emit(b.property("tool")))
        return box

    def _build_paint(self) -> QGroupBox:
        box = QGroupBox("Brush and paint mode")
        form = QFormLayout(box)
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(1, MAX_RADIUS)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, MAX_RADIUS)
        self.size_spin.setSuffix(" px")
        self.size_slider.valueChanged.connect(self.size_spin.setValue)
        self.size_spin.valueChanged.connect(self.size_slider.setValue)
        self.size_spin.valueChanged.connect(self.brushRadiusChanged.emit)
        self.size_spin.setValue(12)
        row = QHBoxLayout()
        row.addWidget(self.size_slider, 1)
        row.addWidget(self.size_spin)
        form.addRow("Radius", row)
        self.mode_combo = QComboBox()
        for key, text in PAINT_MODES:
            self.mode_combo.addItem(text, key)
        self.mode_combo.setToolTip("Where strokes may paint; locked classes are never painted over")
        self.only_class = class_combo()
        self.only_class.setToolTip("The class strokes may paint over in the mode 'Only over class'")
        self.only_class.setVisible(False)
        self.mode_combo.currentIndexChanged.connect(self._emit_mode)
        self.only_class.currentIndexChanged.connect(self._emit_mode)
        form.addRow("Paint", self.mode_combo)
        form.addRow("", self.only_class)
        return box

    def _build_overlay(self) -> QGroupBox:
        box = QGroupBox("Overlay")
        row = QHBoxLayout(box)
        self.overlay_group = QButtonGroup(self)
        self.overlay_buttons: dict[str, QToolButton] = {}
        for key, icon, tip in OVERLAY_MODES:
            b = QToolButton()
            b.setIcon(_icon(icon))
            b.setCheckable(True)
            b.setToolTip(tip)
            b.setProperty("mode", key)
            b.setAutoRaise(True)
            self.overlay_group.addButton(b)
            self.overlay_buttons[key] = b
            row.addWidget(b)
        self.overlay_buttons["fill"].setChecked(True)
        self.overlay_group.buttonClicked.connect(lambda b: self.overlayModeChanged.emit(b.property("mode")))
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(55)
        self.opacity.setToolTip("Overlay opacity")
        self.opacity_label = QLabel("55%")
        self.opacity_label.setMinimumWidth(34)
        self.opacity.valueChanged.connect(lambda v: self.opacity_label.setText(f"{v}%"))
        self.opacity.valueChanged.connect(lambda v: self.opacityChanged.emit(v / 100.0))
        row.addSpacing(8)
        row.addWidget(self.opacity, 1)
        row.addWidget(self.opacity_label)
        return box

    def _build_repair(self) -> QGroupBox:
        box = QGroupBox("Repair this frame")
        grid = QGridLayout(box)
        self.scope = QComboBox()
        self.scope.addItem("Selected class", "selected")
        self.scope.addItem("All classes", "all")
        grid.addWidget(QLabel("Apply to"), 0, 0)
        grid.addWidget(self.scope, 0, 1, 1, 2)
        self.island_size = QSpinBox()
        self.island_size.setRange(1, 1_000_000)
        self.island_size.setValue(64)
        self.island_size.setSuffix(" px")
        self.island_size.setToolTip("Remove connected pieces smaller than this")
        self.repair_buttons: dict[str, QPushButton] = {}
        b = self._repair_button("islands", "Remove islands", "mdi6.dots-hexagon", lambda: self._request(
            "islands", min_size=self.island_size.value()))
        grid.addWidget(b, 1, 0)
        grid.addWidget(self.island_size, 1, 1, 1, 2)
        self.hole_size = QSpinBox()
        self.hole_size.setRange(1, 1_000_000)
        self.hole_size.setValue(256)
        self.hole_size.setSuffix(" px")
        self.hole_size.setToolTip("Fill holes up to this size inside a class")
        grid.addWidget(self._repair_button("holes", "Fill holes", "mdi6.circle-slice-8", lambda: self._request(
            "holes", max_size=self.hole_size.value())), 2, 0)
        grid.addWidget(self.hole_size, 2, 1, 1, 2)
        self.smooth_radius = QSpinBox()
        self.smooth_radius.setRange(1, 32)
        self.smooth_radius.setValue(2)
        self.smooth_radius.setSuffix(" px")
        grid.addWidget(self._repair_button("smooth", "Smooth", "mdi6.vector-curve", lambda: self._request(
            "smooth", radius=self.smooth_radius.value())), 3, 0)
        grid.addWidget(self.smooth_radius, 3, 1, 1, 2)
        self.replace_src, self.replace_dst = class_combo(), class_combo()
        self.replace_dst.setCurrentIndex(4)
        grid.addWidget(self._repair_button("replace", "Replace", "mdi6.swap-horizontal", lambda: self._request(
            "replace", src=self.replace_src.currentData(), dst=self.replace_dst.currentData())), 4, 0)
        grid.addWidget(self.replace_src, 4, 1, 1, 2)  # one combo a row: the dock column stays narrow
        into = QLabel("with")
        into.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(into, 5, 0)
        grid.addWidget(self.replace_dst, 5, 1, 1, 2)
        return box

    def _repair_button(self, op: str, text: str, icon: str, slot) -> QPushButton:
        b = QPushButton(_icon(icon), text)
        b.clicked.connect(slot)
        self.repair_buttons[op] = b
        return b

    # -- public ------------------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        if name in self.tool_buttons:
            self.tool_buttons[name].setChecked(True)

    def current_tool(self) -> str:
        b = self.tool_group.checkedButton()
        return b.property("tool") if b else "brush"

    def set_brush_radius(self, r: int) -> None:
        self.size_spin.setValue(max(1, min(MAX_RADIUS, int(r))))

    def brush_radius(self) -> int:
        return self.size_spin.value()

    def set_overlay_mode(self, mode: str) -> None:
        if mode in self.overlay_buttons:
            self.overlay_buttons[mode].setChecked(True)
            self.overlayModeChanged.emit(mode)

    def overlay_mode(self) -> str:
        b = self.overlay_group.checkedButton()
        return b.property("mode") if b else "fill"

    def paint_mode(self) -> tuple[str, int]:
        return self.mode_combo.currentData(), int(self.only_class.currentData())

    def repair_scope(self) -> str:
        return self.scope.currentData()

    # -- internals ---------------------------------------------------------------------------------
    def _emit_mode(self, *_):
        mode, cid = self.paint_mode()
        self.only_class.setVisible(mode == "only")
        self.paintModeChanged.emit(mode, cid)

    def _request(self, op: str, **params) -> None:
        params["scope"] = self.repair_scope()
        self.repairRequested.emit(op, params)
