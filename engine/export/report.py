"""Before/after class frequency report: pixels and frames per class, as Markdown + CSV tables and a bar
chart PNG drawn with OpenCV (no matplotlib). Rare classes (seen in few frames before) are highlighted.

    files = write_report(ClassFrequency.from_labels(real_labels, cs),
                         ClassFrequency.from_labels(real_and_synthetic_labels, cs), out_dir)
    files = report_from_export(export_dir)   # before = real frames of the manifest, after = all frames
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from engine.atomic import atomic_write_text
from engine.histogram import label_histogram
from engine.imageio import read_label, write_image
from engine.taxonomy import IGNORE, ClassSet, get_class_set

RARE_FRAME_SHARE = 0.10  # a class seen in fewer than 10% of the frames (before) is rare
REPORT_NAME = "class_frequency"


@dataclass
class ClassFrequency:
    """Pixels and frames per class of a set of labels (of `class_set` IDs)."""

    class_set: ClassSet
    pixels: np.ndarray
    frames: np.ndarray
    n_frames: int

    @classmethod
    def from_labels(cls, labels: Iterable[np.ndarray], class_set: ClassSet | str | int = "full") -> "ClassFrequency":
        cs = class_set if isinstance(class_set, ClassSet) else get_class_set(class_set)
        pixels = np.zeros(256, np.int64)
        frames = np.zeros(256, np.int64)
        n = 0
        for label in labels:
            counts = label_histogram(label)
            pixels += counts
            frames += counts > 0
            n += 1
        k = cs.num_classes
        return cls(cs, pixels[:k].copy(), frames[:k].copy(), n)

    @property
    def labelled_pixels(self) -> int:
        return int(self.pixels.sum())

    def frame_share(self) -> np.ndarray:
        return self.frames / max(1, self.n_frames)

    def pixel_share(self) -> np.ndarray:
        return self.pixels / max(1, self.labelled_pixels)


def rare_classes(before: ClassFrequency, share: float = RARE_FRAME_SHARE) -> list[int]:
    """Classes seen in fewer than `share` of the frames (absent classes included)."""
    return [i for i, s in enumerate(before.frame_share()) if s < share]


def compare_rows(before: ClassFrequency, after: ClassFrequency, share: float = RARE_FRAME_SHARE) -> list[dict]:
    """One row per class: pixels and frames before and after, their shares, whether the class is rare."""
    if before.class_set.key != after.class_set.key:
        raise ValueError("before and after must use the same class set")
    rare = set(rare_classes(before, share))
    pb, pa = before.pixel_share(), after.pixel_share()
    fb, fa = before.frame_share(), after.frame_share()
    return [{"id": i, "name": name, "rare": i in rare,
             "pixels_before": int(before.pixels[i]), "pixels_after": int(after.pixels[i]),
             "frames_before": int(before.frames[i]), "frames_after": int(after.frames[i]),
             "pixel_share_before": float(pb[i]), "pixel_share_after": float(pa[i]),
             "frame_share_before": float(fb[i]), "frame_share_after": float(fa[i])}
            for i, name in enumerate(before.class_set.names)]


def to_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def to_markdown(rows: list[dict], before: ClassFrequency, after: ClassFrequency) -> str:
    lines = [f"# Class frequency: before {before.n_frames} frames, after {after.n_frames} frames", "",
             f"Rare classes (**bold**, seen in under {RARE_FRAME_SHARE:.0%} of the frames before) are the ones "
             "augmentation should bring up.", "",
             "| id | class | frames before | frames after | % frames before | % frames after | "
             "pixels before | pixels after | % pixels before | % pixels after |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        name = f"**{r['name']}**" if r["rare"] else r["name"]
        lines.append(f"| {r['id']} | {name} | {r['frames_before']} | {r['frames_after']} | "
                     f"{100 * r['frame_share_before']:.1f} | {100 * r['frame_share_after']:.1f} | "
                     f"{r['pixels_before']} | {r['pixels_after']} | {100 * r['pixel_share_before']:.3f} | "
                     f"{100 * r['pixel_share_after']:.3f} |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ chart
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_ROW = 22
_NAME_W = 280
_PANEL_W = 380
_TOP = 78
_BEFORE = (150, 150, 150)
_RARE_BG = (255, 244, 200)
_RARE_TEXT = (170, 20, 20)


def _text(img, s, x, y, scale=0.42, color=(30, 30, 30), thick=1):
    cv2.putText(img, s, (int(x), int(y)), _FONT, scale, color, thick, cv2.LINE_AA)


def _log_pos(share: float, lo: float = 1e-5) -> float:
    """Pixel share on a log axis from `lo` to 1, as 0..1."""
    if share <= 0:
        return 0.0
    return max(0.0, min(1.0, (math.log10(share) - math.log10(lo)) / -math.log10(lo)))


def render_chart(rows: list[dict], class_set: ClassSet, title: str = "Class frequency before / after") -> np.ndarray:
    """HxWx3 RGB bar chart: per class, frames with the class (%) and pixel share (log), before in grey,
    after in the class colour; rare classes on a yellow band with the name in red."""
    pal = class_set.palette
    h = _TOP + _ROW * len(rows) + 40
    w = _NAME_W + 2 * (_PANEL_W + 50) + 20
    img = np.full((h, w, 3), 255, np.uint8)
    _text(img, title, 12, 26, 0.65, thick=2)
    x1, x2 = _NAME_W, _NAME_W + _PANEL_W + 50
    _text(img, "frames with the class (%)", x1, 52, 0.45, thick=1)
    _text(img, "share of labelled pixels (log scale)", x2, 52, 0.45, thick=1)
    cv2.rectangle(img, (w - 330, 12), (w - 318, 24), _BEFORE, -1)
    _text(img, "before", w - 312, 23)
    cv2.rectangle(img, (w - 250, 12), (w - 238, 24), (70, 110, 200), -1)
    _text(img, "after (class colour)", w - 232, 23)
    fmax = max([r["frame_share_after"] for r in rows] + [r["frame_share_before"] for r in rows] + [1e-9])
    for n, r in enumerate(rows):
        y0 = _TOP + n * _ROW
        if r["rare"]:
            cv2.rectangle(img, (4, y0), (w - 4, y0 + _ROW - 2), _RARE_BG, -1)
        name = f"{r['id']:>2} {r['name']}" + (" *" if r["rare"] else "")
        _text(img, name[:40], 8, y0 + 15, 0.42, _RARE_TEXT if r["rare"] else (30, 30, 30), 1)
        colour = tuple(int(v) for v in pal[r["id"]])
        for x0, vb, va, txt in (
            (x1, r["frame_share_before"] / fmax, r["frame_share_after"] / fmax,
             f"{100 * r['frame_share_after']:.1f}"),
            (x2, _log_pos(r["pixel_share_before"]), _log_pos(r["pixel_share_after"]),
             f"{100 * r['pixel_share_after']:.2g}"),
        ):
            bw = int(round(vb * _PANEL_W))
            aw = int(round(va * _PANEL_W))
            if bw:
                cv2.rectangle(img, (x0, y0 + 3), (x0 + bw, y0 + 8), _BEFORE, -1)
            if aw:
                cv2.rectangle(img, (x0, y0 + 10), (x0 + aw, y0 + 18), colour, -1)
                cv2.rectangle(img, (x0, y0 + 10), (x0 + aw, y0 + 18), (60, 60, 60), 1)
            _text(img, txt, x0 + max(aw, bw) + 4, y0 + 17, 0.36, (80, 80, 80))
    for x0 in (x1, x2):
        cv2.line(img, (x0, _TOP - 4), (x0, _TOP + _ROW * len(rows)), (0, 0, 0), 1)
    for k, lab in enumerate(("1e-5", "1e-4", "1e-3", "1e-2", "0.1", "1")):
        xx = x2 + int(round(k / 5 * _PANEL_W))
        cv2.line(img, (xx, _TOP + _ROW * len(rows)), (xx, _TOP + _ROW * len(rows) + 5), (0, 0, 0), 1)
        _text(img, lab, xx - 10, _TOP + _ROW * len(rows) + 20, 0.36)
    _text(img, "* rare: seen in under 10% of the frames before", 8, h - 10, 0.4, _RARE_TEXT)
    return img


@dataclass
class ReportFiles:
    markdown: Path
    csv: Path
    chart: Path
    rows: list


def write_report(before: ClassFrequency, after: ClassFrequency, out_dir: str | Path, name: str = REPORT_NAME,
                 share: float = RARE_FRAME_SHARE) -> ReportFiles:
    """Write NAME.md, NAME.csv and NAME.png into `out_dir` (atomically)."""
    out = Path(out_dir)
    rows = compare_rows(before, after, share)
    md = atomic_write_text(out / f"{name}.md", to_markdown(rows, before, after))
    cs_path = atomic_write_text(out / f"{name}.csv", to_csv(rows))
    png = write_image(out / f"{name}.png", render_chart(rows, before.class_set))
    return ReportFiles(md, cs_path, png, rows)


def report_from_export(folder: str | Path, out_dir: str | Path | None = None) -> ReportFiles:
    """Report of an export folder: before = its real frames, after = real + synthetic (from manifest.json)."""
    from engine.export.manifest import read_manifest

    folder = Path(folder)
    m = read_manifest(folder)
    cs = get_class_set(m.get("class_set", {}).get("key", "full"))
    labels = [(f.get("source") == "real", read_label(folder / f["label"])) for f in m["frames"]]
    before = ClassFrequency.from_labels((lab for real, lab in labels if real), cs)
    after = ClassFrequency.from_labels((lab for _real, lab in labels), cs)
    files = write_report(before, after, out_dir if out_dir is not None else folder)
    res = m.get("resolution")
    if res and res.get("size"):  # one resolution per export: say which, and what was resized to it
        lines = ["", "## Resolution", "", f"Every pair is {res['size']}."]
        if res.get("resized"):
            lines.append(f"{len(res['resized'])} pair(s) of another size were resized to it "
                         f"({res.get('method', 'image area/bicubic, label nearest')}):")
            lines += [f"- {r['image']} (was {r['from']})" for r in res["resized"]]
        atomic_write_text(files.markdown, Path(files.markdown).read_text(encoding="utf-8") + "\n".join(lines) + "\n")
    return files


def project_frequency(project, class_set: ClassSet, statuses=("done",), ctx=None) -> list[dict]:
    """Rows of `compare_rows` for a project: before = its frames with `statuses`, after = those plus its
    accepted synthetic pairs. `ctx` (an engine.jobs.JobContext) reports progress and cancels."""
    from engine.jobs import JobContext

    ctx = ctx or JobContext()
    keys = project.keys_with_status(list(statuses))
    pairs = project.pairs(status="accepted")
    total = max(1, len(keys) + len(pairs))

    def labels(loaders):
        for n, (offset, load) in enumerate(loaders):
            ctx.check()
            ctx.report((offset + n + 1) / total, "counting classes")
            yield class_set.remap(load())

    before = ClassFrequency.from_labels(labels([(0, lambda k=k: project.load_label(k)) for k in keys]), class_set)
    synth = ClassFrequency.from_labels(labels([(len(keys), lambda p=p: read_label(p.label_path)) for p in pairs]),
                                       class_set)
    after = ClassFrequency(class_set, before.pixels + synth.pixels, before.frames + synth.frames,
                           before.n_frames + synth.n_frames)
    return compare_rows(before, after)



def add_eval_augment(markdown: Path, data: dict | None) -> None:
    """Append the project's last `cadis eval-augment` result (engine.project.eval_augment_file) to the report,
    or a line saying it was never measured."""
    lines = ["", "## What the synthetic pairs are worth", ""]
    if data is None:
        lines.append("Not measured: run `cadis eval-augment PROJECT` (or Curation → What is it worth?) before exporting.")
    else:
        lines += [f"Last measured {data.get('finished_at', '')} by `cadis eval-augment` on the project's done frames "
                  "(small UNet, with vs without the accepted pairs, held-out videos).", ""]
        lines += [str(line) for line in data["markdown"]]
    atomic_write_text(markdown, Path(markdown).read_text(encoding="utf-8") + "\n".join(lines) + "\n")

__all__ = ["add_eval_augment",
           "IGNORE", "ClassFrequency", "ReportFiles", "compare_rows", "project_frequency", "rare_classes", "render_chart",
           "report_from_export", "to_csv", "to_markdown", "write_report"]
