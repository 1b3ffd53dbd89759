"""Segmentation metrics the way the CaDIS literature computes them.

Intersections and unions are summed over the whole set of frames (not averaged per frame), pixels whose
ground truth is 255 (ignore) are excluded, and classes absent from both prediction and ground truth are
not counted in the mean.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from engine.dataset.report import Problem
from engine.dataset.scan import list_entries, walk_files
from engine.imageio import read_label
from engine.taxonomy import IGNORE, get_class_set


def _check_pair(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.shape != gt.shape:
        raise ValueError(f"prediction is {pred.shape} but ground truth is {gt.shape}")


def confusion(pred: np.ndarray, gt: np.ndarray, num_classes: int, ignore: int = IGNORE) -> np.ndarray:
    """(num_classes, num_classes) int64 matrix, rows = ground truth, columns = prediction.

    Pixels where `gt == ignore` are skipped. Any other ID >= num_classes in either array is an error
    (ValueError naming the IDs): remap both to the same class set first.
    """
    _check_pair(pred, gt)
    gt = np.asarray(gt).ravel()
    pred = np.asarray(pred).ravel()
    keep = gt != ignore
    if not keep.all():
        gt, pred = gt[keep], pred[keep]
    gt = gt.astype(np.int64, copy=False)
    pred = pred.astype(np.int64, copy=False)
    for name, arr in (("ground truth", gt), ("prediction", pred)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            bad = np.unique(arr[(arr < 0) | (arr >= num_classes)])
            raise ValueError(f"{name} has class IDs outside 0..{num_classes - 1}: {bad[:10].tolist()}")
    flat = np.bincount(gt * num_classes + pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64, copy=False)


def iou_from_confusion(conf: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-class IoU (nan for classes absent from both sides) and their mean over the present classes
    (nan when no class is present)."""
    conf = np.asarray(conf, dtype=np.float64)
    if conf.ndim != 2 or conf.shape[0] != conf.shape[1]:
        raise ValueError(f"a confusion matrix is square, got shape {conf.shape}")
    inter = np.diag(conf)
    union = conf.sum(axis=0) + conf.sum(axis=1) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = np.where(union > 0, inter / np.where(union > 0, union, 1), np.nan)
    present = ~np.isnan(per_class)
    miou = float(per_class[present].mean()) if present.any() else float("nan")
    return per_class, miou


def _pngs(folder: Path, problems: list) -> list[Path]:
    return walk_files(folder, problems,
                      lambda p: p.suffix.lower() == ".png" and not p.name.endswith(".uncertainty.png"))


def _label_files(folder: Path, problems: list) -> list[Path]:
    """Label files under `folder`: the Labels/ files of a CaDIS layout, otherwise every PNG."""
    if any(e.is_dir() and e.name.startswith("Video") for e in list_entries(folder, ".", [])):
        from engine.dataset import open_dataset

        index = open_dataset(folder)
        if index.kind == "cadis":
            problems.extend(p for p in index.scan_problems if "/Images" not in p.path)
            return sorted([f.label_path for f in index.labelled()] + list(index.orphan_labels))
    return _pngs(folder, problems)


def match_pairs(pred_dir: str | os.PathLike, gt_dir: str | os.PathLike,
                problems: list | None = None) -> tuple[list[tuple[Path, Path]], int, int]:
    """Pair predictions with ground-truth labels by relative path, else by file name.

    Returns (pairs, predictions without ground truth, ground truths without prediction). Entries of either
    tree that cannot be listed (link loops, unreadable folders) are appended to `problems` as
    `engine.dataset.Problem`s with the folder's name in front, and skipped.
    """
    for what, d in (("prediction", pred_dir), ("ground-truth", gt_dir)):
        if not Path(d).is_dir():
            raise FileNotFoundError(f"{what} folder {d} does not exist")
    pred_dir, gt_dir = Path(pred_dir).resolve(), Path(gt_dir).resolve()
    found: dict[str, list] = {"prediction": [], "ground truth": []}
    preds = _label_files(pred_dir, found["prediction"])
    gts = _label_files(gt_dir, found["ground truth"])
    if problems is not None:
        problems.extend(Problem(f"{what} {p.path}", p.reason) for what, ps in found.items() for p in ps)
    by_rel = {p.relative_to(gt_dir).as_posix(): p for p in gts}
    by_name: dict[str, list[Path]] = {}
    for p in gts:
        by_name.setdefault(p.name, []).append(p)
    pairs: list[tuple[Path, Path]] = []
    used: set[Path] = set()
    unmatched = 0
    for p in preds:
        gt = by_rel.get(p.relative_to(pred_dir).as_posix())
        if gt is None:
            candidates = by_name.get(p.name, [])
            if len(candidates) > 1:
                raise ValueError(f"{p.name} matches {len(candidates)} ground-truth files; keep the same "
                                 "relative paths in both folders")
            gt = candidates[0] if candidates else None
        if gt is None or gt in used:
            unmatched += 1
            continue
        used.add(gt)
        pairs.append((p, gt))
    return pairs, unmatched, len(gts) - len(used)


def evaluate_dirs(pred_dir: str | os.PathLike, gt_dir: str | os.PathLike, experiment: int | str | None = None,
                  remap_pred: bool = True) -> dict:
    """mIoU of the label PNGs in `pred_dir` against `gt_dir` (a folder of labels or a CaDIS dataset).

    Labels hold original CaDIS IDs; with `experiment` (1, 2, 3) both sides are remapped to that class set
    first (`remap_pred=False` when predictions already hold the experiment's IDs). A predicted ID that the
    class set ignores counts as a miss for the true class. Returns a dict with `miou`, `per_class`
    ({class name: IoU or None when absent from both sides}), `frames`, `unmatched_predictions`,
    `unmatched_ground_truth` and `problems` (entries that could not be listed: [{path, reason}]).
    """
    cs = get_class_set(experiment)
    n = cs.num_classes
    problems: list = []
    pairs, unmatched_pred, unmatched_gt = match_pairs(pred_dir, gt_dir, problems)
    if not pairs:
        raise ValueError(f"no prediction in {pred_dir} has a ground-truth label of the same name in {gt_dir}")
    # One extra "void" column collects predictions outside the class set: they are misses for the true
    # class and belong to no class's union, so dropping that column's class afterwards is exact.
    conf = np.zeros((n + 1, n + 1), np.int64)
    for pred_path, gt_path in pairs:
        pred, gt = read_label(pred_path), read_label(gt_path)
        if pred.shape != gt.shape:
            raise ValueError(f"{pred_path.name}: prediction is {pred.shape[1]}x{pred.shape[0]} but ground truth "
                             f"is {gt.shape[1]}x{gt.shape[0]}")
        if experiment is not None:
            gt = cs.remap(gt)
            if remap_pred:
                pred = cs.remap(pred)
        elif gt.max() >= n and np.any((gt >= n) & (gt != IGNORE)):
            bad = np.unique(gt[(gt >= n) & (gt != IGNORE)])
            raise ValueError(f"{gt_path}: ground truth has class IDs outside 0..{n - 1}: {bad[:10].tolist()}")
        pred = np.where(pred < n, pred, n).astype(np.uint8)
        try:
            conf += confusion(pred, gt, n + 1, ignore=IGNORE)
        except ValueError as exc:
            raise ValueError(f"{gt_path}: {exc}") from None
    per_class, _ = iou_from_confusion(conf)
    per_class = per_class[:n]
    present = ~np.isnan(per_class)
    miou = float(per_class[present].mean()) if present.any() else float("nan")
    return {
        "miou": miou,
        "per_class": {name: (None if np.isnan(v) else float(v)) for name, v in zip(cs.names, per_class)},
        "frames": len(pairs),
        "unmatched_predictions": unmatched_pred,
        "unmatched_ground_truth": unmatched_gt,
        "problems": [p.to_json() for p in problems],
    }
