"""Canvas tools driven by synthesized mouse events: each must change exactly the pixels that the
engine operation, applied directly to a copy of the label, changes."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from engine.edits import PaintPolicy, StrokeBuilder, fill_polygon, flood_fill
from tests.gui.canvas_helpers import make_canvas, drag, key, mouse, pixel_click, synthetic_frame

pytestmark = pytest.mark.gui


@pytest.fixture
def canvas(qtbot):
    view = make_canvas(qtbot)
    view.actual_size()
    c = view.viewport().rect().center()
    view.zoom_at(2.0, QPointF(c))  # 2 screen px per image px: every pixel centre is a whole widget point
    assert view.view_scale() == 2.0
    records = []
    view.strokeFinished.connect(records.append)
    view.records = records
    return view


def expected_stroke(label, pixels, radius, value, policy=PaintPolicy(), erase=False):
    out = label.copy()
    sb = StrokeBuilder(out, radius, value, policy, erase=erase)
    for x, y in pixels + [pixels[-1]]:
        sb.add_point(x, y)
    return out, sb.finish()


def test_brush_stroke_paints_exactly_the_engine_pixels_and_one_record(canvas):
    before = canvas.label().copy()
    canvas.set_current_class(13)
    canvas.set_brush_radius(3)
    path = [(10, 10), (14, 12), (30, 20), (31, 40), (50, 41)]
    want, want_rec = expected_stroke(before, path, 3, 13)
    drag(canvas, path)
    assert np.array_equal(canvas.label(), want)
    assert (canvas.label() != before).sum() > 100
    assert len(canvas.records) == 1
    rec = canvas.records[0]
    assert rec.bbox == want_rec.bbox
    rec.undo(canvas.label())
    assert np.array_equal(canvas.label(), before)


def test_click_at_pixel_centre_paints_that_pixel(canvas):
    canvas.set_brush_radius(0)
    canvas.set_current_class(20)
    pixel_click(canvas, 37, 23)
    changed = np.argwhere(canvas.label() == 20)
    assert changed.tolist() == [[23, 37]]


def test_overlay_follows_the_stroke(canvas):
    canvas.set_current_class(8)
    drag(canvas, [(60, 30), (70, 30)])
    table = canvas.overlay().colour_table
    assert np.array_equal(canvas.overlay().buffer, table[canvas.label()])


def test_right_drag_with_brush_erases_to_eraser_value(canvas):
    before = canvas.label().copy()
    canvas.set_brush_radius(4)
    path = [(40, 20), (80, 25)]
    want, _ = expected_stroke(before, path, 4, 255, erase=True)
    drag(canvas, path, button=Qt.RightButton)
    assert np.array_equal(canvas.label(), want)
    assert (canvas.label()[20, 40:50] == 255).all() and (canvas.label()[25, 72:81] == 255).all()
    assert len(canvas.records) == 1


def test_eraser_tool_paints_the_chosen_eraser_value(canvas):
    before = canvas.label().copy()
    canvas.set_tool("eraser")
    canvas.set_eraser_value(6)
    canvas.set_brush_radius(2)
    path = [(30, 30), (30, 50)]
    want, _ = expected_stroke(before, path, 2, 6, erase=True)
    drag(canvas, path)
    assert np.array_equal(canvas.label(), want)
    assert canvas.label()[40, 30] == 6


def test_locked_classes_survive_a_stroke(canvas):
    before = canvas.label().copy()
    policy = PaintPolicy(locked=frozenset({0}))  # the pupil disc is locked
    canvas.set_policy(policy)
    canvas.set_current_class(9)
    canvas.set_brush_radius(6)
    path = [(5, 40), (115, 40)]  # straight through the pupil
    want, _ = expected_stroke(before, path, 6, 9, policy)
    drag(canvas, path)
    label = canvas.label()
    assert np.array_equal(label, want)
    assert np.array_equal(label[before == 0], before[before == 0])  # every pupil pixel kept
    assert (label[40, 5:20] == 9).all()


def test_locked_classes_survive_the_eraser_too(canvas):
    before = canvas.label().copy()
    canvas.set_policy(PaintPolicy(locked=frozenset({0})))
    canvas.set_tool("eraser")
    canvas.set_brush_radius(5)
    drag(canvas, [(5, 40), (115, 40)])
    assert np.array_equal(canvas.label()[before == 0], before[before == 0])
    assert (canvas.label()[40, 5:20] == 255).all()


def test_paint_only_over_unlabelled(canvas):
    before = canvas.label().copy()
    policy = PaintPolicy(mode="over_unlabelled")
    canvas.set_policy(policy)
    canvas.set_current_class(2)
    canvas.set_brush_radius(8)
    path = [(60, 60), (60, 79)]
    want, _ = expected_stroke(before, path, 8, 2, policy)
    drag(canvas, path)
    assert np.array_equal(canvas.label(), want)
    changed = canvas.label() != before
    assert changed.any() and (before[changed] == 255).all()


def test_escape_cancels_a_stroke_under_way(canvas):
    before = canvas.label().copy()
    canvas.set_current_class(13)
    mouse(canvas, "press", 20.5, 20.5)
    mouse(canvas, "move", 40.5, 20.5, buttons=Qt.LeftButton)
    assert (canvas.label() != before).any()
    key(canvas, Qt.Key_Escape)
    assert np.array_equal(canvas.label(), before)
    assert np.array_equal(canvas.overlay().buffer, canvas.overlay().colour_table[before])
    mouse(canvas, "release", 40.5, 20.5)
    assert canvas.records == []


def test_flood_fill_matches_engine(canvas):
    before = canvas.label().copy()
    canvas.set_tool("fill")
    canvas.set_current_class(11)
    want = before.copy()
    want_rec = flood_fill(want, (60, 40), 11, connectivity=4)
    pixel_click(canvas, 60, 40)  # inside the pupil disc
    assert np.array_equal(canvas.label(), want)
    assert (canvas.label()[before == 0] == 11).all()
    assert len(canvas.records) == 1 and canvas.records[0].bbox == want_rec.bbox


def test_flood_fill_is_4_connected_by_default(canvas):
    label = canvas.label()
    label[:] = 4
    label[10, 10] = 1
    label[11, 11] = 1  # diagonal neighbour only
    canvas.refresh()
    canvas.set_tool("fill")
    canvas.set_current_class(3)
    pixel_click(canvas, 10, 10)
    assert label[10, 10] == 3 and label[11, 11] == 1


def test_polygon_closed_by_double_click(canvas):
    before = canvas.label().copy()
    canvas.set_tool("polygon")
    canvas.set_current_class(16)
    pts = [(20, 10), (90, 15), (80, 60)]
    for x, y in pts[:-1]:
        pixel_click(canvas, x, y)
    assert canvas.records == [] and np.array_equal(canvas.label(), before)
    x, y = pts[-1]
    mouse(canvas, "press", x + 0.5, y + 0.5)
    mouse(canvas, "release", x + 0.5, y + 0.5)
    mouse(canvas, "double", x + 0.5, y + 0.5)
    mouse(canvas, "release", x + 0.5, y + 0.5)
    want = before.copy()
    fill_polygon(want, pts, 16)
    assert np.array_equal(canvas.label(), want)
    assert len(canvas.records) == 1
    assert not canvas.tool().busy()


def test_polygon_enter_closes_and_escape_cancels(canvas):
    before = canvas.label().copy()
    canvas.set_tool("polygon")
    canvas.set_current_class(12)
    for x, y in [(10, 10), (50, 10), (50, 50)]:
        pixel_click(canvas, x, y)
    mouse(canvas, "move", 30.5, 60.5)  # rubber band follows the cursor
    assert canvas.tool().busy()
    key(canvas, Qt.Key_Escape)
    assert np.array_equal(canvas.label(), before) and canvas.records == []
    pts = [(10, 10), (50, 10), (50, 50), (12, 45)]
    for x, y in pts:
        pixel_click(canvas, x, y)
    key(canvas, Qt.Key_Return)
    want = before.copy()
    fill_polygon(want, pts, 12)
    assert np.array_equal(canvas.label(), want)
    assert len(canvas.records) == 1


def test_lasso_fills_the_dragged_outline_on_release(canvas):
    before = canvas.label().copy()
    canvas.set_tool("lasso")
    canvas.set_current_class(17)
    path = [(30, 10), (45, 12), (60, 20), (62, 40), (50, 55), (30, 50), (25, 30)]
    drag(canvas, path)
    want = before.copy()
    fill_polygon(want, path, 17)
    assert np.array_equal(canvas.label(), want)
    assert (canvas.label() == 17).sum() > 500
    assert len(canvas.records) == 1


def test_picker_emits_the_class_under_the_cursor(canvas, qtbot):
    canvas.set_tool("picker")
    picked = []
    canvas.classPicked.connect(picked.append)
    pixel_click(canvas, 60, 40)  # pupil
    pixel_click(canvas, 2, 2)  # skin
    pixel_click(canvas, 60, 78)  # unlabelled: nothing
    assert picked == [0, 5]
    assert canvas.records == []


def test_cursor_moved_reports_pixel_and_class(canvas):
    seen = []
    canvas.cursorMoved.connect(lambda x, y, c: seen.append((x, y, c)))
    mouse(canvas, "move", 60.5, 40.5)
    mouse(canvas, "move", 3.5, 7.5)
    mouse(canvas, "move", -4.5, 7.5)
    assert seen == [(60, 40, 0), (3, 7, 5), (-5, 7, -1)]


def test_strokes_outside_the_image_do_nothing_and_emit_nothing(canvas):
    before = canvas.label().copy()
    canvas.set_brush_radius(2)
    drag(canvas, [(-20, -20), (-10, -25)])
    assert np.array_equal(canvas.label(), before) and canvas.records == []


def test_switching_frame_finishes_an_unfinished_stroke(canvas):
    canvas.set_current_class(13)
    mouse(canvas, "press", 20.5, 20.5)
    mouse(canvas, "move", 30.5, 20.5, buttons=Qt.LeftButton)
    old = canvas.label()
    image, label = synthetic_frame()
    canvas.set_frame(image, label)
    assert len(canvas.records) == 1 and old[20, 25] == 13
    mouse(canvas, "release", 30.5, 20.5)
    assert label[20, 25] != 13 and len(canvas.records) == 1


def test_brush_refreshes_only_the_dirty_rectangles(canvas, monkeypatch):
    overlay = canvas.overlay()
    rects = []
    original = overlay.update

    def spy(rect=None):
        rects.append(rect)
        return original(rect)

    monkeypatch.setattr(overlay, "update", spy)
    canvas.set_brush_radius(3)
    drag(canvas, [(10 + 4 * i, 20) for i in range(15)])
    assert rects and None not in rects  # never a whole-overlay re-render
    h, w = canvas.label().shape
    for x0, y0, x1, y1 in rects:
        assert (x1 - x0) * (y1 - y0) <= 11 * 7  # one segment of a radius-3 brush, 4 px long
    assert np.array_equal(overlay.buffer, overlay.colour_table[canvas.label()])
