"""What the project's accepted synthetic pairs are worth: `cadis eval-augment` and *Curation → What is it worth?*.

    result = eval_augment(ctx, project, EvalAugmentRequest(folds=3, steps=200, size=(192, 108)))

Trains the small UNet (engine.baselines) on the project's done frames with and without its accepted synthetic
pairs, in folds by video (`engine.baselines.augment_value.video_folds`: a pair derived from a frame of the
held-out video is never trained on in that fold; a pair without a parent frame is trained on in every fold),
and gives per class what the pairs add or cost on the held-out frames, with the spread over folds. The rare
instrument classes are those of `cadis augment` (the instruments seen in the fewest done frames).

A project without accepted synthetic pairs gives a result whose `problem` says so (nothing is trained). A
finished run is stored in the project (`engine.project.eval_augment_file`) and the export report carries it;
a cancelled one (JobCancelled) stores nothing. The budget (steps, working size) is part of every table.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

from engine.augment.sampler import rare_classes_from_counts
from engine.baselines.augment_value import AugmentValue, compare_with_without, rare_instruments, video_folds
from engine.jobs import JobContext
from engine.project.eval_augment_file import load_eval_augment, save_eval_augment

MAX_STEPS, MAX_SIDE = 20000, 1024


@dataclass
class EvalAugmentRequest:
    """The run's budget: folds by video, training steps per model, working size (width, height), seed."""

    folds: int = 3
    steps: int = 200
    size: tuple[int, int] = (192, 108)
    seed: int = 0

    def check(self) -> None:
        """ValueError with one clear line for a budget that cannot run."""
        if self.folds < 2:
            raise ValueError(f"--folds must be at least 2, got {self.folds}")
        if not 1 <= self.steps <= MAX_STEPS:
            raise ValueError(f"--steps must be between 1 and {MAX_STEPS}, got {self.steps}")
        w, h = self.size
        if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
            raise ValueError(f"--size must be between 16x16 and {MAX_SIDE}x{MAX_SIDE}, got {w}x{h}")

    def budget(self) -> str:
        w, h = self.size
        return f"small UNet, {self.steps} steps at {w}x{h}, folds by video, seed {self.seed}"


@dataclass
class EvalAugmentResult:
    """A finished run (`value` set) or why nothing was measured (`problem`)."""

    request: EvalAugmentRequest
    value: Optional[AugmentValue] = None
    rare: list[int] = field(default_factory=list)
    pairs: int = 0
    problem: str = ""
    finished_at: str = ""

    def rows(self) -> list[dict]:
        """Per class (ID order): name, IoU without/with, mean difference and its spread, rare flag."""
        if self.value is None:
            return []
        return [dict(self.value.row(c), rare=c in self.rare) for c in self.value.classes()]

    def summary(self) -> dict:
        """mIoU without/with (mean over folds), their difference's spread, the rare instruments' gain."""
        v = self.value
        a, b = np.asarray(v.miou("without")), np.asarray(v.miou("with"))
        d = b - a
        rare = v.group_delta(self.rare) if self.rare else (math.nan, math.nan)
        return {"miou_without": float(np.nanmean(a)), "miou_with": float(np.nanmean(b)),
                "miou_delta": float(np.nanmean(d)), "miou_spread": float(np.std(d, ddof=1)) if d.size > 1 else math.nan,
                "rare_delta": rare[0], "rare_spread": rare[1]}

    def markdown(self) -> list[str]:
        """The result as Markdown lines: the budget, the summary and the per-class table."""
        if self.value is None:
            return [self.problem]
        s = self.summary()
        sizes = ", ".join(f"{name}: {r} real + {m} synthetic, {t} held out"
                          for name, (r, m, t) in zip(self.value.splits, self.value.sizes))
        out = [f"Budget: {self.request.budget()} ({len(self.value.splits)} folds; {sizes}).", "",
               f"mIoU {_f(s['miou_without'])} without the {self.pairs} accepted pairs, {_f(s['miou_with'])} with "
               f"them: {_d(s['miou_delta'], s['miou_spread'])}.",
               f"Rare instruments ({', '.join(map(str, self.rare)) or 'none seen'}): "
               f"{_d(s['rare_delta'], s['rare_spread'])}.", "",
               "| class | without | with | pairs add (± spread over folds) | folds |", "|---|---|---|---|---|"]
        for r in self.rows():
            name = f"{r['class']} {r['name']}" + (" (rare)" if r["rare"] else "")
            out.append(f"| {name} | {_f(r['without'])} | {_f(r['with'])} | {_d(r['delta'], r['spread'])} | "
                       f"{r['splits']} |")
        return out

    def to_dict(self) -> dict:
        return {"request": asdict(self.request), "value": self.value.to_dict() if self.value else None,
                "rare": self.rare, "pairs": self.pairs, "problem": self.problem, "finished_at": self.finished_at,
                "markdown": self.markdown()}

    @classmethod
    def from_dict(cls, d: dict) -> "EvalAugmentResult":
        req = dict(d.get("request") or {})
        if "size" in req:
            req["size"] = tuple(req["size"])
        value = AugmentValue.from_dict(d["value"]) if d.get("value") else None
        return cls(EvalAugmentRequest(**req), value, [int(c) for c in d.get("rare", [])], int(d.get("pairs", 0)),
                   str(d.get("problem", "")), str(d.get("finished_at", "")))


def last_result(project) -> Optional[EvalAugmentResult]:
    """The project's last finished run (what the export report carries), or None (never run, or unreadable)."""
    data = load_eval_augment(project.root)
    try:
        return EvalAugmentResult.from_dict(data) if data is not None else None
    except (KeyError, TypeError, ValueError):
        return None


def _f(v: float) -> str:
    return "–" if v is None or math.isnan(v) else f"{v:.3f}"


def _d(mean: float, spread: float) -> str:
    if mean is None or math.isnan(mean):
        return "–"
    return f"{mean:+.3f}" + ("" if spread is None or math.isnan(spread) else f" ± {spread:.3f}")


def eval_augment(ctx: JobContext, project, request: EvalAugmentRequest) -> EvalAugmentResult:
    """Measure what the accepted synthetic pairs of the open `project` add (module docstring)."""
    request.check()
    ctx = ctx or JobContext()
    pairs = project.pairs(status="accepted")
    if not pairs:
        return EvalAugmentResult(request, problem=f"{project.root.name} has no accepted synthetic pairs: nothing to "
                                                  "measure (make some with Augment… and accept them in Curation)")
    video = {k: project.record(k).video for k, s in project.statuses().items() if s == "done"}
    done = [k for k, v in video.items() if v is not None]
    if len({v for v in video.values() if v is not None}) < 2:
        return EvalAugmentResult(request, pairs=len(pairs), problem=f"{project.root.name} has done frames from "
                                 "fewer than 2 videos: folds by video need at least 2")
    ctx.report(0.0, f"reading {len(done)} done frames and {len(pairs)} pairs")
    real, counts = [], Counter()
    for k in done:
        ctx.check()
        label = project.load_label(k)
        counts.update(int(c) for c in np.unique(label))
        real.append((video[k], (project.load_image(k), label)))
    synthetic = []
    for p in pairs:
        ctx.check()
        parent = project.record(p.parent_key).video if p.parent_key else None
        synthetic.append((parent, project.load_pair(p.id)))
    splits = video_folds(real, synthetic, request.folds)
    value = compare_with_without(splits, steps=request.steps, size=request.size, seed=request.seed,
                                 ctx=ctx.sub(0.05, 1.0))
    rare = rare_instruments(value, rare_classes_from_counts(dict(counts)))
    result = EvalAugmentResult(request, value, rare, len(pairs),
                               finished_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    save_eval_augment(project.root, result.to_dict())
    return result
