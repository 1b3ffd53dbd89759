"""Hit rate of the pre-segmentation warnings (issue 22), on the shift study's frames.

    python -m benchmarks.preseg_warnings --shift benchmarks/results/preseg-shift-2026-12-02.jsonl
                                         [--layout] [--seeds 1000 1001 1002 1003] [--out FILE.json]

A proposal is flagged when ANY of these fires (`engine.preseg.trust`, `engine.preseg.shift`):
- **frame**: the frame's own shift score is above 1 (the per-frame rule, as before);
- **video**: the frame is of a video the head never saw and the head saw fewer than `MIN_VIDEOS` videos
  (every "one-video" cell), or the mean shift score of that video's frames proposed so far (in order) is
  above `VIDEO_LIMIT` ("spread" cells, heads of videos 1-4);
- **few**: the head was trained on fewer than `MIN_FRAMES` frames or on one video.

The frames and their per-frame scores are the records of `benchmarks.preseg_shift` (one JSON line per
held-out frame of videos 5 and 6 of the head's style, and per frame of videos 5 and 6 of the other style),
so no model runs for this part. `VIDEO_LIMIT` is chosen on the tuning draw (seed 1000: the sweep printed
here) and reported on the other draws.

`--layout` adds the layout check (`trust.contradictions`) run on the TRUE labels of the same frames, i.e. on
a perfect proposal (pixels of classes the head's training labels never had left out: a head does not
propose them): every flag there is a false alarm of that check (it renders the draws' frames, ~1.4 s
each, cached under build/). How often it catches wrong confident pixels needs trained heads and is not
measured here.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from benchmarks.bench_preseg import STYLES, TEST_VIDEOS, TUNING_SEED, draw_frames, labelled

SWEEP = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _groups(recs: list[dict]) -> dict:
    out: dict = {}
    for r in recs:
        out.setdefault((r["seed"], r["style"], r["cell"]), []).append(r)
    return out


def _video_of(rows: list[dict], i: int, kind: str) -> str:
    """Videos 5, 6 of the held-out frames are named; the other style's 12 frames are 6 of video 5, then 6."""
    if kind == "held":
        return rows[i]["frame"]
    others = [j for j, r in enumerate(rows) if r["frame"] == "other_style"]
    return f"other-video{TEST_VIDEOS[others.index(i) // (len(others) // len(TEST_VIDEOS))]}"


def flags_of(rows: list[dict], cell: str, limit: float) -> list[dict]:
    """Per held-out or other-style frame of one cell: which warnings fire."""
    from engine.preseg.trust import MIN_FRAMES, MIN_VIDEOS

    regime, k = cell.split(":")
    seen_videos = 1 if regime == "one-video" else 4
    few = int(k) < MIN_FRAMES or seen_videos < MIN_VIDEOS
    running: dict[str, list[float]] = {}
    out = []
    for i, r in enumerate(rows):
        kind = "held" if r["frame"].startswith("video") else "other" if r["frame"] == "other_style" else None
        if kind is None:
            continue
        score = r["score"]["limits"]
        video = _video_of(rows, i, kind)
        running.setdefault(video, []).append(score)
        video_flag = seen_videos < MIN_VIDEOS or statistics.mean(running[video]) > limit
        frame_flag = score > 1.0
        out.append({"kind": kind, "frame": frame_flag, "video": video_flag, "few": few,
                    "any": frame_flag or video_flag or few})
    return out


def shares(recs: list[dict], seeds, limit: float) -> dict:
    """{(style, regime): {kind: {rule: share}}} over `seeds`."""
    acc: dict = {}
    for (seed, style, cell), rows in _groups(recs).items():
        if seed not in seeds:
            continue
        regime = cell.split(":")[0]
        for f in flags_of(rows, cell, limit):
            for rule in ("frame", "video", "few", "any"):
                acc.setdefault((style, regime), {}).setdefault(f["kind"], {}).setdefault(rule, []).append(f[rule])
    return {key: {kind: {rule: statistics.mean(v) for rule, v in rules.items()} for kind, rules in kinds.items()}
            for key, kinds in acc.items()}


def layout_rates(seeds, cells) -> dict:
    """{(style, regime): {"held": share, "other": share}} of frames whose TRUE label the layout check flags."""
    import numpy as np

    from engine.preseg.trust import class_layout, contradictions
    from engine.taxonomy import get_class_set

    cs = get_class_set("full")
    acc: dict = {}
    for seed in seeds:
        for style in STYLES:
            frames = draw_frames(seed, style)
            other = draw_frames(seed, STYLES[1 - STYLES.index(style)])
            test = [p for v in TEST_VIDEOS for p in frames[v]]
            other_test = [p for v in TEST_VIDEOS for p in other[v]]
            for cell in cells:
                regime, k = cell.split(":")
                layout = class_layout([lab for _, lab in labelled(frames, regime, int(k))], cs)
                unseen = [c for c in range(cs.num_classes) if layout[c] is None]
                for kind, pairs in (("held", test), ("other", other_test)):
                    for _, lab in pairs:
                        ids = cs.remap(lab).copy()
                        ids[np.isin(ids, unseen)] = 255  # a head does not propose classes it never saw
                        flagged = bool(contradictions(ids, np.ones(ids.shape, np.float32), cs, layout))
                        acc.setdefault((style, regime), {}).setdefault(kind, []).append(flagged)
    return {key: {kind: statistics.mean(v) for kind, v in kinds.items()} for key, kinds in acc.items()}


def main(argv: list[str] | None = None) -> None:
    from engine.preseg.trust import VIDEO_LIMIT

    parser = argparse.ArgumentParser(prog="python -m benchmarks.preseg_warnings", description=__doc__.split("\n")[0])
    parser.add_argument("--shift", type=Path, nargs="+", required=True, help="records of benchmarks.preseg_shift")
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--layout", action="store_true", help="also the layout check on the true labels")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    recs = [json.loads(line) for p in args.shift for line in p.read_text().splitlines() if line.strip()]
    seeds = sorted({r["seed"] for r in recs}) if args.seeds is None else args.seeds
    reported = [s for s in seeds if s != TUNING_SEED]
    result: dict = {"video_limit": VIDEO_LIMIT, "reported_seeds": reported}
    if TUNING_SEED in seeds:
        print(f"tuning draw {TUNING_SEED}, spread cells, video rule alone: held-out flagged | other style flagged")
        for limit in SWEEP:
            s = shares(recs, [TUNING_SEED], limit)
            row = "  ".join(f"{style} {s[(style, 'spread')]['held']['video']:.0%} | "
                            f"{s[(style, 'spread')]['other']['video']:.0%}" for style in STYLES)
            print(f"  limit {limit:.1f}: {row}")
    final = shares(recs, reported or seeds, VIDEO_LIMIT)
    print(f"\nshipped rules (video limit {VIDEO_LIMIT}), draws {reported or seeds}: share of frames flagged")
    print("style      regime     frames         frame  video  few   ANY")
    for (style, regime), kinds in sorted(final.items()):
        for kind in ("held", "other"):
            r = kinds[kind]
            name = "held-out videos" if kind == "held" else "other style"
            print(f"{style:10} {regime:10} {name:15} {r['frame']:5.0%} {r['video']:5.0%} {r['few']:5.0%} {r['any']:5.0%}")
    result["shares"] = {f"{st}/{rg}": v for (st, rg), v in final.items()}
    if args.layout:
        cells = sorted({r["cell"] for r in recs})
        lay = layout_rates(reported or seeds, cells)
        print("\nlayout check on the TRUE labels (false alarms of a perfect proposal): held-out | other style")
        for (style, regime), v in sorted(lay.items()):
            print(f"{style:10} {regime:10} {v['held']:5.0%} | {v['other']:5.0%}")
        result["layout_false_alarms"] = {f"{st}/{rg}": v for (st, rg), v in lay.items()}
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
