"""The augmentation protocol: does a segmenter trained on N real frames gain from synthetic pairs?

A phantom draw nobody tuned on (`DRAW_SEED`; the recipe was chosen on seed 7): videos 1-4 give the N real
training frames (dealt round-robin, so the N = 8 frames are among the N = 20 ones and those among N = 50), videos
5-10 are the held-out test frames. For each N the app's augment use case (`engine.services.augment`, the shipped
starter pipeline, one layout variant per frame, rare classes and paste donors from those N frames only) makes
pairs from each source:
- `full`: full synthesis of layout variants;
- `repaint`: repaint of the real frame where the variant moved or pasted an instrument;
- `paste`: full synthesis of variants made ONLY by pasting a rare instrument (issue 30 part 2: paste more often).
Arms per source: all pairs (uncurated) and the better half by the app's label-consistency score under the
real-only segmenter of that seed (curated). Segmenters (`engine.baselines.segmenters`): the small UNet and a
small SegFormer trained from scratch on native-scale crops (80 % centred on instruments), class-weighted loss,
experiment-2 classes by default. Per-class IoU on the held-out videos, the rare instruments (the rarer half of
the instrument classes by frames of the training videos that show them) apart; several seeds, mean and spread.

    python -m benchmarks.augment_protocol --out bench_out/augment.json            # runs, writes JSON as it goes
    python -m benchmarks.augment_protocol --summary bench_out/augment.json        # the markdown tables
    python -m benchmarks.augment_protocol --pair-stats WORK_DIR     # rare-class share and change of the pairs

A missing synthesis model, or a segmenter that cannot be built, is a failure (exit 1), never a skipped cell.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DRAW_SEED = 21                      # the phantom draw measured (the recipe was tuned on seed 7)
TRAIN_VIDEOS, TEST_VIDEOS = (1, 2, 3, 4), (5, 6, 7, 8, 9, 10)
SOURCES = ("full", "repaint", "paste")


def _subset(keys_by_video: dict, n: int) -> list[str]:
    """n frames dealt round-robin over the training videos (nested: the first 8 are in the first 20)."""
    out, i = [], 0
    while len(out) < n:
        for v in TRAIN_VIDEOS:
            if i < len(keys_by_video[v]) and len(out) < n:
                out.append(keys_by_video[v][i])
        i += 1
    return out


def _pairs(root: Path, data: Path, keys: list[str], source: str, args) -> list:
    """Pairs of one source made from the frames `keys` (a project of their own: donors and rare classes come
    from these frames only). A project already there is resumed: its finished items are not made again."""
    from engine.augment.batch import run_augment
    from engine.jobs import JobContext
    from engine.project import Project
    from engine.services.augment import AugmentRequest, synthesis_generator

    done = root / "pairs-made"              # written once all pairs are in: later runs only read the project
    if done.is_file():
        project = Project.open_or_create(data, project_dir=root, read_only=True)
    else:
        project = Project.open_or_create(data, project_dir=root, journal_fsync=False)
        for k in keys:
            project.set_status(k, "done")
        mode = "repaint" if source == "repaint" else "full"
        request = AugmentRequest(model_dir=args.model, mode=mode, layouts=args.layouts, samples=1,
                                 preset="final", steps=args.synth_steps, seed=0, device="cpu")
        gen = synthesis_generator(request)
        settings = request.settings()
        if source == "paste":
            settings = dataclasses.replace(settings, ops=("paste",))
        run_augment(project, gen.generate, settings, frames=keys, ctx=JobContext(), model_id=gen.model_id,
                    model_info=gen.info)
        done.write_text("\n")
    out = [(project.load_pair(p.id), p.parent_key) for p in project.pairs(source="augment")]
    project.close()
    return out


def rare_instruments(labels, cs) -> list[int]:
    """The rarer half of the class set's instrument classes present in `labels` (frames showing them)."""
    counts: dict[int, int] = {}
    for lab in labels:
        for c in np.unique(cs.remap(lab)):
            counts[int(c)] = counts.get(int(c), 0) + 1
    inst = sorted((n, c) for c, n in counts.items() if c != 255 and c >= 7)
    return sorted(c for _n, c in inst[: max(1, round(len(inst) / 2))]) if inst else []


def per_class_iou(model, test, predict) -> list[float]:
    """IoU per class of the model's class set on `test` (nan where the test labels never show the class)."""
    from engine.metrics import confusion, iou_from_confusion

    cs = model.class_set
    conf = sum(confusion(predict(model, img), cs.remap(lab), cs.num_classes) for img, lab in test)
    iou, _ = iou_from_confusion(conf)
    iou[np.asarray(conf).sum(axis=1) == 0] = np.nan
    return [float(v) for v in iou]


def consistency(model, predict, image, label) -> float:
    """The app's label-consistency score of a pair under `model` (its prediction mapped back to original IDs)."""
    from engine.curation.scores import label_consistency

    cs = model.class_set
    first = np.array([g[0] for g in cs.groups] + [0] * (256 - len(cs.groups)), np.uint8)
    return label_consistency(first[predict(model, image)], label, cs)


def run(args) -> dict:
    import torch

    from engine.baselines.segmenters import Recipe
    from engine.phantom import generate_dataset
    from engine.project import Project
    from engine.taxonomy import get_class_set

    torch.set_num_threads(1)
    cs = get_class_set(args.class_set)
    recipes = {a: Recipe(arch=a, class_set=args.class_set, steps=args.steps, crop=(args.crop, args.crop),
                         width=args.width, batch=args.batch, instrument_crops=args.instrument_crops)
               for a in args.archs}
    fw, fh = (int(v) for v in args.frame_size.split("x"))
    results = {"budget": {"recipes": {a: r.to_dict() for a, r in recipes.items()}, "frame_size": args.frame_size,
                          "layouts": args.layouts, "synthesis_steps": args.synth_steps, "seeds": args.seeds,
                          "draw_seed": DRAW_SEED, "class_set": args.class_set}, "cells": []}
    with tempfile.TemporaryDirectory(prefix="augment-protocol-") as scratch:
        tmp = args.work or scratch
        for style in args.styles:
            data = Path(tmp) / style / "data"
            if not (data / "phantom.json").is_file():
                generate_dataset(data, videos=len(TRAIN_VIDEOS) + len(TEST_VIDEOS), frames_per_video=args.frames,
                                 seed=DRAW_SEED, width=fw, height=fh, style=style)
            where = Path(tmp) / style / "index"
            index = Project.open_or_create(data, project_dir=where, journal_fsync=False, read_only=where.is_dir())
            keys_by_video: dict = {}
            for k in index.frame_keys():
                keys_by_video.setdefault(index.record(k).video, []).append(k)
            load = {k: (index.load_image(k), index.load_label(k)) for ks in keys_by_video.values() for k in ks}
            index.close()
            test = [load[k] for v in TEST_VIDEOS for k in keys_by_video[v]]
            pool = [load[k][1] for v in TRAIN_VIDEOS for k in keys_by_video[v]]
            rare = rare_instruments(pool, cs)       # over all training videos' frames: the same for every N
            results.setdefault("rare", {})[style] = rare
            results["rare_pool"] = len(pool)
            made: dict = {}
            for n in args.n:
                t0 = time.time()
                keys = _subset(keys_by_video, n)
                made[n] = {s: _pairs(Path(tmp) / style / f"proj-{s}-{n}", data, keys, s, args) for s in args.sources}
                print(f"[{style} N={n}] pairs in {time.time() - t0:.0f}s: "
                      + ", ".join(f"{s} {len(p)}" for s, p in made[n].items()), flush=True)
            if args.pairs_only:
                continue
            for seed in args.seed_list or range(args.seeds):   # seeds outermost: a spread as early as possible
                for n in args.n:
                    real = [load[k] for k in _subset(keys_by_video, n)]
                    for arch, recipe in recipes.items():
                        t1 = time.time()
                        _cells(results, args, style, n, arch, recipe, seed, real, made[n], test, rare)
                        print(f"  ({style} N={n} {arch} seed {seed}: {time.time() - t1:.0f}s)", flush=True)
    return results


def _cells(results, args, style, n, arch, recipe, seed, real, made, test, rare) -> None:
    """Real-only and every arm for one style, N, segmenter and seed; appended to `results` (and --out)."""
    from engine.baselines.segmenters import predict_segmenter, train_segmenter

    base = train_segmenter(real, recipe, seed=seed)
    base_iou = per_class_iou(base, test, predict_segmenter)
    arms = {}
    for s, recs in made.items():
        pairs = [p for p, _parent in recs]
        score = [consistency(base, predict_segmenter, img, lab) for img, lab in pairs]
        keep = np.argsort(np.nan_to_num(score, nan=-1.0))[::-1][: max(1, len(pairs) // 2)]
        arms[f"+{s}"] = pairs
        arms[f"+{s} curated"] = [pairs[i] for i in keep] if pairs else []
    for arm, synth in arms.items():
        if args.arms and arm not in args.arms:
            continue
        if not synth:
            raise SystemExit(f"augment_protocol: source {arm} made no pairs for N={n}")
        model = train_segmenter(real + synth, recipe, seed=seed)
        cell = {"style": style, "n": n, "arch": arch, "seed": seed, "arm": arm, "m": len(synth),
                "without": base_iou, "with": per_class_iou(model, test, predict_segmenter)}
        results["cells"].append(cell)
        print(f"[{style} N={n} {arch} seed={seed} {arm} M={len(synth)}] "
              f"d_rare={_delta(cell, rare):+.3f} d_mIoU={_delta(cell, None):+.3f}", flush=True)
        if args.out:
            Path(args.out).write_text(json.dumps(results) + "\n")


def _group(iou, classes) -> float:
    a = np.asarray(iou, float)
    cs = [c for c in (range(len(a)) if classes is None else classes) if not np.isnan(a[c])]
    return float(np.mean(a[cs])) if cs else float("nan")


def _delta(cell, classes) -> float:
    return _group(cell["with"], classes) - _group(cell["without"], classes)


def _ms(values, signed=True) -> str:
    a = np.asarray([v for v in values if not np.isnan(v)], float)
    if not a.size:
        return "–"
    fmt = "+.3f" if signed else ".3f"
    return f"{a.mean():{fmt}} ± {a.std(ddof=1):.3f}" if a.size > 1 else f"{a.mean():{fmt}}"


def summarize(paths) -> list[str]:
    """Markdown tables: per style, segmenter, N and arm, means over seeds ± sample sd; then per class."""
    from engine.taxonomy import get_class_set

    cells, budget, rare, pool = [], None, {}, -1
    for path in paths:
        data = json.loads(Path(path).read_text())
        cells += data["cells"]
        budget = budget or data["budget"]
        budget["recipes"].update(data["budget"]["recipes"])
        if data.get("rare_pool", 0) > pool:     # the rare set counted over the most training frames
            rare, pool = data.get("rare", {}), data.get("rare_pool", 0)
    cs = get_class_set(budget["class_set"])
    out = [f"Budget: {json.dumps(budget)}", "",
           "| style | segmenter | N | arm | M | seeds | mIoU real only | Δ mIoU | instruments real only | Δ instruments "
           "| rare real only | Δ rare instruments |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    inst = [c for c in range(7, cs.num_classes)]
    arm_order = list(dict.fromkeys(c["arm"] for c in cells))
    keys = sorted({(c["style"], c["arch"], c["n"], c["arm"]) for c in cells},
                  key=lambda k: (k[0], k[1] != "unet", k[1], k[2], arm_order.index(k[3])))
    for style, arch, n, arm in keys:
        g = [c for c in cells if (c["style"], c["arch"], c["n"], c["arm"]) == (style, arch, n, arm)]
        r = rare.get(style, [])
        out.append(f"| {style} | {arch} | {n} | {arm} | {g[0]['m']} | {len(g)} | "
                   f"{_ms([_group(c['without'], None) for c in g], False)} | {_ms([_delta(c, None) for c in g])} | "
                   f"{_ms([_group(c['without'], inst) for c in g], False)} | {_ms([_delta(c, inst) for c in g])} | "
                   f"{_ms([_group(c['without'], r) for c in g], False)} | {_ms([_delta(c, r) for c in g])} |")
    out += ["", "Rare instruments: " + "; ".join(f"{s}: " + ", ".join(f"{c} {cs.names[c]}" for c in r)
                                                 for s, r in rare.items()), "",
            "Per class IoU (mean over seeds and N; real only, then Δ of each arm):", ""]
    arms = list(dict.fromkeys(c["arm"] for c in cells))
    for style, arch in dict.fromkeys((c["style"], c["arch"]) for c in cells):
        g = [c for c in cells if (c["style"], c["arch"]) == (style, arch)]
        out += [f"{style}, {arch}:", "", "| class | real only | " + " | ".join(f"Δ {a}" for a in arms) + " |",
                "|---|---|" + "---|" * len(arms)]
        for k in range(cs.num_classes):
            base = _ms([c["without"][k] for c in g if c["arm"] == arms[0]], False)
            if base == "–":
                continue
            out.append(f"| {k} {cs.names[k]}{' (rare)' if k in rare.get(style, []) else ''} | {base} | "
                       + " | ".join(_ms([c["with"][k] - c["without"][k] for c in g if c["arm"] == a]) for a in arms)
                       + " |")
        out.append("")
    return out


def pair_stats(work: Path, class_set: str = "2") -> list[str]:
    """Why a source helps or not, from the pairs in `work` (no training): per N and source, the share of pairs
    showing a rare instrument, the rare instruments' pixel share in pair labels vs the real frames', and how much
    of the image differs from the parent frame (a repaint that changes little is nearly a copy)."""
    from engine.project import Project
    from engine.taxonomy import get_class_set

    cs = get_class_set(class_set)
    out = ["| style | N | source | pairs | with a rare instrument | rare pixel share (real frames) | "
           "pixels differing from the parent frame |", "|---|---|---|---|---|---|---|"]
    for style_dir in sorted(p for p in Path(work).iterdir() if (p / "data").is_dir()):
        index = Project.open_or_create(style_dir / "data", project_dir=style_dir / "index", read_only=True)
        keys_by_video: dict = {}
        for k in index.frame_keys():
            keys_by_video.setdefault(index.record(k).video, []).append(k)
        rare = rare_instruments([index.load_label(k) for v in TRAIN_VIDEOS for k in keys_by_video[v]], cs)
        share = lambda lab, r=rare: float(np.isin(cs.remap(lab), r).mean())  # noqa: E731
        for proj in sorted(style_dir.glob("proj-*-*"), key=lambda p: (int(p.name.split("-")[2]), p.name)):
            _, source, n = proj.name.split("-")
            pr = Project.open_or_create(style_dir / "data", project_dir=proj, read_only=True)
            recs = pr.pairs(source="augment")
            pairs = [(pr.load_pair(r.id), r.parent_key) for r in recs]
            pr.close()
            real = [index.load_label(k) for k in dict.fromkeys(p for _, p in pairs)]
            diff = [float((np.abs(img.astype(int) - index.load_image(k).astype(int)).max(axis=2) > 24).mean())
                    for (img, _lab), k in pairs]
            out.append(f"| {style_dir.name} | {n} | {source} | {len(pairs)} | "
                       f"{np.mean([share(lab) > 0 for (_i, lab), _k in pairs]):.0%} | "
                       f"{np.mean([share(lab) for (_i, lab), _k in pairs]):.2%} ({np.mean([share(lab) for lab in real]):.2%}) | "
                       f"{np.mean(diff):.0%} |")
        index.close()
    return out


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--pair-stats" in argv:
        print("\n".join(pair_stats(Path(argv[argv.index("--pair-stats") + 1]))))
        return
    if "--summary" in argv:
        print("\n".join(summarize(argv[argv.index("--summary") + 1:])))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.environ.get("CADIS_STARTER_MODEL")
                    or str(ROOT / "resources" / "models" / "starter-synthesis"))
    ap.add_argument("--archs", nargs="+", default=["unet", "segformer"])
    ap.add_argument("--class-set", default="2", help="full, 1, 2 or 3 (the CaDIS experiments)")
    ap.add_argument("--steps", type=int, default=400, help="segmenter training steps")
    ap.add_argument("--crop", type=int, default=64, help="training crop side in pixels (native scale)")
    ap.add_argument("--frame-size", default="256x144", help="phantom frame size WxH")
    ap.add_argument("--frames", type=int, default=13, help="frames per phantom video")
    ap.add_argument("--layouts", type=int, default=1, help="layout variants per training frame")
    ap.add_argument("--synth-steps", type=int, default=6)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed-list", type=int, nargs="*", default=[], help="only these seeds (parallel runs)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--instrument-crops", type=float, default=0.8, help="share of crops centred on an instrument")
    ap.add_argument("--n", type=int, nargs="+", default=[8, 20, 50])
    ap.add_argument("--sources", nargs="+", default=list(SOURCES), choices=SOURCES)
    ap.add_argument("--arms", nargs="*", default=[], help="only these arms (e.g. '+full curated'); default all")
    ap.add_argument("--width", type=int, default=16, help="UNet base channels / SegFormer first hidden size")
    ap.add_argument("--styles", nargs="+", default=["plain"])
    ap.add_argument("--out", default="")
    ap.add_argument("--work", default="", help="keep the phantom draw and the pairs here (reused by a later run)")
    ap.add_argument("--pairs-only", action="store_true", help="make the pairs (in --work) and train nothing")
    args = ap.parse_args(argv)
    if not (Path(args.model) / "model_index.json").is_file():
        print(f"augment_protocol: no synthesis pipeline at {args.model}", file=sys.stderr)
        raise SystemExit(1)
    if max(args.n) > len(TRAIN_VIDEOS) * args.frames:
        print(f"augment_protocol: N={max(args.n)} needs more than {args.frames} frames per video", file=sys.stderr)
        raise SystemExit(1)
    try:
        from engine.baselines.segmenters import build_net

        for a in args.archs:
            build_net(a, 4, 8)
    except Exception as exc:  # a segmenter that cannot be built is a failure, not a skipped cell
        print(f"augment_protocol: cannot build segmenter: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    run(args)


if __name__ == "__main__":
    main()
