"""Contact sheets of an α sweep (what the app's gallery and the docs show), and the docs' demo figure.

`contact_sheet(original, results)` lays the original frame and every edit side by side with α, PSNR,
SSIM and (when scored) the label-consistency mIoU under each image.

`python -m engine.textedit.sweep_figure OUT.png` builds a TINY RANDOM Stable Diffusion in a temporary
folder and draws the mechanics of an Imagic sweep on a phantom frame: lerp and slerp rows and how far each
α moves the output from α = 0. The model is untrained, so the images are NOT edits of any quality; the
figure only shows what the code does.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX


def _caption(img: np.ndarray, lines: Sequence[str], height: int = 16) -> np.ndarray:
    band = np.full((height * len(lines) + 4, img.shape[1], 3), 255, np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(band, text, (3, height * (i + 1) - 3), FONT, 0.38, (20, 20, 20), 1, cv2.LINE_AA)
    return np.vstack([img, band])


def _cell(img: np.ndarray, height: int) -> np.ndarray:
    scale = height / img.shape[0]
    return cv2.resize(img, (round(img.shape[1] * scale), height), interpolation=cv2.INTER_NEAREST)


def _fmt(v: Optional[float], digits: int) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def contact_sheet(original: np.ndarray, results: Sequence, height: int = 135, label: str = "") -> np.ndarray:
    """One row: the original, then each result captioned with its α and scores (HxWx3 uint8 RGB)."""
    cells = [_caption(_cell(original, height), [label or "original", ""])]
    for r in results:
        head = f"alpha {r.alpha:g}" if r.alpha is not None else r.method
        sc = f"PSNR {_fmt(r.psnr, 1)}  SSIM {_fmt(r.ssim, 2)}"
        if r.label_miou is not None:
            sc += f"  mIoU {_fmt(r.label_miou, 2)}"
        cells.append(_caption(_cell(r.image, height), [head, sc]))
    h = max(c.shape[0] for c in cells)
    row = []
    for c in cells:
        row.append(np.vstack([c, np.full((h - c.shape[0], c.shape[1], 3), 255, np.uint8)]))
        row.append(np.full((h, 6, 3), 255, np.uint8))
    return np.hstack(row[:-1])


def _difference_row(results: Sequence, height: int) -> np.ndarray:
    """|edit(α) − edit(α=first)|, stretched to the largest difference in the row, with its mean in grey levels."""
    ref = results[0].image.astype(np.int16)
    diffs = [np.abs(r.image.astype(np.int16) - ref).mean(axis=2) for r in results]
    top = max(1.0, max(float(d.max()) for d in diffs))
    cells = []
    for r, d in zip(results, diffs):
        grey = np.clip(d * (255.0 / top), 0, 255).astype(np.uint8)
        img = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
        cells.append(_caption(_cell(img, height), [f"|a={r.alpha:g} - a={results[0].alpha:g}|",
                                                  f"mean {d.mean():.1f} grey levels"]))
    blank = np.full_like(cells[0], 255)
    row = [blank]
    for c in cells:
        row += [np.full((c.shape[0], 6, 3), 255, np.uint8), c]
    return np.hstack(row)


def demo_figure(out: str | Path, alphas: Sequence[float] = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)) -> Path:
    """Build the tiny random model, run lerp and slerp sweeps on a phantom frame, write the figure."""
    from engine.imageio import write_image
    from engine.phantom import render_frame
    from engine.textedit import build_tiny_sd, edit_frame, load_sd

    image, _ = render_frame(7, width=192, height=108)
    with tempfile.TemporaryDirectory() as tmp:
        sd = load_sd(build_tiny_sd(Path(tmp) / "sd"), device="cpu")
        kw = dict(alphas=alphas, steps=20, guidance=3.0, seed=0, opt_steps=10, tune_steps=5, tune="lora",
                  opt_lr=0.05, resolution=(64, 36))
        rows = {m: edit_frame(sd, image, "heavy bleeding, dim light", "imagic", interp=m, **kw)
                for m in ("lerp", "slerp")}
    h = 108
    parts = [contact_sheet(image, rows["lerp"], h, "original (lerp row)"), _difference_row(rows["lerp"], h),
             contact_sheet(image, rows["slerp"], h, "original (slerp row)"), _difference_row(rows["slerp"], h)]
    width = max(p.shape[1] for p in parts)
    parts = [np.hstack([p, np.full((p.shape[0], width - p.shape[1], 3), 255, np.uint8)]) for p in parts]
    banner = np.full((44, width, 3), (255, 236, 200), np.uint8)
    cv2.putText(banner, "RANDOM TINY MODEL (untrained, ~1.4M-parameter UNet): mechanics of an Imagic alpha sweep, "
                "NOT an edit result", (6, 17), FONT, 0.45, (120, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(banner, "prompt 'heavy bleeding, dim light'; 64x36 model canvas; 10 embedding steps, 5 LoRA steps, "
                "20 DDIM steps, guidance 3, seed 0", (6, 36), FONT, 0.4, (40, 40, 40), 1, cv2.LINE_AA)
    sep = np.full((8, width, 3), 255, np.uint8)
    sheet = np.vstack([banner, sep, parts[0], parts[1], sep, parts[2], parts[3]])
    return write_image(out, sheet)


if __name__ == "__main__":  # pragma: no cover
    print(demo_figure(sys.argv[1] if len(sys.argv) > 1 else "docs/img/textedit_sweep.png"))
