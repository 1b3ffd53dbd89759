"""What synthetic pairs add to a segmenter: the small UNet trained with and without them, per class, over splits.

    value = compare_with_without(splits, steps=200, size=(192, 108), seed=0, ctx=ctx)

Each `Split` holds real training pairs, synthetic training pairs and real test pairs (all (RGB image, label in
original CaDIS IDs)). For every split the small UNet (`engine.baselines.small_unet`) is trained twice with the
same seed, step budget and working size, once on the real pairs alone and once on real + synthetic, and both are
scored on the split's test pairs (per-class IoU, full 36-class set). `AugmentValue` keeps the per-split IoUs and
gives, per class, the mean of each and the mean and spread (sample standard deviation over splits) of the
difference. Classes are those present in a split's test labels; a class absent from a split's test frames has
no IoU there (nan) and is averaged over the splits that show it.

`video_folds` makes the splits of `cadis eval-augment`: folds by video, and a synthetic pair whose parent frame
is in the held-out video is never trained on in that fold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from engine.baselines.small_unet import predict_small_unet, train_small_unet
from engine.jobs import JobContext
from engine.metrics import confusion, iou_from_confusion
from engine.taxonomy import CLASS_NAMES, INSTRUMENT_IDS, NUM_CLASSES

Pair = tuple[np.ndarray, np.ndarray]


@dataclass
class Split:
    """One train/test split: real and synthetic training pairs, real test pairs, and a name ("video 3")."""

    name: str
    real: list[Pair]
    synthetic: list[Pair]
    test: list[Pair]


@dataclass
class AugmentValue:
    """Per split and class: IoU without (`without[s][c]`) and with (`with_[s][c]`) the synthetic pairs."""

    splits: list[str] = field(default_factory=list)
    without: list[list[float]] = field(default_factory=list)
    with_: list[list[float]] = field(default_factory=list)
    sizes: list[tuple[int, int, int]] = field(default_factory=list)  # per split: real, synthetic, test pairs

    def classes(self) -> list[int]:
        """Classes with an IoU in at least one split, in ID order."""
        a = np.asarray(self.without, dtype=float)
        return [int(c) for c in np.nonzero((~np.isnan(a)).any(axis=0))[0]] if a.size else []

    def row(self, c: int) -> dict:
        """Class c: mean IoU without and with, mean difference and its spread over splits (nan where unknown)."""
        a, b = np.asarray(self.without, float)[:, c], np.asarray(self.with_, float)[:, c]
        seen = ~np.isnan(a) & ~np.isnan(b)
        d = (b - a)[seen]
        return {"class": c, "name": CLASS_NAMES[c], "without": _mean(a[seen]), "with": _mean(b[seen]),
                "delta": _mean(d), "spread": float(np.std(d, ddof=1)) if d.size > 1 else float("nan"),
                "splits": int(seen.sum())}

    def miou(self, which: str) -> list[float]:
        """mIoU per split over the classes present in that split ("without" or "with")."""
        rows = np.asarray(self.without if which == "without" else self.with_, float)
        return [_mean(r[~np.isnan(r)]) for r in rows]

    def group_delta(self, classes: Sequence[int]) -> tuple[float, float]:
        """(mean, spread over splits) of the per-split mean IoU gain over `classes` (those seen in a split)."""
        a, b = np.asarray(self.without, float), np.asarray(self.with_, float)
        per = []
        for s in range(len(a)):
            cs = [c for c in classes if not math.isnan(a[s][c])]
            if cs:
                per.append(float(np.mean(b[s][cs] - a[s][cs])))
        arr = np.asarray(per)
        return _mean(arr), float(np.std(arr, ddof=1)) if arr.size > 1 else float("nan")

    def to_dict(self) -> dict:
        return {"splits": self.splits, "without": _nulls(self.without), "with": _nulls(self.with_),
                "sizes": [list(s) for s in self.sizes]}

    @classmethod
    def from_dict(cls, d: dict) -> "AugmentValue":
        back = lambda rows: [[float("nan") if v is None else float(v) for v in r] for r in rows]  # noqa: E731
        return cls(list(d["splits"]), back(d["without"]), back(d["with"]), [tuple(s) for s in d["sizes"]])


def _mean(a: np.ndarray) -> float:
    return float(np.mean(a)) if np.size(a) else float("nan")


def _nulls(rows: list[list[float]]) -> list[list]:
    return [[None if math.isnan(v) else round(float(v), 6) for v in r] for r in rows]


def per_class_iou(model, test: Sequence[Pair]) -> list[float]:
    """IoU of each of the 36 classes on `test` (nan for a class in neither the labels nor the predictions,
    and for a class the model predicts but the labels never show: it has no ground truth here)."""
    conf = sum(confusion(predict_small_unet(model, img), lab, NUM_CLASSES) for img, lab in test)
    iou, _ = iou_from_confusion(conf)
    iou[np.asarray(conf).sum(axis=1) == 0] = np.nan
    return [float(v) for v in iou]


def compare_with_without(splits: Sequence[Split], steps: int = 200, size: tuple[int, int] = (192, 108),
                         seed: int = 0, ctx: JobContext | None = None,
                         train: Callable = train_small_unet) -> AugmentValue:
    """Train without and with each split's synthetic pairs; see the module docstring. Cancellable (ctx.check)."""
    ctx = ctx or JobContext()
    out = AugmentValue()
    n = 2 * len(splits)
    for i, sp in enumerate(splits):
        runs = []
        for j, data in enumerate((sp.real, sp.real + sp.synthetic)):
            part = ctx.sub((2 * i + j) / n, (2 * i + j + 1) / n)
            what = "without" if j == 0 else "with"
            sub = JobContext(lambda f, m, p=part, w=what, s=sp.name: p.report(f, f"{s}, {w} the pairs: {m}"),
                             ctx.is_cancelled)
            model = train(data, "full", size, steps=steps, seed=seed, ctx=sub)
            ctx.check()
            runs.append(per_class_iou(model, sp.test))
        out.splits.append(sp.name)
        out.without.append(runs[0])
        out.with_.append(runs[1])
        out.sizes.append((len(sp.real), len(sp.synthetic), len(sp.test)))
    ctx.report(1.0, "done")
    return out


def video_folds(real: Sequence[tuple[int, Pair]], synthetic: Sequence[tuple[int, Pair]], k: int) -> list[Split]:
    """Splits holding out the videos of one fold each: `real` and `synthetic` are (video, pair); a synthetic
    pair is (parent frame's video, pair). Videos are dealt to k folds in order; k is at most the video count."""
    videos = sorted({v for v, _ in real})
    if len(videos) < 2:
        raise ValueError(f"folds by video need done frames from at least 2 videos, got {len(videos)}")
    k = max(2, min(int(k), len(videos)))
    folds = [videos[i::k] for i in range(k)]
    splits = []
    for held in folds:
        out = set(held)
        name = "video " + ", ".join(str(v) for v in held) if len(held) > 1 else f"video {held[0]}"
        splits.append(Split(name, [p for v, p in real if v not in out], [p for v, p in synthetic if v not in out],
                            [p for v, p in real if v in out]))
    return splits


def rare_instruments(value: AugmentValue, rare: Sequence[int] = ()) -> list[int]:
    """The rare instrument classes of a result: `rare` (e.g. the augment run's) among the instruments seen."""
    seen = set(value.classes())
    return [c for c in rare if c in INSTRUMENT_IDS and c in seen]
