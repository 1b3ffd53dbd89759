"""Held-out check of mask upsamplers: which one to ship (run before publishing a retrained starter upsampler).

Frames of the starter recipe's val/test videos (seed 0; the upsampler trains on the train videos only) are
squeezed to the UNet's 128x72 (area) and lifted back to 960x540 and 480x270 by each upsampler from the same
input (bicubic, then the upsampler with the frame's full-resolution mask); PSNR against the real frame over the
whole frame and over the thin classes' pixels (Eye Retractors and Instrument, grown by 2 px), with bicubic
alone as the floor. Mean ± std over the frames.

    python -m benchmarks.check_upsampler UPSAMPLER_DIR [UPSAMPLER_DIR ...] [--frames 8] [--sizes 960x540,480x270]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    mse = d[where].mean() if where is not None else d.mean()
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def main(argv: list[str] | None = None) -> None:
    import cv2
    import torch

    from benchmarks._timing import print_table
    from benchmarks.synth_judge import resize_pair, tuning_draw
    from engine.pipelines.folder import load_upsampler
    from engine.pipelines.repaint import grow
    from engine.pipelines.upsample import lift_to_mask_size
    from engine.taxonomy import get_class_set

    p = argparse.ArgumentParser(prog="python -m benchmarks.check_upsampler")
    p.add_argument("upsamplers", nargs="+", type=Path)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--sizes", default="960x540,480x270")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    cs = get_class_set(1)
    thin = [cs.names.index("Eye Retractors"), cs.names.index("Instrument")]
    ups = {"bicubic only": None, **{str(d): load_upsampler(d) for d in args.upsamplers}}
    draw = tuning_draw(args.frames)
    for text in args.sizes.split(","):
        size = tuple(int(v) for v in text.split("x"))
        scores = {k: ([], []) for k in ups}
        for img, lab in draw:
            real, mask = resize_pair(img, lab, size)
            small = cv2.resize(real, (128, 72), interpolation=cv2.INTER_AREA)
            low = torch.from_numpy(small).permute(2, 0, 1)[None].float() / 127.5 - 1
            where = grow(np.isin(cs.remap(mask), thin), 2)
            with torch.no_grad():
                for name, up in ups.items():
                    out = lift_to_mask_size(low, mask, up, cs.key)
                    scores[name][0].append(_psnr(out, real))
                    scores[name][1].append(_psnr(out, real, where) if where.any() else np.nan)
        rows = [(name, f"{np.mean(a):.2f} ± {np.std(a):.2f}", f"{np.nanmean(b):.2f} ± {np.nanstd(b):.2f}")
                for name, (a, b) in scores.items()]
        print_table(f"upsampler check at {text} ({len(draw)} val/test frames of seed 0, from their 128x72 area "
                    "squeeze)", rows, ("upsampler", "PSNR dB, whole frame", "PSNR dB, retractor+instrument pixels"))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
