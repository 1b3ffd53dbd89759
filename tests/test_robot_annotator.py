"""The effort benchmark's robot annotator: it reaches 98 % pixel accuracy, counts its actions by tool, needs none
for a right start, and fewer for a start that is nearly right than for an empty frame."""
import numpy as np

from benchmarks.robot_annotator import correct
from engine.phantom import VideoRenderer
from engine.taxonomy import IGNORE


def test_robot_reaches_the_target_and_counts_by_tool():
    r = VideoRenderer(5, 1, 480, 270)
    truth = r.video_label(40)
    empty = correct(np.full_like(truth, IGNORE), truth)
    assert empty.reached and empty.accuracy >= 0.98
    assert empty.actions == sum(empty.by_tool.values()) and empty.by_tool["polygon"] >= 1
    assert empty.painted >= 0.98 * truth.size * 0.9
    assert correct(truth, truth).actions == 0
    near = correct(r.video_label(41), truth)
    assert near.reached and near.actions < empty.actions and near.painted < empty.painted


def test_a_thin_sliver_is_brushed_along_its_length_not_row_by_row():
    truth = np.full((270, 480), 5, np.uint8)
    truth[:, 200:260] = 4
    start = truth.copy()
    start[20:140, 200:204] = 5  # a 4-px sliver, 120 px long at 480 wide (240 at 960): one stroke along it
    start[:, 300:] = IGNORE     # and a big unlabelled block: one flood fill
    res = correct(start, truth, target=0.999)
    assert res.reached and res.by_tool == {"flood": 1, "polygon": 0, "brush": 1}, res
    start[20:250, 200:204] = 5  # 230 px (460 at 960): two strokes of at most 300 px at 960
    assert correct(start, truth, target=0.999).by_tool["brush"] == 2
