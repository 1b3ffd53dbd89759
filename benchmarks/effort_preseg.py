"""Pre-segmentation proposals for the labelling-effort benchmark (the slow half, run once and saved).

For each draw and style, a head (`engine.preseg` defaults, all 36 classes, as a project trains it) is trained on k = 5, 10 and 20
labelled frames spread over videos 2-5 of the same draw (the sampled frames 0-4 of each, in turn, as in
bench_preseg's "spread" regime), and proposes the target frames of video 1 (the key frame + each gap,
benchmarks/video_cases.py). Each proposal is saved as ``OUT/{style}-{seed}-k{k}.npz`` holding, per gap,
``label{gap}`` (original CaDIS IDs) and ``conf{gap}`` (the winning class's probability times
1 - normalised ensemble uncertainty), so bench_effort can use them as starts and fuse them with propagation.

Run: ``python -m benchmarks.effort_preseg --seeds 41 42 --styles plain realistic --out bench_out/preseg``
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.video_cases import GAPS, cases
from engine.propagate.fusion import proposal_confidence

ROOT = Path(__file__).resolve().parents[1]
STARTER = ROOT / "resources" / "models" / "starter-synthesis"
COUNTS = (5, 10, 20)
LABEL_VIDEOS = (2, 3, 4, 5)
POOL = 5                       # sampled frames 0..4 of each labelling video


def training_frames(seed: int, style: str, k: int, width: int = 960, height: int = 540) -> list:
    from engine.phantom import VideoRenderer

    per_video = [k // len(LABEL_VIDEOS) + (1 if j < k % len(LABEL_VIDEOS) else 0) for j in range(len(LABEL_VIDEOS))]
    out = []
    for v, n in zip(LABEL_VIDEOS, per_video):
        r = VideoRenderer(seed, v, width, height, style)
        idx = np.round(np.linspace(0, POOL - 1, n)).astype(int) if n > 1 else [0] * n
        out += [r.render(int(i)) for i in idx]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[41, 42, 43])
    p.add_argument("--styles", nargs="+", default=["plain", "realistic"])
    p.add_argument("--k", type=int, nargs="+", default=list(COUNTS))
    p.add_argument("--gaps", type=int, nargs="+", default=list(GAPS))
    p.add_argument("--video", type=int, default=1)
    p.add_argument("--start", type=int, default=40)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    import torch

    from engine.preseg import FrameSource, Presegmenter, PresegSettings, open_extractor, train_head

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ex = open_extractor(STARTER, PresegSettings().features)
    t0 = time.perf_counter()
    for style in args.styles:
        for seed in args.seeds:
            case = cases([seed], [args.video], [args.start], [style])[0]
            targets = {g: case.frame(case.start + g)[0] for g in args.gaps}
            for k in args.k:
                path = out / f"{style}-{seed}-k{k}.npz"
                if path.exists():
                    continue
                train = training_frames(seed, style, k)
                head = train_head(ex, [FrameSource(str(i), (lambda p=p: p)) for i, p in enumerate(train)], "full",
                                  PresegSettings())
                pre = Presegmenter(ex, head, cache_size=0)
                arrays = {}
                for g, image in targets.items():
                    res = pre.presegment(image)
                    arrays[f"label{g}"] = res.label.astype(np.uint8)
                    arrays[f"conf{g}"] = proposal_confidence(res.probs, res.uncertainty)
                np.savez_compressed(path, **arrays)
                print(f"{style} seed {seed} k {k}: done ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
