"""A labelling team on phantom draws: simulated annotators label their work packages, the packages are merged,
and the agreement report is checked against what each annotator was made to do.

Annotators (all through the real engine calls: assign -> save_label in each package -> merge -> agreement):
- ana: boundary jitter only (a smooth random displacement of up to ~3 px);
- ben: jitter, and confuses Pupil and Iris (the two classes swapped);
- chen: jitter, and leaves the thin instruments out (their pixels filled with the surrounding class).

Checks per draw: the report names Pupil/Iris among the classes with most disagreement and ben as departing on
them, names chen as departing on instruments; the merged label's mIoU against the phantom truth (on the overlap
frames) beats each annotator's. Also measured: the plain majority vs a vote weighted by each annotator's
agreement with the majority (the "chosen by measurement" of the proposal rule).

Run: `python -m benchmarks.bench_team [--draws 3] [--videos 2] [--frames 4] [--json FILE]`.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

PUPIL, IRIS = 0, 4
INSTRUMENTS = tuple(range(7, 36))


def jitter(label: np.ndarray, rng: np.random.Generator, amplitude: float = 3.0) -> np.ndarray:
    """The label warped by a smooth random displacement field (nearest neighbour): boundaries move, classes stay."""
    h, w = label.shape
    field = []
    for _ in range(2):
        noise = rng.standard_normal((h // 16 + 2, w // 16 + 2)).astype(np.float32)
        smooth = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
        field.append(smooth / max(1e-6, float(np.abs(smooth).max())) * amplitude)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(label, xs + field[0], ys + field[1], cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)


def swap(label: np.ndarray, a: int, b: int) -> np.ndarray:
    out = label.copy()
    out[label == a] = b
    out[label == b] = a
    return out


def leave_out(label: np.ndarray, classes) -> np.ndarray:
    """The pixels of `classes` filled with the neighbouring class (grown inwards from the hole's border)."""
    out = label.copy()
    hole = np.isin(out, classes)
    while hole.any():
        grown = False
        for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            src = np.roll(out, (dy, dx), axis=(0, 1))
            src_hole = np.roll(hole, (dy, dx), axis=(0, 1))
            take = hole & ~src_hole
            if take.any():
                out[take] = src[take]
                hole &= ~take
                grown = True
        if not grown:
            break
    return out


ANNOTATORS = {
    "ana": lambda lab, rng: jitter(lab, rng),
    "ben": lambda lab, rng: swap(jitter(lab, rng), PUPIL, IRIS),
    "chen": lambda lab, rng: leave_out(jitter(lab, rng), INSTRUMENTS),
}


def miou_vs_truth(preds: list[np.ndarray], truths: list[np.ndarray]) -> float:
    """Pooled mIoU over the classes in the truth (a prediction of 255, a tie left open, counts as wrong)."""
    from engine.metrics import confusion

    conf = sum(confusion(p, t, 256) for p, t in zip(preds, truths))
    inter = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - inter
    present = conf.sum(1) > 0
    return float((inter[present] / union[present]).mean())


def run_draw(seed: int, videos: int, frames: int, work: Path) -> dict:
    from engine.dataset import open_dataset
    from engine.imageio import read_label
    from engine.phantom import generate_dataset
    from engine.project import Project
    from engine.team import assign, majority_vote, measure_agreement, merge_projects
    from engine.team.measures import mean_iou

    data = work / "phantom"
    generate_dataset(data, videos=videos, frames_per_video=frames, seed=seed)
    truth = {f.key: read_label(f.label_path) for f in open_dataset(data).frames}
    team = work / "team"
    t0 = time.perf_counter()
    assignment = assign(data, list(ANNOTATORS), team, overlap="50%", seed=seed)
    rng = np.random.default_rng(seed)
    made: dict[str, dict[str, np.ndarray]] = {a: {} for a in ANNOTATORS}
    for name, simulate in ANNOTATORS.items():
        with Project.open_or_create(team / f"{name}.cadis-project") as p:
            for key in p.frame_keys():
                made[name][key] = simulate(truth[key], rng)
                p.save_label(key, made[name][key])
    merged_dir = work / "merged.cadis-project"
    result = merge_projects([team / f"{a}.cadis-project" for a in ANNOTATORS], merged_dir)
    t_merge = time.perf_counter() - t0
    with Project.open_or_create(merged_dir, read_only=True) as m:
        t1 = time.perf_counter()
        report = measure_agreement(m)
        t_agree = time.perf_counter() - t1
        overlap = list(assignment.overlap)
        merged = [m.load_label(k) for k in overlap]
    truths = [truth[k] for k in overlap]
    single = {a: miou_vs_truth([made[a][k] for k in overlap], truths) for a in ANNOTATORS}
    weights = {a: float(np.mean([mean_iou(made[a][k], majority_vote([made[b][k] for b in sorted(ANNOTATORS)]))
                                 for k in overlap])) for a in sorted(ANNOTATORS)}
    weighted = [majority_vote([made[a][k] for a in sorted(ANNOTATORS)], weights=[weights[a] for a in sorted(ANNOTATORS)])
                for k in overlap]
    from engine.team import propose
    from engine.team.agreement import class_name

    # two versions (no majority): the weighted fusion vs leaving the disputed pixels open vs either version
    two = {}
    for a, b in (("ana", "ben"), ("ana", "chen"), ("ben", "chen")):
        fused = [propose({a: made[a][k], b: made[b][k]}, weights=weights)[0] for k in overlap]
        open_ = [propose({a: made[a][k], b: made[b][k]})[0] for k in overlap]
        two[f"{a}+{b}"] = {"weighted": miou_vs_truth(fused, truths), "agreed_only": miou_vs_truth(open_, truths),
                           a: single[a], b: single[b]}

    departures = {a: [(class_name(d["class"]), class_name(d["instead"]) if d["instead"] is not None else None)
                      for d in ds] for a, ds in report.departures.items()}
    most = [class_name(c) for c in report.most_disputed()]
    ben_classes = {c for d in departures["ben"] for c in d if c}
    chen_classes = {c for d in departures["chen"] for c in d if c}
    instruments = {class_name(c) for c in INSTRUMENTS}
    return {
        "seed": seed, "frames": len(truth), "overlap_frames": len(overlap), "disputed": len(result.disputed),
        "miou_single": single, "miou_merged": miou_vs_truth(merged, truths),
        "miou_weighted_vote": miou_vs_truth(weighted, truths), "weights": weights, "two_versions": two,
        "most_disputed": most, "departures": departures,
        "names_pupil_iris": {"Pupil", "Iris"} <= set(most) and {"Pupil", "Iris"} <= ben_classes,
        "names_chen_instruments": bool(chen_classes & instruments),
        "ana_departs": len(departures["ana"]),
        "seconds_assign_label_merge": round(t_merge, 2), "seconds_agreement": round(t_agree, 2),
        "table": report.table(),
    }


def main(argv=()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--videos", type=int, default=2)
    parser.add_argument("--frames", type=int, default=4, help="frames per video")
    parser.add_argument("--json", default=None, help="write every figure here (JSON lines)")
    parser.add_argument("--show-table", action="store_true", help="print the first draw's agreement table")
    args = parser.parse_args(list(argv))
    rows = []
    for seed in range(args.draws):
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(run_draw(seed, args.videos, args.frames, Path(tmp)))
    if args.show_table:
        print(rows[0]["table"], "\n")
    print(f"{'draw':>4} {'overlap':>7} {'ana':>6} {'ben':>6} {'chen':>6} {'merged':>7} {'weighted':>8}  names "
          "Pupil/Iris+ben  chen on instruments  ana departs")
    for r in rows:
        s = r["miou_single"]
        print(f"{r['seed']:>4} {r['overlap_frames']:>7} {s['ana']:>6.3f} {s['ben']:>6.3f} {s['chen']:>6.3f} "
              f"{r['miou_merged']:>7.3f} {r['miou_weighted_vote']:>8.3f}  {str(r['names_pupil_iris']):<15} "
              f"{str(r['names_chen_instruments']):<19} {r['ana_departs']}")
    beats = all(r["miou_merged"] > max(r["miou_single"].values()) for r in rows)
    print(f"merged beats every single annotator on every draw: {beats}")
    print("two versions, mIoU (weighted fusion / disputed pixels left open / each version):")
    for r in rows:
        print(f"  draw {r['seed']}: " + "; ".join(
            f"{pair} {v['weighted']:.3f} / {v['agreed_only']:.3f} / " + " ".join(f"{v[n]:.3f}" for n in pair.split("+"))
            for pair, v in r["two_versions"].items()))
    print("most disputed (draw 0): " + ", ".join(rows[0]["most_disputed"]))
    print("departures (draw 0): " + "; ".join(f"{a}: {d}" for a, d in rows[0]["departures"].items()))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps({k: v for k, v in r.items() if k != "table"}) + "\n")
    return 0 if beats else 1


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
