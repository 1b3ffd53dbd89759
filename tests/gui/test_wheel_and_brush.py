"""A working day's small things: the wheel scrolls a panel instead of changing the sliders and spin boxes it passes
over (unless one has the focus), and the brush size is kept between runs."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QScrollArea, QSlider, QSpinBox, QVBoxLayout, QWidget

from desktop.wheel_guard import install_wheel_guard

pytestmark = pytest.mark.gui


def _wheel(widget, dy=-120):
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, dy),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


@pytest.fixture
def panel(qtbot, qapp):
    guard = install_wheel_guard(qapp)
    area = QScrollArea()
    inner = QWidget()
    lay = QVBoxLayout(inner)
    slider, spin = QSlider(Qt.Orientation.Horizontal), QSpinBox()
    slider.setRange(0, 100)
    slider.setValue(50)
    spin.setRange(0, 100)
    spin.setValue(50)
    lay.addWidget(slider)
    lay.addWidget(spin)
    lay.addSpacing(2000)  # a panel taller than its dock
    area.setWidget(inner)
    area.setWidgetResizable(True)
    area.resize(300, 200)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitExposed(area)
    yield area, slider, spin
    qapp.removeEventFilter(guard)
    qapp._cadis_wheel_guard = None


def test_wheel_over_unfocused_slider_and_spin_box_scrolls_the_panel(panel):
    area, slider, spin = panel
    bar = area.verticalScrollBar()
    area.setFocus()
    assert bar.value() == 0 and not slider.hasFocus() and not spin.hasFocus()
    assert slider.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel alone gives it no focus
    _wheel(slider)
    assert slider.value() == 50 and bar.value() > 0  # the panel scrolled, the slider stayed
    before = bar.value()
    _wheel(spin.lineEdit())
    assert spin.value() == 50 and bar.value() > before and not spin.hasFocus()


def test_wheel_changes_a_focused_slider(panel, qtbot):
    area, slider, spin = panel
    slider.setFocus()
    qtbot.waitUntil(slider.hasFocus)
    _wheel(slider)
    assert slider.value() != 50


def test_brush_size_is_kept_between_runs(qtbot, tmp_path, phantom_root):
    from tests.gui.window_helpers import make_settings, open_window

    window = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    assert window.tool_options.brush_radius() == 12  # the first start's size
    window.tool_options.set_brush_radius(31)
    window.close()
    again = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    assert again.tool_options.brush_radius() == 31 and again.canvas.brush_radius() == 31


def test_a_long_head_path_elides_and_leaves_the_buttons_where_they_are(qtbot, tmp_path, phantom_root):
    from tests.gui.window_helpers import make_settings, open_window

    window = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    panel = window.model_panels.preseg
    panel.resize(320, panel.height())
    panel.info.setText("Head: /short")
    qtbot.wait(10)
    y_before, h_before = panel.train_button.mapTo(panel, panel.train_button.rect().topLeft()).y(), panel.info.height()
    long_path = "Head: " + "/very-long-folder-name" * 12 + "/preseg-head"
    panel.info.setText(long_path)
    panel.info.resize(300, panel.info.height())
    qtbot.wait(10)
    shown = QLabel_text(panel.info)
    assert "…" in shown and len(shown) < len(long_path)  # elided in the middle, one line
    assert panel.info.text() == long_path and panel.info.toolTip() == long_path
    assert panel.info.height() == h_before
    assert panel.train_button.mapTo(panel, panel.train_button.rect().topLeft()).y() == y_before


def QLabel_text(label):  # noqa: N802 - what QLabel itself shows, not the full text
    from PySide6.QtWidgets import QLabel

    return QLabel.text(label)
