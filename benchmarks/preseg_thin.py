"""Prediction-side variants for the thin classes (eye retractors, instrument), on one trained head.

    python -m benchmarks.preseg_thin [--seed 1000] [--regime one-video] [--k 5] [--out FILE.jsonl]

One default head per style is trained on the cell's frames (`benchmarks.bench_preseg` protocol); every
test frame's features are extracted once (and once mirrored), and the variants below are scored on
the SAME probabilities, so they differ only in what happens after the head:

- default: presence gate 0.5, guided-filter upsampling (what `Presegmenter` does);
- no-gate: gate off; bilinear: no guided filter; flip: test-time flip averaging;
- guide-r1 / guide-eps-1e-4 / guide-eps-1e-2: other guided-filter windows and regularisation;
- thin-xB: the probabilities of the thin classes multiplied by B before the gate (a class prior).

`--augment N` trains the head on each labelled frame plus N jittered copies
(`PresegSettings.augment_copies`, `engine.preseg.augment`): a training-side variant, compared against the
default run of the same draw. (The 2026-12-02 records without `"augment_impl": "engine"` were made with
this script's first copy of the same transform, drawn from one generator in sequence.)

Besides IoU, per-class precision and recall say whether a thin class is missed (recall) or spread over
its neighbours (precision). Defaults are chosen on the tuning draw (seed 1000) only; a variant that
helps there is checked on one reported draw with `--seed 1001`.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.bench_preseg import STARTER, TEST_VIDEOS, TUNING_SEED, WORK, confusion_of, draw_frames, labelled, scores

THIN = (3, 7)  # experiment-1 IDs: Eye Retractors, Instrument


def _variants():
    return {"default": {}, "no-gate": {"gate": 0.0}, "bilinear": {"refine": False}, "flip": {"flip": True},
            "guide-r1": {"radius": 1}, "guide-eps-1e-4": {"eps": 1e-4}, "guide-eps-1e-2": {"eps": 1e-2},
            "thin-x1.5": {"boost": 1.5}, "thin-x2": {"boost": 2.0}, "thin-x3": {"boost": 3.0},
            "thin-x2-flip": {"boost": 2.0, "flip": True}}


def _propose(head, probs, probs_flip, image, v: dict):
    import engine.preseg.refine as refine
    from engine.preseg.presence import suppress_small_classes

    p = probs_flip if v.get("flip") else probs
    if v.get("boost"):
        p = p.clone()
        for c in THIN:
            p[c] *= v["boost"]
        p = p / p.sum(0, keepdim=True)
    gate = v.get("gate", head.area_gate)
    if head.min_area_fractions is not None and gate > 0:
        p, _ = suppress_small_classes(p, head.min_area_fractions, gate)
    old = refine.GUIDE_RADIUS, refine.GUIDE_EPS
    refine.GUIDE_RADIUS, refine.GUIDE_EPS = v.get("radius", old[0]), v.get("eps", old[1])
    try:
        return refine.upsample_probs(p, image, v.get("refine", True)).argmax(0).astype("uint8")
    finally:
        refine.GUIDE_RADIUS, refine.GUIDE_EPS = old


def run(seed: int, regime: str, k: int, styles, out: Path, model: Path, augment: int = 0,
        only: list[str] | None = None) -> None:
    import numpy as np

    from engine.preseg import FrameSource, PresegSettings, open_extractor, train_head

    ex = open_extractor(model, PresegSettings().features)
    for style in styles:
        frames = draw_frames(seed, style)
        test = [p for v in TEST_VIDEOS for p in frames[v]]
        train = labelled(frames, regime, k)
        t0 = time.perf_counter()
        head = train_head(ex, [FrameSource(str(i), (lambda p=p: p)) for i, p in enumerate(train)], 1,
                          PresegSettings(augment_copies=augment))
        t_train = time.perf_counter() - t0
        cached = []
        for img, _ in test:
            probs, _ = head.predict(ex.extract(img))
            p2, _ = head.predict(ex.extract(np.ascontiguousarray(img[:, ::-1])))
            cached.append((probs, (probs + p2.flip(-1)) / 2))
        gts = [lab for _, lab in test]
        tag = f" +aug{augment}" if augment else ""
        for name, v in _variants().items():
            if only and name not in only:
                continue
            preds = [_propose(head, p, pf, img, v) for (p, pf), (img, _) in zip(cached, test)]
            conf = confusion_of(preds, gts)
            m, per_class = scores(conf)
            diag = np.diag(conf).astype(float)
            rec = {"seed": seed, "draw": "tuning" if seed == TUNING_SEED else "reported", "style": style,
                   "regime": regime, "k": k, "method": f"head{tag} {name}", "miou": round(m, 4), "per_class": per_class,
                   "recall": [round(float(x), 4) for x in diag / np.maximum(conf.sum(1), 1)],
                   "precision": [round(float(x), 4) for x in diag / np.maximum(conf.sum(0), 1)],
                   "train_s": round(t_train, 1), "s_per_frame": 0.0, "experiment": "thin-classes", "augment": augment,
                   "augment_impl": "engine"}
            if name == "default":
                rec["confusion"] = conf.tolist()
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")
            thin = "  ".join(f"{c}: IoU {per_class[c]} P {rec['precision'][c]:.2f} R {rec['recall'][c]:.2f}" for c in THIN)
            print(f"{style:9} seed {seed} {regime} k={k} {name:15} mIoU {m:.3f}  {thin}", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.preseg_thin", description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=TUNING_SEED)
    ap.add_argument("--regime", default="one-video", choices=("one-video", "spread"))
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--styles", nargs="+", default=["plain", "realistic"])
    ap.add_argument("--augment", type=int, default=0, help="jittered copies per labelled frame (default 0)")
    ap.add_argument("--variants", nargs="+", default=None, help="only these prediction variants")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", type=Path, default=STARTER)
    ap.add_argument("--out", type=Path, default=WORK / "thin.jsonl")
    args = ap.parse_args(argv if argv is not None else sys.argv[1:])
    import torch

    torch.set_num_threads(args.threads)
    run(args.seed, args.regime, args.k, args.styles, args.out, args.model, args.augment, args.variants)


if __name__ == "__main__":
    main()
