"""Project store and export speed, each next to a naive baseline measured in the same run.

- persisting one brush stroke: journal append (framed record, fsync) vs saving the whole 960x540 label
- saving a 960x540 label: atomic save (temp + fsync + rename + DB row + journal cleanup) vs a bare cv2.imwrite
- statuses of a 4,670-frame project for the frame browser: one query vs one query per frame
- export of 20 frames 960x540: PNG bytes copied vs decoding and re-encoding every image

Run: `python -m benchmarks -k project`.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from benchmarks._timing import median_ms, print_table

FRAMES_PER_VIDEO = (177, 170, 176, 173, 178, 183, 183, 184, 175, 205, 182, 217, 171, 230, 181, 173, 179, 185,
                    214, 199, 219, 199, 178, 180, 159)


def _make_tree(root: Path, image: np.ndarray, label: np.ndarray) -> None:
    """A 4,670-frame CaDIS tree whose files are hard links to one 960x540 image and one label."""
    from engine.imageio import write_image, write_label

    src_img, src_lab = root / "_img.png", root / "_lab.png"
    write_image(src_img, image)
    write_label(src_lab, label)
    for v, n in enumerate(FRAMES_PER_VIDEO, 1):
        for sub in ("Images", "Labels"):
            (root / "cadis" / f"Video{v:02d}" / sub).mkdir(parents=True)
        for f in range(n):
            name = f"Video{v}_frame{f * 5:06d}.png"
            os.link(src_img, root / "cadis" / f"Video{v:02d}" / "Images" / name)
            os.link(src_lab, root / "cadis" / f"Video{v:02d}" / "Labels" / name)


def main() -> None:
    from engine.edits import UndoRecord
    from engine.export import export_cadis
    from engine.imageio import read_image
    from engine.project import Project

    rng = np.random.default_rng(0)
    h, w = 540, 960
    image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    y, x = np.mgrid[0:h, 0:w]
    label = np.where((x - 480) ** 2 + (y - 270) ** 2 < 150 ** 2, 0, 4).astype(np.uint8)
    label[:, :120] = 5
    tmp = Path(tempfile.mkdtemp(prefix="bench-project-"))
    try:
        _make_tree(tmp, image, label)
        project = Project.open_or_create(tmp / "cadis")
        keys = project.frame_keys()
        key = keys[0]
        rows = []

        box = label[200:232, 300:332].copy()
        stroke = UndoRecord(200, 300, box, np.full_like(box, 13))
        t_journal = median_ms(lambda: project.journal_append(key, stroke), repeat=30)
        t_full = median_ms(lambda: project.save_label(key, label), repeat=15)
        rows.append(("persist one 32x32 stroke", f"{t_journal:.2f}", f"{t_full:.2f}", f"{t_full / t_journal:.0f}x",
                     "journal append vs full label save"))

        plain = tmp / "plain.png"
        t_plain = median_ms(lambda: cv2.imwrite(str(plain), label), repeat=15)
        rows.append(("save 960x540 label", f"{t_full:.2f}", f"{t_plain:.2f}", f"{t_plain / t_full:.2f}x",
                     "atomic+DB vs bare imwrite (cost of safety)"))

        for n, k in enumerate(keys[::3]):
            project.set_status(k, "rejected" if n % 2 else "flagged")
        t_one = median_ms(project.statuses, repeat=10)
        t_each = median_ms(lambda: [project.status(k) for k in keys], repeat=3, warmup=1)
        rows.append((f"statuses of {len(keys)} frames", f"{t_one:.2f}", f"{t_each:.2f}", f"{t_each / t_one:.0f}x",
                     "one query vs one per frame"))

        done = keys[:20]
        for k in done:
            project.set_status(k, "done")
        assert len(project.keys_with_status("done")) == len(done)
        out = tmp / "export"
        project.statuses()

        def ours():
            export_cadis(project, out, statuses=("done",), overwrite=True)

        def naive():
            shutil.rmtree(out, ignore_errors=True)
            for k in done:
                rec = project.record(k)
                dst = out / Path(k)
                dst.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(dst), cv2.cvtColor(read_image(rec.image_path), cv2.COLOR_RGB2BGR))
                lab_dst = out / Path(k.replace("/Images/", "/Labels/"))
                lab_dst.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(lab_dst), project.load_label(k))

        t_ours = median_ms(ours, repeat=3, warmup=1)
        t_naive = median_ms(naive, repeat=3, warmup=1)
        rows.append(("export 20 frames 960x540", f"{t_ours:.0f}", f"{t_naive:.0f}", f"{t_naive / t_ours:.2f}x",
                     "copy PNG bytes+manifest+fsync vs re-encode"))
        project.close()
        print_table("project store and export (ms, median)", rows,
                    ("operation", "ours", "baseline", "speed-up", "baseline is"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
