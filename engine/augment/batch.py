"""The `augment` job: layout variants x synthesis samples, scored, filtered and stored as synthetic pairs.

    result = run_augment(project, generate, AugmentSettings(layouts=4, samples=2, seed=0), ctx=ctx)

For each chosen frame (default: the project's "done" frames) the job makes K layout variants of its mask
(`engine.augment.sampler`, biased toward the instrument classes seen in the fewest frames, pasting from
donor frames that show them), then M images per variant with `generate(label, seed) -> RGB image` (the CLI
wires the synthesis pipeline; tests inject a fake). With `mode="repaint"` (the CLI's default) it is called as
`generate(label, seed, parent_image=frame, parent_label=its mask)` and repaints only what the variant changed,
keeping the real frame's other pixels; `generate` may return `(image, extra_provenance)`.
Each image is scored (`score(image, label) -> dict`,
optional), dropped when its label consistency is under `min_consistency` or it is a near-duplicate of its
source frame or of an earlier sample of the same frame, and otherwise stored with
`project.add_pair(image, label, source="augment", provenance=..., parent_key=frame)`.

Resumable: see `engine.augment.plan` (deterministic item ids, a per-shard done log, pairs carry their item
id). Sharding: process `shard_index` of `shard_count` takes every shard_count-th frame (`accelerate launch`
gives each process its index). "Drop the X% most uncertain" runs once all shards are finished (the CLI's
main process calls `apply_uncertainty_filter`); it marks those pairs "rejected", so it can be reviewed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Sequence

import cv2
import numpy as np

from engine.augment.plan import DoneLog, WorkItem, frame_seed, plan_items, shard
from engine.augment.sampler import OPS, DonorPool, layout_variants, rare_classes_from_counts
from engine.curation.duplicates import DEFAULT_THRESHOLD, is_near_duplicate
from engine.curation.pairs import reject_most_uncertain
from engine.jobs import JobContext
from engine.labels import resize_label
from engine.provenance import json_safe
from engine.taxonomy import INSTRUMENT_IDS

SOURCE = "augment"
GenerateFn = Callable[[np.ndarray, int], np.ndarray]
ScoreFn = Callable[[np.ndarray, np.ndarray], dict]
MAX_DONORS = 24


@dataclass(frozen=True)
class AugmentSettings:
    """What a run makes and keeps."""

    layouts: int = 4                       # K layout variants per frame
    samples: int = 2                       # M synthesis samples per variant
    seed: int = 0
    min_consistency: Optional[float] = None  # drop pairs whose label consistency is lower (needs a scorer)
    drop_uncertain: float = 0.0            # after the run, reject this fraction of most uncertain pairs
    duplicate_threshold: float = DEFAULT_THRESHOLD
    rare_fraction: float = 0.5             # share of present instrument classes treated as rare
    ops: tuple[str, ...] = OPS
    mode: str = "full"                     # "repaint": keep the real frame outside what the variant changed

    def check(self, has_scorer: bool) -> None:
        if self.layouts < 1 or self.samples < 1:
            raise ValueError(f"layouts and samples must be at least 1 (got {self.layouts} and {self.samples})")
        if self.mode not in ("repaint", "full"):
            raise ValueError(f"mode must be repaint or full, got {self.mode!r}")
        if not 0.0 <= self.drop_uncertain < 1.0:
            raise ValueError(f"--drop-uncertain is a fraction in [0, 1), got {self.drop_uncertain}")
        if (self.min_consistency is not None or self.drop_uncertain > 0) and not has_scorer:
            raise ValueError("--min-consistency and --drop-uncertain need a pre-segmentation head to score "
                             "pairs: pass --head HEAD_DIR (train one with `cadis train-preseg`)")


@dataclass
class AugmentResult:
    """What one process of a run did."""

    planned: int = 0
    already_done: int = 0
    stored: list[int] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)  # reason -> items
    shard: tuple[int, int] = (0, 1)
    rare_classes: tuple[int, ...] = ()

    def summary(self) -> str:
        drops = ", ".join(f"{n} {why}" for why, n in sorted(self.dropped.items())) or "none"
        return (f"{len(self.stored)} pair(s) stored, {self.already_done} item(s) already done before, "
                f"dropped: {drops}")


def _frame_counts(project, keys: Sequence[str]) -> dict[int, int]:
    counts: Counter = Counter()
    for k in keys:
        counts.update(int(c) for c in np.unique(project.load_label(k)))
    return dict(counts)


def _donors(project, keys: Sequence[str], rare: Sequence[int]) -> DonorPool:
    """Up to MAX_DONORS frames (evenly spread, in key order) that show a rare instrument class."""
    if not rare:
        return DonorPool([])
    rare_set = set(rare)
    with_rare = [k for k in keys if rare_set & set(np.unique(project.load_label(k)).tolist())]
    if len(with_rare) > MAX_DONORS:
        idx = np.linspace(0, len(with_rare) - 1, MAX_DONORS).round().astype(int)
        with_rare = [with_rare[i] for i in idx]
    return DonorPool([project.load_label(k) for k in with_rare])


def _resize_image(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if image.shape[:2] == shape:
        return image
    return cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def _earlier_samples(project, frame: str, run: str) -> list[np.ndarray]:
    """Images of pairs this run already stored for `frame` (to spot near-duplicates after a resume)."""
    return [project.load_pair(p.id)[0] for p in project.pairs(source=SOURCE)
            if p.parent_key == frame and p.provenance.get("run") == run]


def run_augment(project, generate: GenerateFn, settings: AugmentSettings = AugmentSettings(),
                frames: Optional[Sequence[str]] = None, score: Optional[ScoreFn] = None,
                ctx: Optional[JobContext] = None, shard_index: int = 0, shard_count: int = 1,
                model_id: str = "custom", model_info: Optional[dict] = None) -> AugmentResult:
    """Run (or resume) this process's shard of an augment run; see the module docstring."""
    ctx = ctx or JobContext()
    settings.check(score is not None)
    keys = list(frames) if frames is not None else project.keys_with_status("done")
    if not keys:
        raise ValueError("no frames to augment: mark frames done in the project or pass --frames")
    for k in keys:
        project.record(k)  # unknown keys fail here with a clear message
    run = run_key(model_id, settings.seed)
    items = shard(plan_items(keys, settings.layouts, settings.samples, settings.seed, model_id, settings.mode),
                  shard_index, shard_count)
    log = DoneLog(project.root, shard_index)
    done = set(log.read_all()) | {p.provenance.get("item") for p in project.pairs(source=SOURCE)}
    todo = [it for it in items if it.id not in done]
    result = AugmentResult(planned=len(items), already_done=len(items) - len(todo), shard=(shard_index, shard_count))
    if not todo:
        ctx.report(1.0, "nothing left to do")
        return result
    ctx.report(0.0, "counting classes")
    rare = rare_classes_from_counts(_frame_counts(project, keys), settings.rare_fraction)
    result.rare_classes = tuple(rare)
    donors = _donors(project, keys, rare)
    by_frame: dict[str, list[WorkItem]] = {}
    for it in todo:
        by_frame.setdefault(it.frame, []).append(it)
    finished = 0
    for frame, frame_items in by_frame.items():
        ctx.check()
        label = project.load_label(frame)
        rng = np.random.default_rng(frame_seed(settings.seed, frame))
        variants = layout_variants(label, settings.layouts, rng, rare, donors, settings.ops)
        source_image = project.load_image(frame)
        earlier = _earlier_samples(project, frame, run) if result.already_done else []
        for it in frame_items:
            ctx.check()
            record = {"item": it.id}
            if it.variant >= len(variants):
                record.update(result="dropped", reason="no layout variant")
            else:
                new_label, ops = variants[it.variant]
                record.update(_make_pair(project, generate, score, settings, it, new_label, ops, source_image,
                                         earlier, run, rare, model_info, label))
            if record["result"] == "stored":
                result.stored.append(record["pair"])
            else:
                result.dropped[record["reason"]] += 1
            log.append(record)
            finished += 1
            ctx.report(finished / len(todo), f"{frame} v{it.variant} s{it.sample}: {record['result']}")
    return result


def _make_pair(project, generate: GenerateFn, score: Optional[ScoreFn], settings: AugmentSettings, it: WorkItem,
               new_label: np.ndarray, ops: list, source_image: np.ndarray, earlier: list[np.ndarray], run: str,
               rare: Sequence[int], model_info: Optional[dict], parent_label: Optional[np.ndarray] = None) -> dict:
    if settings.mode == "repaint":
        out = generate(new_label, it.sample_seed, parent_image=source_image, parent_label=parent_label)
    else:
        out = generate(new_label, it.sample_seed)
    out, extra = (out if isinstance(out, tuple) else (out, {}))
    image = np.asarray(out)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"the image generator returned {image.dtype} {image.shape}, expected HxWx3 uint8 RGB")
    label = resize_label(new_label, image.shape[:2])
    scores = json_safe(dict(score(image, label))) if score is not None else {}
    consistency = scores.get("consistency")
    if settings.min_consistency is not None and (consistency is None or consistency < settings.min_consistency):
        return {"result": "dropped", "reason": "low consistency", "consistency": consistency}
    # a repaint equals its source frame outside the change by design: whole-frame thumbnails would call every
    # repaint a near-duplicate, so the check applies to full synthesis only
    dup, dist = (False, None) if settings.mode == "repaint" else is_near_duplicate(
        image, [_resize_image(source_image, image.shape[:2])] + earlier, settings.duplicate_threshold)
    scores["duplicate_distance"] = json_safe(dist)
    if dup:
        return {"result": "dropped", "reason": "near-duplicate", "distance": json_safe(dist)}
    provenance = {
        "item": it.id, "run": run, "frame": it.frame, "variant": it.variant, "sample": it.sample,
        "seed": it.sample_seed, "base_seed": it.seed, "model": it.model, "ops": json_safe(ops), "scores": scores,
        "rare_classes": [int(c) for c in rare],
        "instrument_classes": [int(c) for c in np.unique(label) if int(c) in INSTRUMENT_IDS],
        "settings": json_safe({k: v for k, v in asdict(settings).items() if k != "ops"}),
    }
    if model_info:
        provenance["model_info"] = json_safe(model_info)
    provenance["mode"] = settings.mode
    if extra:
        provenance["repaint"] = json_safe(extra)
    pair_id = project.add_pair(image, label, source=SOURCE, provenance=provenance, parent_key=it.frame)
    earlier.append(image)
    return {"result": "stored", "pair": int(pair_id)}


def apply_uncertainty_filter(project, fraction: float, run: str) -> list[int]:
    """Reject the `fraction` most uncertain pairs of `run` (pending ones only: a person's decision stays).

    Computed over all the run's pairs whatever their status, so running it again rejects nothing new.
    Returns the ids it rejected now."""
    if fraction <= 0:
        return []
    pairs = [p for p in project.pairs(source=SOURCE) if p.provenance.get("run") == run]
    unc = {p.id: (p.provenance.get("scores") or {}).get("uncertainty") for p in pairs}
    unc = {k: v for k, v in unc.items() if v is not None}
    return reject_most_uncertain(project, unc, fraction)


def run_key(model_id: str, seed: int) -> str:
    """The run name stored in provenance (pairs of one model and base seed form one run)."""
    return f"{model_id}:seed{seed}"
