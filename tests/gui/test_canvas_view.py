"""Canvas navigation and rendering: zoom about the cursor, pan, brush size, overlay modes, screenshot."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from desktop.qt_image import qimage_to_rgb
from tests.gui.canvas_helpers import make_canvas, H, W, drag, key, mouse, synthetic_frame, wheel

pytestmark = pytest.mark.gui
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture
def canvas(qtbot):
    view = make_canvas(qtbot)
    return view


def scene_at(view, pos: QPointF) -> QPointF:
    inverse, _ = view.viewportTransform().inverted()
    return inverse.map(pos)


def screen_px(view, x: float, y: float):
    """Widget pixel showing image pixel (x, y) (at zoom >= 1)."""
    return view.mapFromScene(QPointF(x + 0.25, y + 0.25))


def grab(view) -> np.ndarray:
    view.viewport().repaint()
    return qimage_to_rgb(view.viewport().grab().toImage())


def test_fit_shows_the_whole_image_centred(canvas):
    canvas.fit()
    r = canvas.mapFromScene(QPointF(0, 0)), canvas.mapFromScene(QPointF(W, H))
    vp = canvas.viewport().rect()
    assert vp.contains(r[0]) and vp.contains(r[1])
    assert canvas.view_scale() == pytest.approx(min((vp.width() - 8) / W, (vp.height() - 8) / H))
    centre = scene_at(canvas, QPointF(vp.center()))
    assert abs(centre.x() - W / 2) <= 1 and abs(centre.y() - H / 2) <= 1


def test_actual_size_is_one_to_one(canvas):
    canvas.actual_size()
    assert canvas.view_scale() == 1.0
    a, b = canvas.mapFromScene(QPointF(10, 10)), canvas.mapFromScene(QPointF(50, 30))
    assert (b.x() - a.x(), b.y() - a.y()) == (40, 20)


@pytest.mark.parametrize("delta", [120, -120, 360, -240])
def test_wheel_zoom_keeps_the_point_under_the_cursor(canvas, delta):
    canvas.actual_size()
    pos = QPointF(97, 71)
    before = scene_at(canvas, pos)
    scale = canvas.view_scale()
    wheel(canvas, pos, delta)
    assert canvas.view_scale() == pytest.approx(scale * 1.25 ** (delta / 120))
    after = scene_at(canvas, pos)
    tol = 1.0 / canvas.view_scale()  # scrolling moves in whole screen pixels
    assert abs(after.x() - before.x()) <= tol and abs(after.y() - before.y()) <= tol


def test_zoom_about_a_point_far_from_the_image_still_fixed(canvas):
    canvas.fit()
    pos = QPointF(5, 5)  # the margin, outside the image
    before = scene_at(canvas, pos)
    for _ in range(6):
        wheel(canvas, pos, 120)
    after = scene_at(canvas, pos)
    assert abs(after.x() - before.x()) <= 1 / canvas.view_scale() + 1e-9
    assert abs(after.y() - before.y()) <= 1 / canvas.view_scale() + 1e-9


def test_ctrl_wheel_and_bracket_keys_change_brush_radius(canvas):
    sizes = []
    canvas.brushRadiusChanged.connect(sizes.append)
    canvas.set_brush_radius(10)
    scale = canvas.view_scale()
    wheel(canvas, QPointF(50, 50), 120, Qt.ControlModifier)
    assert canvas.brush_radius() > 10 and canvas.view_scale() == scale  # no zoom
    r = canvas.brush_radius()
    key(canvas, Qt.Key_BracketLeft)
    key(canvas, Qt.Key_BracketLeft)
    assert canvas.brush_radius() < r
    r = canvas.brush_radius()
    key(canvas, Qt.Key_BracketRight)
    assert canvas.brush_radius() > r
    assert sizes[0] == 10 and len(sizes) == 5
    canvas.set_brush_radius(0)
    key(canvas, Qt.Key_BracketLeft)
    assert canvas.brush_radius() == 0


def test_middle_drag_pans_without_painting(canvas):
    canvas.actual_size()
    before_label = canvas.label().copy()
    pos = QPointF(200, 150)
    before = scene_at(canvas, pos)
    drag(canvas, [(60, 40), (40, 30)], button=Qt.MiddleButton)  # drag the image left/up by 20,10 px
    after = scene_at(canvas, pos)
    assert (after.x() - before.x(), after.y() - before.y()) == pytest.approx((20, 10), abs=1)
    assert np.array_equal(canvas.label(), before_label)


def test_space_drag_pans_instead_of_painting(canvas):
    canvas.actual_size()
    records = []
    canvas.strokeFinished.connect(records.append)
    before_label = canvas.label().copy()
    pos = QPointF(200, 150)
    before = scene_at(canvas, pos)
    key(canvas, Qt.Key_Space)
    drag(canvas, [(60, 40), (70, 45)])
    key(canvas, Qt.Key_Space, release=True)
    after = scene_at(canvas, pos)
    assert (after.x() - before.x(), after.y() - before.y()) == pytest.approx((-10, -5), abs=1)
    assert np.array_equal(canvas.label(), before_label) and records == []
    drag(canvas, [(30, 30), (31, 30)])  # space released: paints again
    assert len(records) == 1


def test_brush_outline_follows_cursor_at_brush_size(canvas):
    canvas.actual_size()
    canvas.zoom_at(4.0, QPointF(canvas.viewport().rect().center()))
    canvas.set_brush_radius(5)
    mouse(canvas, "move", 30.7, 20.2)
    item = canvas._brush_item
    assert item.isVisible()
    assert (item.pos().x(), item.pos().y()) == (30.5, 20.5)  # centred on the hovered pixel
    a = canvas.mapFromScene(QPointF(30.5 - 5.5, 20.5))
    b = canvas.mapFromScene(QPointF(30.5 + 5.5, 20.5))
    assert b.x() - a.x() == pytest.approx(44, abs=1)  # 11 image px across at 4x zoom
    canvas.set_tool("fill")
    assert not item.isVisible()


def test_overlay_modes_change_the_rendered_pixels(canvas):
    canvas.actual_size()
    canvas.set_opacity(1.0)
    fill = grab(canvas)
    p = screen_px(canvas, 60, 40)  # centre of the pupil disc
    e = screen_px(canvas, 60, 40 - H // 4 + 1)  # just inside its top edge
    assert tuple(fill[p.y(), p.x()]) == (0, 137, 255)  # CaDIS pupil colour
    canvas.set_overlay_mode("contour")
    contour = grab(canvas)
    canvas.set_overlay_mode("hidden")
    hidden = grab(canvas)
    image = synthetic_frame()[0]
    assert tuple(hidden[p.y(), p.x()]) == tuple(image[40, 60])  # just the image
    assert tuple(contour[p.y(), p.x()]) == tuple(image[40, 60])  # inside a region: no overlay
    assert tuple(contour[e.y(), e.x()]) in {(0, 137, 255), (255, 0, 0)}  # boundary drawn
    assert not np.array_equal(fill, contour) and not np.array_equal(contour, hidden)
    canvas.set_overlay_mode("fill")
    assert np.array_equal(grab(canvas), fill)


def test_opacity_blends_overlay_with_image(canvas):
    canvas.actual_size()
    p = screen_px(canvas, 60, 40)
    image_px = synthetic_frame()[0][40, 60].astype(int)
    colour = np.array([0, 137, 255])
    for a in (0.0, 0.5, 1.0):
        canvas.set_opacity(a)
        got = grab(canvas)[p.y(), p.x()].astype(int)
        assert np.abs(got - (a * colour + (1 - a) * image_px)).max() <= 3


def test_hidden_classes_and_class_set_colours_render(canvas):
    canvas.actual_size()
    canvas.set_opacity(1.0)
    p = screen_px(canvas, 60, 40)
    canvas.set_hidden_classes({0})
    assert tuple(grab(canvas)[p.y(), p.x()]) == tuple(synthetic_frame()[0][40, 60])
    canvas.set_hidden_classes(set())
    canvas.label()[35:45, 55:65] = 32  # an instrument handle
    canvas.refresh((55, 35, 65, 45))
    assert tuple(grab(canvas)[p.y(), p.x()]) == (10, 91, 44)
    canvas.set_class_set(1)  # experiment 1: one "Instrument" class, drawn in the colour of ID 7
    assert tuple(grab(canvas)[p.y(), p.x()]) == (141, 141, 141)
    canvas.set_class_set(2)  # experiment 2: 32 belongs to Cannula (first ID 7)
    assert tuple(grab(canvas)[p.y(), p.x()]) == (141, 141, 141)
    canvas.label()[35:45, 55:65] = 30  # Mendez ring: ignored in experiment 2 -> black
    canvas.refresh((55, 35, 65, 45))
    assert tuple(grab(canvas)[p.y(), p.x()]) == (0, 0, 0)


def test_refresh_after_external_change(canvas):
    label = canvas.label()
    label[0:5, 0:5] = 6
    canvas.refresh((0, 0, 5, 5))
    buf = canvas.overlay().buffer
    assert np.array_equal(buf, canvas.overlay().colour_table[label])


def test_bad_input_gives_clear_errors(canvas):
    image, label = synthetic_frame()
    with pytest.raises(ValueError, match="differ in size"):
        canvas.set_frame(image[:10], label)
    with pytest.raises(ValueError, match="uint8"):
        canvas.set_frame(image, label.astype(np.int32))
    with pytest.raises(ValueError, match="unknown tool"):
        canvas.set_tool("spray")
    with pytest.raises(ValueError, match="overlay mode"):
        canvas.set_overlay_mode("outline")
    assert canvas.tool_names() == ["brush", "eraser", "fill", "polygon", "lasso", "segment", "picker"]


def test_screenshot_is_not_blank_and_saved_for_docs(qtbot):
    from desktop.canvas import CanvasView
    try:
        from engine.phantom import render_frame

        image, label = render_frame(7, width=960, height=540)
    except ImportError:  # the phantom generator is optional here: a synthetic frame shows the same
        image, label = synthetic_frame(960, 540)
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(960, 560)
    view.show()
    qtbot.waitExposed(view)
    view.set_frame(image, label.copy())
    view.set_opacity(0.55)
    view.set_current_class(13)
    view.set_brush_radius(14)
    drag(view, [(120, 420), (200, 400), (300, 410), (380, 380)])
    mouse(view, "move", 480.5, 300.5)  # brush outline at the cursor
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    shot = view.grab()
    assert shot.save(str(DOCS_IMG / "canvas.png"))
    view.set_tool("polygon")
    view.set_current_class(9)
    for x, y in [(700, 80), (860, 120), (820, 240)]:
        mouse(view, "press", x + 0.5, y + 0.5)
        mouse(view, "release", x + 0.5, y + 0.5)
    mouse(view, "move", 720.5, 220.5)  # rubber band to the cursor
    view.set_overlay_mode("contour")
    view.set_opacity(1.0)
    shot2 = view.grab()
    assert shot2.save(str(DOCS_IMG / "canvas_polygon_contour.png"))
    for s in (shot, shot2):
        px = qimage_to_rgb(s.toImage())
        assert px.std() > 20 and len(np.unique(px.reshape(-1, 3), axis=0)) > 50


def test_fitted_view_refits_on_resize_until_the_user_zooms(canvas, qtbot):
    canvas.fit()
    s = canvas.view_scale()
    canvas.resize(840, 640)
    qtbot.waitUntil(lambda: canvas.view_scale() != s)
    assert canvas.view_scale() == pytest.approx(2 * s, rel=0.05)
    wheel(canvas, QPointF(100, 100), 120)
    s = canvas.view_scale()
    canvas.resize(420, 320)
    qtbot.wait(10)
    assert canvas.view_scale() == s


def test_touchpad_ctrl_wheel_deltas_add_up(canvas):
    canvas.set_brush_radius(10)
    for _ in range(3):
        wheel(canvas, QPointF(50, 50), 40, Qt.ControlModifier)
    assert canvas.brush_radius() == 12  # three thirds of a notch = one step of max(1, 15 %)
