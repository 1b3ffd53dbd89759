"""Training data for the synthesis model: (image, label) pairs at the model resolution.

Sources: a CaDIS-layout dataset (its labelled frames, via `engine.dataset.open_dataset`), a project
folder (its frames marked done), a folder of pairs (`NAME.png` + `NAME.mask.png`, as `cadis synth`
writes them, or `images/` + `labels/` subfolders matched by file name), or a list of pairs in memory.
Images are area-resized, labels nearest-resized (IDs are never blended) and remapped to the class set.
Everything is decoded once into memory: at 256x144 a frame takes ~110 KB.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import cv2
import numpy as np
import torch

from engine.imageio import read_image, read_label
from engine.jobs import JobContext
from engine.models.segmap import resize_label
from engine.taxonomy import IGNORE, ClassSet, get_class_set

PairSource = Union[np.ndarray, str, os.PathLike]


@dataclass
class TrainingPair:
    """One pair: `image`/`label` are arrays or file paths; `name` identifies it; `split` train/val/test/..."""

    image: PairSource
    label: PairSource
    name: str
    split: str = "train"


def _pairs_from_dataset(root: Path) -> list[TrainingPair]:
    from engine.dataset import open_dataset

    index = open_dataset(root)
    return [TrainingPair(r.image_path, r.label_path, r.key, r.split) for r in index.labelled()]


def _pairs_from_project(root: Path) -> list[TrainingPair]:
    from engine.project import Project

    project = Project.open_or_create(root, read_only=True)  # reads only: works beside the app
    pairs = []
    for key in project.keys_with_status("done"):
        rec = project.dataset.by_key(key)
        pairs.append(TrainingPair(rec.image_path, project.load_label(key), key, rec.split))
    if not pairs:
        raise ValueError(f"project {root} has no frames marked done; mark finished frames done to train on them")
    return pairs


def _pairs_from_folder(root: Path) -> list[TrainingPair]:
    files = {p.name.lower(): p for p in root.iterdir() if p.is_file()}
    pairs = []
    for name, path in sorted(files.items()):
        if name.endswith(".mask.png"):
            continue
        stem = path.name[: -len(path.suffix)]
        mask = files.get(f"{stem}.mask.png".lower())
        if mask is not None and path.suffix.lower() in (".png", ".jpg", ".jpeg"):
            pairs.append(TrainingPair(path, mask, path.name))
    if pairs:
        return pairs
    subs = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    if "images" in subs and "labels" in subs:
        labels = {p.stem: p for p in subs["labels"].iterdir() if p.suffix.lower() == ".png"}
        for img in sorted(subs["images"].iterdir()):
            if img.stem in labels:
                pairs.append(TrainingPair(img, labels[img.stem], img.name))
    return pairs


def collect_pairs(source: Union[str, os.PathLike, Sequence]) -> list[TrainingPair]:
    """Find (image, label) pairs in `source` (see the module docstring); raises ValueError with what was expected."""
    if not isinstance(source, (str, os.PathLike)):
        out = []
        for i, item in enumerate(source):
            if isinstance(item, TrainingPair):
                out.append(item)
            else:
                image, label = item[0], item[1]
                out.append(TrainingPair(image, label, str(image) if isinstance(image, (str, os.PathLike)) else f"pair{i}"))
        if not out:
            raise ValueError("no training pairs were given")
        return out
    root = Path(source).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"training data {root} is not a folder")
    try:
        from engine.project.locate import is_project_dir

        if is_project_dir(root):
            return _pairs_from_project(root)
    except ImportError:  # pragma: no cover - project package absent
        pass
    pairs = _pairs_from_folder(root)
    if pairs:
        return pairs
    try:
        pairs = _pairs_from_dataset(root)
    except ValueError:
        pairs = []
    if not pairs:
        raise ValueError(
            f"{root} holds no labelled frames: expected a CaDIS dataset (VideoNN/Images + VideoNN/Labels), a project, "
            "or a folder of NAME.png + NAME.mask.png pairs (or images/ + labels/ subfolders)")
    return pairs


def split_holdout(pairs: list[TrainingPair], count: int) -> tuple[list[TrainingPair], list[TrainingPair]]:
    """(train, held-out). Held-out masks come from val/test frames when there are any (those are then not
    trained on), else the last `count` pairs, which stay in training when there are too few pairs to spare."""
    if count <= 0:
        return list(pairs), []
    train = [p for p in pairs if p.split in ("train", "unassigned")]
    other = [p for p in pairs if p.split not in ("train", "unassigned")]
    if train and other:
        step = max(1, len(other) // count)
        return train, other[::step][:count]
    if len(pairs) >= 4 * count:
        return list(pairs[:-count]), list(pairs[-count:])
    return list(pairs), list(pairs[-count:])


def _load(src: PairSource, kind: str) -> np.ndarray:
    if isinstance(src, np.ndarray):
        return src
    return read_image(src) if kind == "image" else read_label(src)


def trained_on_record(data, pairs: Sequence[TrainingPair], resolution: tuple[int, int], limit: int = 64) -> dict:
    """The model card's `trained_on_data` (engine.models.trained_on) for a model trained on `pairs` from `data` at
    `resolution` (height, width): image statistics of at most `limit` evenly spaced frames, at their own size."""
    from engine.models.trained_on import training_record

    picks = sorted({int(i) for i in np.linspace(0, len(pairs) - 1, min(limit, len(pairs))).round()}) if pairs else []
    images = [_load(pairs[i].image, "image") for i in picks]
    rec = training_record(data, images, resolution, images[0].shape[:2] if images else None)
    rec["frames"] = len(pairs)
    return rec


def prepare_pair(pair: TrainingPair, size: tuple[int, int], class_set: ClassSet) -> tuple[np.ndarray, np.ndarray]:
    """Decode and resize one pair: (HxWx3 uint8 image, HxW uint8 class-set label, IGNORE=255)."""
    image, label = _load(pair.image, "image"), _load(pair.label, "label")
    if image.ndim != 3 or image.shape[2] != 3 or label.ndim != 2:
        raise ValueError(f"{pair.name}: expected an HxWx3 image and an HxW label")
    if image.shape[:2] != label.shape:
        raise ValueError(f"{pair.name}: image {image.shape[1]}x{image.shape[0]} and label "
                         f"{label.shape[1]}x{label.shape[0]} differ in size")
    h, w = size
    if image.shape[:2] != (h, w):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image), class_set.lut[resize_label(label, size)]


class SynthesisDataset:
    """All pairs decoded into memory at the model size; `batch(indices, flips)` builds training tensors."""

    def __init__(self, pairs: Sequence[TrainingPair], size: tuple[int, int], class_set: Union[ClassSet, str],
                 ctx: Optional[JobContext] = None):
        self.class_set = class_set if isinstance(class_set, ClassSet) else get_class_set(class_set)
        self.size = (int(size[0]), int(size[1]))
        self.names = [p.name for p in pairs]
        ctx = ctx or JobContext()
        images, labels = [], []
        for i, p in enumerate(pairs):
            ctx.check()
            img, lab = prepare_pair(p, self.size, self.class_set)
            images.append(img)
            labels.append(lab)
            if i % 20 == 0:
                ctx.report(i / max(1, len(pairs)), f"reading frames {i}/{len(pairs)}")
        if not images:
            raise ValueError("no training pairs")
        self.images = np.stack(images)   # (N, H, W, 3) uint8
        self.labels = np.stack(labels)   # (N, H, W) uint8 class-set IDs
        self.raw_pairs = list(pairs)

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, indices: torch.Tensor, flips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) float images in [-1, 1] and (B, H, W) long labels; rows with `flips` mirrored."""
        idx = indices.cpu().numpy()
        img = torch.from_numpy(self.images[idx]).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        lab = torch.from_numpy(self.labels[idx]).long()
        f = flips.cpu().bool()
        if f.any():
            img[f] = img[f].flip(-1)
            lab[f] = lab[f].flip(-1)
        return img, lab

    def class_counts(self) -> np.ndarray:
        """Labelled pixels per class of the class set (float64), e.g. to sum over processes."""
        k = self.class_set.num_classes
        return np.bincount(self.labels[self.labels != IGNORE].ravel(), minlength=256)[:k].astype(np.float64)

    def class_weights(self, exponent: float, max_weight: float = 10.0) -> torch.Tensor:
        """Per-class loss weights from this dataset's pixel counts (see `class_weights_from_counts`)."""
        return class_weights_from_counts(self.class_counts(), exponent, max_weight)

    def pair_digests(self) -> list[tuple[str, str]]:
        """(name, SHA-256 of the decoded pixels and label) of every pair, for fingerprints across shards."""
        out = []
        for name, img, lab in zip(self.names, self.images, self.labels):
            h = hashlib.sha256(name.encode())
            h.update(img.tobytes())
            h.update(lab.tobytes())
            out.append((name, h.hexdigest()))
        return out

    def fingerprint(self) -> str:
        """A short hash of the training data (names and decoded pixels at the model size)."""
        return data_fingerprint(self.pair_digests())


def class_weights_from_counts(counts: np.ndarray, exponent: float, max_weight: float = 10.0) -> torch.Tensor:
    """Per-class loss weights ~ frequency**-exponent, scaled to mean 1 over labelled pixels, capped.

    Rare classes (small instruments) get larger weights; absent classes get weight 1."""
    counts = np.asarray(counts, dtype=np.float64)
    freq = counts / max(1.0, counts.sum())
    w = np.ones(len(counts))
    present = freq > 0
    w[present] = freq[present] ** (-exponent)
    w[present] /= (w[present] * freq[present]).sum()
    return torch.from_numpy(np.clip(w, 0.0, max_weight)).float()


def data_fingerprint(digests) -> str:
    """One short hash of (name, digest) pairs, independent of their order (so of how they were sharded)."""
    h = hashlib.sha256()
    for name, digest in sorted(digests):
        h.update(f"{name}\0{digest}\n".encode())
    return h.hexdigest()[:16]
