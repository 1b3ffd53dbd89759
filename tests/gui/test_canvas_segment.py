"""The Segment tool on a real canvas with a tiny SAM 2 folder: click → outline of the engine's mask, Tab
cycles, Enter commits exactly `commit_candidate` under the paint rules as one record, Esc drops, a frame
switch drops the prompt and a stale embedding, Shift+click repairs a region as one record."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from desktop.canvas.segment_assist import SegmentAssist
from desktop.workers import JobRunner
from engine.edits import PaintPolicy, UndoStack
from engine.segment import Prompt, Segmenter, class_region, commit_candidate, replace_region
from tests.gui.canvas_helpers import drag, key, make_canvas, mouse, pixel_click, synthetic_frame
from tests.segment_helpers import make_tiny_folder

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_tiny_folder(tmp_path_factory.mktemp("seg") / "sam2", "sam2")


@pytest.fixture
def setup(qtbot, folder):
    view = make_canvas(qtbot)
    view.actual_size()
    view.zoom_at(2.0, QPointF(view.viewport().rect().center()))
    runner = JobRunner()
    assist = SegmentAssist(runner, lambda: "cpu")
    assist.set_folder(str(folder))
    view.set_segment_source(assist)
    view.set_tool("segment")
    records, messages = [], []
    view.strokeFinished.connect(records.append)
    view.segmentMessage.connect(messages.append)
    image, _ = synthetic_frame()
    assist.set_frame("f1", image)
    assert runner.wait(60_000) and assist.is_ready()
    yield view, assist, runner, image, records, messages
    runner.shutdown()


def _engine(folder, image, prompt):
    return Segmenter.open(folder, "cpu").candidates(image, prompt, "x")


def test_click_shows_the_engines_mask_tab_cycles_enter_commits_one_step(setup, folder):
    view, assist, runner, image, records, _ = setup
    view.set_current_class(9)
    view.set_policy(PaintPolicy("over_unlabelled"))
    before = view.label().copy()
    pixel_click(view, 60, 40)
    pixel_click(view, 100, 20, Qt.RightButton)
    assert view.segment_layer().mask is None    # asked for in the prompt lane, not computed on the GUI thread
    runner.wait(60_000)
    tool = view.tool()
    assert tool.prompt.points == ((60, 40, True), (100, 20, False))
    expected = _engine(folder, image, tool.prompt)
    assert (view.segment_layer().mask == expected.masks[0]).all()
    key(view, Qt.Key_Tab)
    assert (view.segment_layer().mask == expected.masks[1]).all()
    assert view.label().tobytes() == before.tobytes() and not records   # nothing written before Enter
    key(view, Qt.Key_Return)
    want = before.copy()
    commit_candidate(want, expected.masks[1], 9, PaintPolicy("over_unlabelled"))
    assert (view.label() == want).all()
    assert len(records) == 1 and not tool.busy() and view.segment_layer().mask is None
    assert not (view.label() != before)[before != 255].any()           # painted pixels kept
    stack = UndoStack()
    stack.push(records[0])
    stack.undo(view.label())
    assert (view.label() == before).all()


def test_drag_is_a_box_escape_drops(setup, folder):
    view, _, runner, image, records, _ = setup
    drag(view, [(20, 10), (40, 30), (80, 60)])
    runner.wait(60_000)
    tool = view.tool()
    assert tool.prompt.box == (20, 10, 81, 61) and tool.prompt.points == ()
    assert (view.segment_layer().mask == _engine(folder, image, tool.prompt).masks[0]).all()
    key(view, Qt.Key_Escape)
    assert not tool.busy() and view.segment_layer().mask is None and not records


def test_double_click_commits(setup, folder):
    view, _, runner, image, records, _ = setup
    view.set_current_class(12)
    before = view.label().copy()
    mouse(view, "press", 60.5, 40.5)
    mouse(view, "release", 60.5, 40.5)
    mouse(view, "double", 60.5, 40.5)          # before the first click's masks are back: committed on arrival
    mouse(view, "release", 60.5, 40.5)
    runner.wait(60_000)
    mask = _engine(folder, image, Prompt(((60, 40, True),))).masks[0]
    assert not view.tool().busy()
    want = before.copy()
    commit_candidate(want, mask, 12, view.policy())
    assert (view.label() == want).all() and len(records) == int((want != before).any())


def test_frame_switch_drops_the_prompt_and_a_stale_embedding(setup, folder):
    view, assist, runner, image, records, messages = setup
    pixel_click(view, 60, 40)                # its masks are on their way when the frame changes
    assert view.tool().busy()
    other = image[::-1].copy()
    view.set_frame(other, np.full(other.shape[:2], 255, np.uint8))
    assist.set_frame("f2", other)
    assert not view.tool().busy() and view.segment_layer().mask is None and not records
    third = image[:, ::-1].copy()
    view.set_frame(third, np.full(third.shape[:2], 255, np.uint8))
    assist.set_frame("f3", third)           # f2's request is cancelled; its result, if any, is dropped
    pixel_click(view, 10, 10)               # (most likely) before the embedding is there: kept, the mask follows
    assert view.segment_layer().mask is None
    assert runner.wait(60_000)
    runner.wait(60_000)                     # the prompt asked again once the embedding arrived
    assert assist.is_ready()                # (f2's embedding may have finished before the cancel: it is only cached)
    want = _engine(folder, third, Prompt(((10, 10, True),))).masks[0]
    assert (view.segment_layer().mask == want).all()    # the waiting prompt's mask; f1's late reply was dropped


def test_shift_click_repairs_the_region_as_one_step(setup, folder):
    view, _, runner, image, records, _ = setup
    before = view.label().copy()
    mouse(view, "press", 60.5, 40.5, modifiers=Qt.ShiftModifier)       # the pupil disc (class 0)
    mouse(view, "release", 60.5, 40.5, modifiers=Qt.ShiftModifier)
    runner.wait(60_000)
    tool = view.tool()
    cls, region = class_region(before, 60, 40)
    assert tool.repair[0] == 0 and (tool.prompt.region == region).all()
    pixel_click(view, 20, 70, Qt.RightButton)                           # a corrective click
    runner.wait(60_000)
    prompt = Prompt(((20, 70, False),), None, region)
    expected = _engine(folder, image, prompt)
    assert (view.segment_layer().mask == expected.masks[0]).all()
    key(view, Qt.Key_Return)
    want = before.copy()
    replace_region(want, region, expected.masks[0], cls, view.policy())
    assert (view.label() == want).all() and len(records) == int((want != before).any())


def test_without_a_folder_the_tool_says_where_to_set_one(qtbot):
    view = make_canvas(qtbot)
    runner = JobRunner()
    assist = SegmentAssist(runner, lambda: "cpu")
    view.set_segment_source(assist)
    view.set_tool("segment")
    messages = []
    view.segmentMessage.connect(messages.append)
    pixel_click(view, 10, 10)
    assert messages and "Preferences" in messages[-1] and view.segment_layer().mask is None
    runner.shutdown()


def test_find_by_name_is_a_proposal_accepted_over_unlabelled_pixels_only(qtbot, tmp_path):
    from engine.segment import union

    folder = make_tiny_folder(tmp_path / "sam3", "sam3")
    view = make_canvas(qtbot)
    runner = JobRunner()
    assist = SegmentAssist(runner, lambda: "cpu")
    assist.set_folder(str(folder))
    assist.find_threshold = 0.0            # random weights score about 0.25: show every query
    view.set_segment_source(assist)
    view.set_tool("segment")
    assist.found.connect(view.tool().show_found)
    records = []
    view.strokeFinished.connect(records.append)
    image, label = synthetic_frame()
    assist.set_frame("f1", image)
    assert assist.find(["cannula", "forceps"])
    assert runner.wait(60_000)
    tool = view.tool()
    found = Segmenter.open(folder, "cpu").find(image, ["cannula", "forceps"], "x", 0.0)
    assert tool.proposal and (view.segment_layer().mask == union(found, label.shape)).all()
    key(view, Qt.Key_Tab)
    assert (view.segment_layer().mask == found.masks[0]).all()
    for _ in range(len(found)):
        key(view, Qt.Key_Tab)                 # round to the union again
    assert (view.segment_layer().mask == union(found, label.shape)).all()
    before = view.label().copy()
    view.set_current_class(21)
    key(view, Qt.Key_Return)
    changed = view.label() != before
    assert (changed == (union(found, label.shape) & (before == 255))).all()
    assert len(records) == int(changed.any()) and not tool.busy()
    runner.shutdown()


def _ahead_files(tmp_path, image, n):
    from engine.imageio import write_image

    frames = []
    for i in range(n):
        img = np.roll(image, 7 * (i + 1), axis=1)
        write_image(tmp_path / f"next{i}.png", img)
        frames.append((f"f{i + 2}", tmp_path / f"next{i}.png", img))
    return frames


def test_the_next_frames_are_embedded_ahead_within_the_cache_bound(qtbot, folder, tmp_path):
    runner = JobRunner()
    assist = SegmentAssist(runner, lambda: "cpu")
    assist.set_folder(str(folder))
    assist.idle_s = 0.0
    image, _ = synthetic_frame()
    ahead = _ahead_files(tmp_path, image, 5)
    assist.set_frame("f1", image, ahead=[(k, p) for k, p, _ in ahead])
    runner.wait(60_000)
    runner.wait(60_000)
    seg = assist._segmenter
    bound = seg.cache.max_items
    # the open frame and as many next frames as the cache holds beside it; never more than its bound
    assert len(seg.cache) == bound and seg.cached(image, "f1") is not None
    assert [seg.cached(img, k) is not None for k, _, img in ahead] == [i < bound - 1 for i in range(5)]
    assert seg.cache.nbytes() <= seg.cache.max_bytes
    key2, _, img2 = ahead[0]
    assist.set_frame(key2, img2)                 # opening it: ready at once, no embedding job
    assert assist.is_ready() and not runner.lane("segment").active("segment-embed")
    runner.shutdown()


def test_frames_ahead_wait_while_the_annotator_works_and_a_frame_switch_drops_them(qtbot, folder, tmp_path):
    view = make_canvas(qtbot)
    runner = JobRunner()
    assist = SegmentAssist(runner, lambda: "cpu")
    assist.set_folder(str(folder))
    assist.watch(view.viewport())
    view.set_segment_source(assist)
    image, label = synthetic_frame()
    view.set_frame(image, label.copy())
    ahead = _ahead_files(tmp_path, image, 2)
    assist.idle_s = 5.0
    view.set_tool("brush")
    before = view.label().copy()
    drag(view, [(20, 20), (60, 30)])             # the annotator paints (the watched viewport touches the assist)
    assist.set_frame("f1", image, ahead=[(k, p) for k, p, _ in ahead])
    qtbot.waitUntil(lambda: bool(runner.lane("segment").active("segment-ahead")), timeout=60_000)
    for y in (40, 50, 60):                       # painting goes on while the frames ahead wait
        drag(view, [(20, y), (60, y)])
        qtbot.wait(150)
    assert (view.label() != before).any()
    seg = assist._segmenter
    assert all(seg.cached(img, k) is None for k, _, img in ahead)   # nothing made while the annotator works
    assist.set_frame("f9", image[::-1].copy())  # a frame switch cancels the waiting job
    assert runner.wait(60_000)
    assert all(seg.cached(img, k) is None for k, _, img in ahead)
    assist.idle_s = 0.0
    k0, p0, img0 = ahead[0]
    assist.set_frame("f1", image, ahead=[(k0, p0)])  # idle again: made
    runner.wait(60_000)
    runner.wait(60_000)
    assert seg.cached(img0, k0) is not None
    runner.shutdown()


def test_a_prompt_before_the_embedding_waits_for_it(qtbot, folder):
    view = make_canvas(qtbot)
    runner = JobRunner()
    assist = SegmentAssist(runner, lambda: "cpu")
    assist.set_folder(str(folder))
    view.set_segment_source(assist)
    view.set_tool("segment")
    messages = []
    view.segmentMessage.connect(messages.append)
    pixel_click(view, 10, 10)                   # the assist has no embedding for this frame yet
    assert "still being made" in messages[-1] and view.segment_layer().mask is None and view.tool().busy()
    image, _ = synthetic_frame()
    assist.set_frame("f1", image)
    runner.wait(60_000)
    runner.wait(60_000)
    want = _engine(folder, image, Prompt(((10, 10, True),))).masks[0]
    assert (view.segment_layer().mask == want).all()
    runner.shutdown()
