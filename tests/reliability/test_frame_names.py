"""Frame names that differ in text but name the same frame never collide: only the CaDIS spelling is
indexed, every other spelling is a reported problem, and an export lists only files it wrote, once each."""
from __future__ import annotations

import json

import numpy as np

from engine.dataset import open_dataset, validate
from engine.export import export_cadis, read_manifest
from engine.export.coco import write_coco
from engine.imageio import read_label, write_image, write_label
from tests.reliability import tally

H, W = 12, 16
# all of these would have parsed to (video 1, frame 7); only the first is the CaDIS name
SPELLINGS = ("Video1_frame000007.png", "Video1_frame0000007.png", "Video01_frame000007.png",
             "Video1_frame\u0660\u0660\u0660\u0660\u0660\u0667.png",  # Arabic-Indic digits
             "Video1_frame\uff10\uff10\uff10\uff10\uff10\uff17.png")  # full-width digits


def _dataset(root):
    for n, name in enumerate(SPELLINGS):
        write_image(root / "Video01" / "Images" / name, np.full((H, W, 3), 10 * n, np.uint8))
        write_label(root / "Video01" / "Labels" / name, np.full((H, W), n, np.uint8))
    # a second spelling of the video folder holding the same frame
    write_image(root / "Video1" / "Images" / SPELLINGS[0], np.full((H, W, 3), 99, np.uint8))
    write_label(root / "Video1" / "Labels" / SPELLINGS[0], np.full((H, W), 9, np.uint8))
    return root


def test_colliding_spellings_are_problems_and_the_export_lists_each_file_once(tmp_path):
    root = _dataset(tmp_path / "cadis")
    index = open_dataset(root)
    assert [f.key for f in index.frames] == ["Video01/Images/Video1_frame000007.png"]
    report = validate(index, workers=1)
    reported = {p.path for p in report.problems}
    for name in SPELLINGS[1:]:
        assert f"Video01/Images/{name}" in reported and f"Video01/Labels/{name}" in reported
    assert "Video1" in reported  # the misnamed video folder is named, not silently merged
    tally.add("fuzz_cases", len(SPELLINGS) + 1)
    tally.add("fuzz_refused", len(SPELLINGS))

    out = tmp_path / "out"
    export_cadis(index, out, finishers=[write_coco])
    manifest = read_manifest(out)
    images = [f["image"] for f in manifest["frames"]]
    assert images == ["Video01/Images/Video1_frame000007.png"]
    assert np.array_equal(read_label(out / manifest["frames"][0]["label"]), np.zeros((H, W), np.uint8))
    coco = json.loads((out / "coco.json").read_text())
    names = [im["file_name"] for im in coco["images"]]
    assert len(names) == len(set(names)) == 1
    on_disk = sorted(p.relative_to(out).as_posix() for p in (out / "Video01" / "Images").iterdir())
    assert on_disk == ["Video01/Images/Video1_frame000007.png"]


def test_two_files_of_one_frame_number_keep_one_and_report_the_other(tmp_path):
    root = tmp_path / "cadis"
    write_image(root / "Video02" / "Images" / "Video2_frame000001.jpg", np.zeros((H, W, 3), np.uint8))
    write_image(root / "Video02" / "Images" / "Video2_frame000001.png", np.zeros((H, W, 3), np.uint8))
    write_label(root / "Video02" / "Labels" / "Video2_frame000001.png", np.zeros((H, W), np.uint8))
    index = open_dataset(root)
    assert len(index.frames) == 1
    assert any("frame 1 of video 2 too" in p.reason for p in index.scan_problems)
