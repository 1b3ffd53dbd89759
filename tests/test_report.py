"""Class-frequency report: tables match the counts, the chart is drawn, rare classes are highlighted."""
import csv

import numpy as np
import pytest

from engine.export.report import ClassFrequency, compare_rows, rare_classes, render_chart, write_report
from engine.imageio import read_image
from engine.phantom import render_frame
from engine.taxonomy import get_class_set


@pytest.fixture(scope="module")
def labels():
    return [render_frame(s, 120, 68)[1] for s in range(12)]


def test_counts_and_rare_classes(labels):
    freq = ClassFrequency.from_labels(labels, "full")
    assert freq.n_frames == 12
    for c in (0, 6, 17):
        assert freq.pixels[c] == sum(int((lab == c).sum()) for lab in labels)
        assert freq.frames[c] == sum(bool((lab == c).any()) for lab in labels)
    rare = rare_classes(freq, 0.1)
    assert all(freq.frames[c] < 0.1 * 12 for c in rare) and 6 not in rare
    exp1 = ClassFrequency.from_labels([get_class_set(1).remap(lab) for lab in labels], 1)
    assert exp1.pixels.shape == (8,) and exp1.pixels.sum() == freq.pixels.sum()


def test_report_files(labels, tmp_path):
    before = ClassFrequency.from_labels(labels[:6], "full")
    extra = [np.where(lab == 17, 14, lab).astype(np.uint8) for lab in labels[6:]]  # more lens injector
    after = ClassFrequency.from_labels(labels[:6] + extra, "full")
    files = write_report(before, after, tmp_path)
    rows = list(csv.DictReader(files.csv.open()))
    assert len(rows) == 36
    r14 = rows[14]
    assert int(r14["frames_before"]) == before.frames[14]
    assert int(r14["frames_after"]) == before.frames[14] + sum(bool((lab == 14).any()) for lab in extra)
    assert r14["rare"] == "True"
    md = files.markdown.read_text()
    assert "**Lens Injector**" in md and "| 6 | Cornea |" in md
    chart = read_image(files.chart)
    assert chart.shape[0] > 36 * 20 and chart.std() > 20
    # rare rows are drawn on the yellow band
    assert (chart == np.array([255, 244, 200], np.uint8)).all(-1).sum() > 1000
    with pytest.raises(ValueError):
        compare_rows(before, ClassFrequency.from_labels(labels, 1))


def test_chart_without_any_frames_still_renders():
    empty = ClassFrequency.from_labels([], 2)
    img = render_chart(compare_rows(empty, empty), get_class_set(2))
    assert img.dtype == np.uint8 and img.shape[2] == 3
