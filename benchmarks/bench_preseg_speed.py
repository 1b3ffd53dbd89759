"""Where annotators wait on pre-segmentation: head training, one proposal and *Suspicious labels*.

    python -m benchmarks.bench_preseg_speed --data PHANTOM --frames 1 --step train [--json OUT]
    python -m benchmarks.bench_preseg_speed --data PHANTOM --frames 20 --step suspicious --planted 3 --json OUT

PHANTOM is `cadis phantom DIR --videos 3 --frames-per-video 8 --seed 0` (24 labelled frames). The first
`--frames` labelled frames are the training (or, for suspicious, the ranked) frames; the proposal is of the
last frame of the sample, with a head trained on those frames. Features come from the shipped starter model
with the engine's default settings (`PresegSettings()`); torch runs on one thread. Prints one JSON line:
the step's wall seconds (set-up, model loading and, for a proposal, the head's training are not counted) and
seconds per frame (training and suspicious: per labelled frame; a proposal: the one frame). A proposal's line
also gives the seconds its head took to train (`train_seconds`).

`--planted K` swaps two classes (pupil and iris) in the labels of K evenly spaced frames, so a suspicious
ranking can be checked (the planted frames should rank first); the JSON then carries every frame's score and
the planted frames' ranks. To time the code before a change against the code after it on a loaded machine,
run both in the same call with farm-bench, the baseline by PYTHONPATH (docs/benchmarks/preseg_speed.md).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
STARTER = ROOT / "resources" / "models" / "starter-synthesis"
PUPIL, IRIS = 0, 4


def planted_keys(frames, count: int) -> set[str]:
    if count <= 0:
        return set()
    idx = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return {frames[i].key for i in idx}


def swap_classes(frame, a: int = PUPIL, b: int = IRIS):
    from engine.preseg import FrameSource

    def load():
        image, label = frame.load()
        out = label.copy()
        out[label == a], out[label == b] = b, a
        return image, out
    return FrameSource(frame.key, load)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--frames", type=int, default=1)
    ap.add_argument("--step", choices=("train", "propose", "suspicious"), required=True)
    ap.add_argument("--planted", type=int, default=0)
    ap.add_argument("--model", default=str(STARTER))
    ap.add_argument("--seed", type=int, default=0, help="the head's seed (pixel sample, copies): a second seed "
                    "shows how much a ranking moves by chance")
    ap.add_argument("--json", help="append the result line to this file too")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from engine import preseg

    frames = preseg.training_frames(args.data)
    last = frames[-1]
    frames = frames[:args.frames]
    planted = planted_keys(frames, args.planted)
    frames = [swap_classes(f) if f.key in planted else f for f in frames]
    settings = preseg.PresegSettings(seed=args.seed)
    extractor = preseg.open_extractor(args.model, settings.features)
    extractor.channels()  # the first forward pass is set-up, not the step
    cpu0 = time.process_time()  # from here: the step (for a proposal, with its head's training)
    out = {"step": args.step, "frames": len(frames), "seed": args.seed, "engine": str(Path(preseg.__file__).parents[1])}
    if args.step == "train":
        t0 = time.perf_counter()
        preseg.train_head(extractor, frames, 0, settings)
        seconds = time.perf_counter() - t0
    elif args.step == "propose":
        t0 = time.perf_counter()
        head = preseg.train_head(extractor, frames, 0, settings)
        out["train_seconds"] = round(time.perf_counter() - t0, 2)  # the head's training, before the proposal
        image = last.load()[0]
        t0 = time.perf_counter()
        preseg.Presegmenter(extractor, head).presegment(image)
        seconds = time.perf_counter() - t0
    else:
        t0 = time.perf_counter()
        ranked = preseg.rank_suspicious(extractor, frames, 0, settings, folds=min(5, len(frames)))
        seconds = time.perf_counter() - t0
        out["scores"] = {r.key: round(r.score, 5) for r in ranked}
        out["planted_ranks"] = sorted(i + 1 for i, r in enumerate(ranked) if r.key in planted)
    per = 1 if args.step == "propose" else len(frames)
    out.update(seconds=round(seconds, 2), seconds_per_frame=round(seconds / per, 3),
               cpu_seconds=round(time.process_time() - cpu0, 2))  # CPU: less moved by other load
    line = json.dumps(out)
    print(line)
    if args.json:
        with open(args.json, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
