"""One resolution per export: pairs of another size are resized explicitly and the manifest/report say so."""
from __future__ import annotations

import numpy as np

from engine.export import export_cadis, read_manifest
from engine.export.report import report_from_export
from engine.export.resize import pick_export_size, resize_pair
from engine.imageio import read_image, read_label
from engine.project import Project

from test_project_store import H, W, make_cadis


def test_pick_size_prefers_the_real_frames_then_the_most_common():
    assert pick_export_size([(960, 540), (960, 540), (480, 270)], [(128, 72)] * 5) == (960, 540)
    assert pick_export_size([], [(128, 72), (128, 72), (960, 540)]) == (128, 72)
    assert pick_export_size([], []) is None


def test_resize_pair_keeps_ids_and_uses_area_or_bicubic():
    label = np.zeros((4, 8), np.uint8)
    label[:, 4:] = 13
    image = np.zeros((4, 8, 3), np.uint8)
    image[:, 4:] = 200
    img, lab = resize_pair(image, label, (16, 8))
    assert img.shape == (8, 16, 3) and lab.shape == (8, 16)
    assert set(np.unique(lab)) == {0, 13}  # nearest: no blended IDs
    small, _ = resize_pair(np.full((8, 16, 3), 90, np.uint8), np.zeros((8, 16), np.uint8), (8, 4))
    assert np.all(small == 90)


def test_an_export_resizes_other_sized_pairs_and_reports_it(tmp_path):
    p = Project.open_or_create(make_cadis(tmp_path / "cadis", videos=(1,), frames=(10, 20)))
    try:
        for key in p.frame_keys():
            p.set_status(key, "done")
        rng = np.random.default_rng(0)
        small_label = np.full((H // 2, W // 2), 4, np.uint8)
        small_label[:, : W // 4] = 7
        pid = p.add_pair(rng.integers(0, 255, (H // 2, W // 2, 3), dtype=np.uint8), small_label, "synthesis", {})
        same = p.add_pair(rng.integers(0, 255, (H, W, 3), dtype=np.uint8), np.full((H, W), 5, np.uint8),
                          "synthesis", {})
        for i in (pid, same):
            p.set_pair_status(i, "accepted")
        out = tmp_path / "export"
        export_cadis(p, out, include=("real", "synthetic"), finishers=[report_from_export])
    finally:
        p.close()
    m = read_manifest(out)
    assert {(f["width"], f["height"]) for f in m["frames"]} == {(W, H)}  # one resolution
    resized = [f for f in m["frames"] if f.get("resized_from")]
    assert [f["pair_id"] for f in resized] == [pid] and resized[0]["resized_from"] == f"{W // 2}x{H // 2}"
    assert m["resolution"]["size"] == f"{W}x{H}" and len(m["resolution"]["resized"]) == 1
    lab = read_label(out / resized[0]["label"])
    assert lab.shape == (H, W) and set(np.unique(lab)) == {4, 7}
    assert read_image(out / resized[0]["image"]).shape == (H, W, 3)
    report = next(out.glob("*.md")).read_text()
    assert "## Resolution" in report and f"was {W // 2}x{H // 2}" in report
