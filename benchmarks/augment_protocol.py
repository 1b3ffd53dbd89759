"""The augmentation protocol: does a segmenter trained on N real frames gain from M synthetic pairs?

For each phantom style (plain, realistic) a phantom dataset of 6 videos is made (seed 7, not a seed anything was
tuned on); videos 1-4 give the N real training frames (N = 8 or 20, spread over the 4 videos) and videos 5-6
are the held-out test frames. `cadis augment` (engine.services.augment, the shipped starter pipeline) makes
pairs from the training frames' layout variants in both modes the app offers: full synthesis and repaint of
the real frame. The small UNet (engine.baselines) is trained on real only, real + all pairs of a source
(uncurated) and real + the pairs the curation keeps (curated: label consistency of each pair's image under the
real-only segmenter of that seed, the app's consistency score with that segmenter as the proposer, keeping the
better half), 3 seeds each; per-class IoU on the held-out videos with the rare instrument classes (the augment
run's rare classes among the instruments) apart.

    python -m benchmarks.augment_protocol --steps 150 --size 128x72 --out benchmarks/results/augment-protocol.json

The CPU budget (steps, working size, layouts per frame) is printed with the table and stored in the JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TRAIN_VIDEOS, TEST_VIDEOS, FRAMES_PER_VIDEO = (1, 2, 3, 4), (5, 6), 5


def _make_project(root: Path, style: str, width: int, height: int, name: str):
    """A project (one per augment mode: a run's work items do not name the mode) on the style's dataset."""
    from engine.phantom import generate_dataset
    from engine.project import Project

    if not (root / "data").is_dir():
        generate_dataset(root / "data", videos=6, frames_per_video=FRAMES_PER_VIDEO, seed=7, width=width,
                         height=height, style=style)
    project = Project.open_or_create(root / "data", project_dir=root / f"proj-{name}", journal_fsync=False)
    for k in project.frame_keys():
        if project.record(k).video in TRAIN_VIDEOS:
            project.set_status(k, "done")
    return project


def _pairs(project, model_dir: str, mode: str, layouts: int, steps: int, seed: int) -> list:
    from engine.jobs import JobContext
    from engine.services.augment import AugmentRequest, augment

    before = {p.id for p in project.pairs(source="augment")}
    augment(JobContext(), project, AugmentRequest(model_dir=model_dir, mode=mode, layouts=layouts, samples=1,
                                                   preset="final", steps=steps, seed=seed, device="cpu"))
    return [p for p in project.pairs(source="augment") if p.id not in before]


def _subset(keys_by_video: dict, n: int) -> list[str]:
    """n frames dealt round-robin over the training videos."""
    out, i = [], 0
    while len(out) < n:
        for v in TRAIN_VIDEOS:
            if i < len(keys_by_video[v]) and len(out) < n:
                out.append(keys_by_video[v][i])
        i += 1
    return out


def run(args) -> dict:
    import torch

    from engine.baselines.augment_value import AugmentValue, per_class_iou
    from engine.baselines.small_unet import predict_small_unet, train_small_unet
    from engine.curation.scores import label_consistency

    torch.set_num_threads(1)
    w, h = (int(v) for v in args.size.split("x"))
    results = {"budget": {"steps": args.steps, "size": args.size, "frame_size": args.frame_size,
                          "layouts": args.layouts, "synthesis_steps": args.synth_steps, "seeds": args.seeds},
               "cells": []}
    fw, fh = (int(v) for v in args.frame_size.split("x"))
    with tempfile.TemporaryDirectory(prefix="augment-protocol-") as tmp:
        for style in args.styles:
            t0 = time.time()
            projects = {m: _make_project(Path(tmp) / style, style, fw, fh, m) for m in ("full", "repaint")}
            project = projects["full"]
            keys_by_video: dict = {}
            for k in project.frame_keys():
                keys_by_video.setdefault(project.record(k).video, []).append(k)
            test = [(project.load_image(k), project.load_label(k)) for v in TEST_VIDEOS for k in keys_by_video[v]]
            sources = {m: _pairs(pr, args.model, m, args.layouts, args.synth_steps, 0) for m, pr in projects.items()}
            print(f"[{style}] pairs made in {time.time() - t0:.0f}s: "
                  + ", ".join(f"{m} {len(p)}" for m, p in sources.items()), flush=True)
            rare = sorted({c for ps in sources.values() for p in ps for c in p.provenance.get("rare_classes", [])})
            for n in args.n:
                keys = _subset(keys_by_video, n)
                real = [(project.load_image(k), project.load_label(k)) for k in keys]
                for seed in range(args.seeds):
                    base = train_small_unet(real, "full", (w, h), steps=args.steps, seed=seed)
                    base_iou = per_class_iou(base, test)
                    arms = {}
                    for mode, recs in sources.items():
                        mine = [r for r in recs if r.parent_key in keys]
                        data = [projects[mode].load_pair(r.id) for r in mine]
                        score = [label_consistency(predict_small_unet(base, img), lab) for img, lab in data]
                        keep = np.argsort(score)[::-1][: max(1, len(data) // 2)] if data else []
                        arms[f"+{mode}"] = data
                        arms[f"+{mode} curated"] = [data[i] for i in keep]
                    for arm, synth in arms.items():
                        t1 = time.time()
                        model = train_small_unet(real + synth, "full", (w, h), steps=args.steps, seed=seed)
                        value = AugmentValue([f"seed {seed}"], [base_iou], [per_class_iou(model, test)],
                                             [(len(real), len(synth), len(test))])
                        cell = {"style": style, "n": n, "seed": seed, "arm": arm, "m": len(synth), "rare": rare,
                                "value": value.to_dict()}
                        results["cells"].append(cell)
                        d = value.group_delta(rare)[0]
                        dm = value.miou("with")[0] - value.miou("without")[0]
                        print(f"[{style} N={n} seed={seed} {arm} M={len(synth)}] d_rare={d:+.3f} d_mIoU={dm:+.3f} "
                              f"({time.time() - t1:.0f}s)", flush=True)
                        if args.out:
                            Path(args.out).write_text(json.dumps(results) + "\n")
            for pr in projects.values():
                pr.close()
    return results


def _ms(values) -> str:
    a = np.asarray([v for v in values if not np.isnan(v)], float)
    if not a.size:
        return "–"
    return f"{a.mean():+.3f} ± {a.std(ddof=1):.3f}" if a.size > 1 else f"{a.mean():+.3f}"


def summarize(paths) -> list[str]:
    """Markdown table of protocol JSON files: per style, N and arm, means over seeds ± their spread."""
    from engine.baselines.augment_value import AugmentValue
    from engine.taxonomy import INSTRUMENT_IDS

    cells, budget = [], None
    for path in paths:
        data = json.loads(Path(path).read_text())
        cells += data["cells"]
        budget = budget or data["budget"]
    out = [f"Budget: {budget}", "",
           "| style | N real | arm | M pairs | seeds | mIoU real only | mIoU real+synth | Δ mIoU | instruments IoU "
           "real only | Δ instruments | Δ rare instruments (classes in test) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    keys = sorted({(c["style"], c["n"], c["arm"]) for c in cells}, key=lambda k: (k[0], k[1], k[2]))
    for style, n, arm in keys:
        group = [c for c in cells if (c["style"], c["n"], c["arm"]) == (style, n, arm)]
        vals = [AugmentValue.from_dict(c["value"]) for c in group]
        base = [v.miou("without")[0] for v in vals]
        withs = [v.miou("with")[0] for v in vals]
        seen = set.union(*(set(v.classes()) for v in vals))
        inst = [c for c in INSTRUMENT_IDS if c in seen]
        rare = [c for c in group[0]["rare"] if c in inst]
        inst_base = [np.nanmean(np.asarray(v.without[0], float)[inst]) if inst else np.nan for v in vals]
        out.append(f"| {style} | {n} | {arm} | {np.mean([c['m'] for c in group]):.0f} | {len(group)} | "
                   f"{np.mean(base):.3f} ± {np.std(base, ddof=1) if len(base) > 1 else 0:.3f} | {np.mean(withs):.3f} | "
                   f"{_ms([w - b for w, b in zip(withs, base)])} | {np.nanmean(inst_base):.3f} | "
                   f"{_ms([v.group_delta(inst)[0] for v in vals])} | "
                   f"{_ms([v.group_delta(rare)[0] for v in vals])} ({', '.join(map(str, rare)) or 'none'}) |")
    return out


def main(argv=None) -> None:
    if argv is None and "--summary" in sys.argv:
        print("\n".join(summarize(sys.argv[sys.argv.index("--summary") + 1:])))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.environ.get("CADIS_STARTER_MODEL")
                    or str(ROOT / "resources" / "models" / "starter-synthesis"))
    ap.add_argument("--steps", type=int, default=150, help="segmenter training steps")
    ap.add_argument("--size", default="128x72", help="segmenter working size WxH")
    ap.add_argument("--frame-size", default="256x144", help="phantom frame size WxH")
    ap.add_argument("--layouts", type=int, default=2, help="layout variants per training frame")
    ap.add_argument("--synth-steps", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--n", type=int, nargs="+", default=[8, 20])
    ap.add_argument("--styles", nargs="+", default=["plain", "realistic"])
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)
    if not (Path(args.model) / "model_index.json").is_file():
        print(f"augment_protocol: no synthesis pipeline at {args.model}", file=sys.stderr)
        raise SystemExit(1)
    run(args)


if __name__ == "__main__":
    main()
