"""Export a project (or a dataset) as a CaDIS-layout dataset with a manifest.

    <out>/Video01/Images/Video1_frame000090.png    the frame (PNG bytes copied as they are)
    <out>/Video01/Labels/Video1_frame000090.png    index PNG label, remapped to an experiment on request
    <out>/Video01/Previews/Video1_frame000090.png  colour preview (optional)
    <out>/Synthetic01/Images|Labels/Synthetic1_frame000007.png   accepted synthetic pairs (train only)
    <out>/manifest.json

Frames of a plain frame folder (no video number) go to `Video00/` (outside the official split) numbered in
dataset order; the manifest maps each exported file back to its frame key. The export is atomic: it is
written into `<out>.tmp-XXXX` next to the target and renamed into place only when complete, so a kill or a
cancel never leaves a half export under the target name (engine.export.place: overwrite rules, leftovers of
killed exports). Every copied frame is decoded before it counts as exported, a frame is never listed unless its
files were written, and the manifest holds the SHA-256 of every file (engine.export.verify). Each frame of a
project says how much of its label a model made and no person edited or reviewed (`model_made_pixels`,
`model_made_fraction`; engine.project.store_model_made).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from engine.dataset import DatasetIndex, frame_file_name, video_dir_name
from engine.export.manifest import MANIFEST_NAME, ClassCounter, build_manifest, dumps, frame_entry
from engine.export.place import (
    ParentLock, PlaceError, check_target, discard_temp_folder, fsync_tree, make_temp_folder, move_into_place, remove_leftovers,
    restore_interrupted_export,
)
from engine.export.verify import checksum_tree
from engine.export.resize import pick_export_size, resize_pair, size_text
from engine.imageio import ImageReadError, encode_png, png_size, read_image, read_label
from engine.jobs import JobContext, as_context
from engine.project import Project
from engine.taxonomy import IGNORE, NUM_CLASSES, ClassSet, colorize, get_class_set

SPLIT_CHOICES = ("train", "val", "test", "all")
INCLUDE_CHOICES = ("real", "synthetic")
UNASSIGNED_VIDEO = 0
SYNTHETIC_DIR = "Synthetic01"


class ExportError(ValueError):
    """The export was refused or found nothing to export; the message says what to change."""


@dataclass
class ExportResult:
    """What an export wrote."""

    out_dir: Path
    frames: int
    synthetic: int
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (key, reason)
    manifest_path: Path | None = None
    class_pixels: dict[int, int] = field(default_factory=dict)  # exported class ID -> pixels


@dataclass
class _Item:
    """One frame or pair to export: where it comes from and where it goes."""

    key: str | None
    image_src: Path
    load_label: Callable[[], np.ndarray]
    folder: str
    name: str
    split: str
    source: str
    provenance: dict
    extra: dict
    model_made: Callable[[np.ndarray], int] | None = None  # label -> its unreviewed model-made pixels


def _real_items(source: Project | DatasetIndex, split: str, statuses: Sequence[str],
                skipped: list[tuple[str, str]], min_agreement: float | None = None) -> list[_Item]:
    is_project = isinstance(source, Project)
    dataset = source.dataset if is_project else source
    people, agreement = ({}, {})
    if is_project:
        status_of = source.statuses()
        wanted = set(statuses)
        keys = [k for k, s in status_of.items() if s in wanted]
        people, agreement = source.people(), source.frame_agreement()
    else:
        keys = [f.key for f in dataset.frames]
    if min_agreement is not None:  # frames one annotator labelled have no agreement measured: they stay
        low = {k for k in keys if agreement.get(k, 1.0) < min_agreement}
        skipped += [(k, f"annotators' agreement {agreement[k]:.3f} below {min_agreement:g}") for k in keys if k in low]
        keys = [k for k in keys if k not in low]
    items: list[_Item] = []
    unassigned = 0
    for key in keys:
        rec = dataset.by_key(key)
        if split != "all" and rec.split != split:
            continue
        edited = is_project and source.has_saved_label(key)
        if not edited and rec.label_path is None:
            skipped.append((key, "no label (neither saved in the project nor in the dataset)"))
            continue
        if rec.video is not None and rec.frame is not None:
            video, frame = rec.video, rec.frame
        else:
            unassigned += 1
            video, frame = UNASSIGNED_VIDEO, unassigned
        loader = (lambda k=key: source.load_label(k)) if is_project else (lambda p=rec.label_path: read_label(p))
        prov = {"dataset": dataset.root.name, "edited": bool(edited)}
        extra = {"status": status_of[key]} if is_project else {}
        if key in people:  # who labelled and who reviewed the frame (a team's projects, engine.team)
            extra["labelled_by"], extra["reviewed_by"] = people[key]
        if key in agreement:
            extra["agreement"] = round(agreement[key], 4)
        made = (lambda label, k=key: int(source.model_made_mask(k, label).sum())) if is_project else None
        items.append(_Item(key, rec.image_path, loader, video_dir_name(video), frame_file_name(video, frame),
                           rec.split, "real", prov, extra, made))
    return items


def pair_split(project: Project, parent_key: str | None) -> str:
    """The split a synthetic pair belongs to: its parent frame's ("train" for a pair made from no frame)."""
    if not parent_key:
        return "train"
    try:
        return project.dataset.by_key(parent_key).split
    except KeyError:
        return "unassigned"  # the parent frame is no longer in the dataset: never treated as training data


def _synthetic_items(project: Project, split: str, skipped: list[tuple[str, str]]) -> list[_Item]:
    """Accepted pairs for `split`. A pair inherits its parent frame's split; pairs made from val or test
    frames are never exported (as training data they would leak the held-out frames into training)."""
    items = []
    for rec in project.pairs(status="accepted"):
        prov = dict(rec.provenance)
        parent = rec.parent_key or prov.get("parent_key")
        if parent:
            prov.setdefault("parent_key", parent)
        pair_of = pair_split(project, parent if isinstance(parent, str) else None)
        if pair_of in ("val", "test"):
            skipped.append((f"pair {rec.id}", f"made from {parent}, a {pair_of} frame: synthetic pairs of val/test "
                                              "frames are never exported"))
            continue
        if split != "all" and pair_of != split:
            continue
        items.append(_Item(None, rec.image_path, lambda p=rec.label_path: read_label(p), SYNTHETIC_DIR,
                           f"Synthetic1_frame{rec.id:06d}.png", pair_of, rec.source, prov, {"pair_id": rec.id}))
    return items


def _protected(source: Project | DatasetIndex) -> list[tuple[str, Path]]:
    dataset = source.dataset if isinstance(source, Project) else source
    folders = [("dataset", dataset.root)]
    if isinstance(source, Project):
        folders.append(("project", source.root))
    return folders


def _check_label(label: np.ndarray, image_src: Path) -> str | None:
    """Why a label cannot be exported, or None."""
    bad = (label >= NUM_CLASSES) & (label != IGNORE)
    if bad.any():
        return f"class IDs outside 0..{NUM_CLASSES - 1}: {sorted(set(np.unique(label[bad]).tolist()))[:8]}"
    size = png_size(image_src)
    if size is not None and (size[1], size[0]) != label.shape:
        return f"label is {label.shape[1]}x{label.shape[0]} but the image is {size[0]}x{size[1]}"
    return None


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)


def _copy_image(src: Path, dst: Path) -> tuple[int, int]:
    """Copy a PNG frame byte for byte (re-encode other formats as PNG) and decode the copy, so a damaged
    frame is refused (ImageReadError) instead of exported; returns (width, height)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if png_size(src) is not None:
        try:
            data = src.read_bytes()
        except OSError as exc:
            raise ImageReadError(src, f"cannot read file ({exc.strerror or exc})") from None
        _write_file(dst, data)
        try:
            image = read_image(dst)
        except ImageReadError as exc:
            dst.unlink()
            raise ImageReadError(src, exc.reason) from None
        return image.shape[1], image.shape[0]
    image = read_image(src)
    _write_file(dst, encode_png(image))
    return image.shape[1], image.shape[0]


def _source_info(source: Project | DatasetIndex) -> dict:
    if isinstance(source, Project):
        return {"kind": "project", "name": source.name, "dataset": source.dataset.root.name,
                "dataset_kind": source.dataset.kind}
    return {"kind": "dataset", "name": source.root.name, "dataset": source.root.name, "dataset_kind": source.kind}


def export_cadis(source: Project | DatasetIndex, out_dir, experiment=None, split: str = "all",
                 statuses: Sequence[str] = ("done",), previews: bool = False, include: Sequence[str] = ("real",),
                 overwrite: bool = False, ctx: JobContext | None = None,
                 finishers: Sequence[Callable[[Path], object]] = (), min_agreement: float | None = None) -> ExportResult:
    """Export frames (and accepted synthetic pairs) in the CaDIS layout with a manifest; see the module doc.

    `finishers` are called with the temporary export folder once its frames and manifest are written and
    before it is renamed into place (e.g. `engine.export.coco.write_coco`, `engine.export.report.report_from_export`),
    so what they add is part of the same atomic export.

    `statuses` selects a project's frames by review status (ignored for a dataset, whose labelled frames
    are all exported). `include` holds "real" and/or "synthetic"; a synthetic pair has its parent frame's
    split, and pairs of val/test frames are never exported (they are listed as skipped). `min_agreement`
    (0..1) leaves out frames whose annotators agree less (mean pairwise IoU of their versions, engine.team).

    `overwrite` replaces only an earlier export (a folder with this app's manifest and nothing else); see
    engine.export.place."""
    ctx = as_context(ctx=ctx)
    if split not in SPLIT_CHOICES:
        raise ExportError(f"unknown split {split!r}: use one of {', '.join(SPLIT_CHOICES)}")
    include = tuple(include)
    if not include or set(include) - set(INCLUDE_CHOICES):
        raise ExportError(f"include must name real and/or synthetic, got {', '.join(include) or 'nothing'}")
    is_project = isinstance(source, Project)
    if is_project:
        from engine.project import STATUSES

        unknown = set(statuses) - set(STATUSES)
        if unknown or not statuses:
            raise ExportError(f"unknown status {sorted(unknown)}: use {', '.join(STATUSES)}")
    elif not isinstance(source, DatasetIndex):
        raise ExportError(f"export_cadis takes a Project or a DatasetIndex, got {type(source).__name__}")
    if min_agreement is not None and not 0.0 <= float(min_agreement) <= 1.0:
        raise ExportError(f"the agreement threshold is a share between 0 and 1, got {min_agreement}")
    class_set: ClassSet = get_class_set(experiment)
    given = Path(out_dir).expanduser()
    if given.is_symlink():
        out_dir = given  # refused by check_target, before anything next to it is touched
    else:
        given = Path(os.path.abspath(given))
        given.parent.mkdir(parents=True, exist_ok=True)
        out_dir = given.parent.resolve() / given.name
    lock = ParentLock(out_dir.parent)
    try:
        if lock.alone and not out_dir.is_symlink():
            # no other export runs in this folder: put back an export a killed overwrite moved aside, and
            # remove the temp and old folders killed exports left
            restore_interrupted_export(out_dir)
            remove_leftovers(out_dir)
        lock.share()
        try:
            out_dir = check_target(out_dir, _protected(source), overwrite)
        except PlaceError as exc:
            raise ExportError(str(exc)) from None
        manifest = _export_into(out_dir, source, class_set, split, statuses, include, previews, finishers, ctx,
                                min_agreement)
    finally:
        lock.release()
    skipped = [(s["key"], s["reason"]) for s in manifest["skipped"]]
    ctx.report(1.0, "done")
    return ExportResult(
        out_dir=out_dir, frames=manifest["counts"]["frames"], synthetic=manifest["counts"]["synthetic"],
        skipped=skipped, manifest_path=out_dir / MANIFEST_NAME,
        class_pixels=manifest.pop("_class_pixels"))


def _export_into(out_dir: Path, source, class_set: ClassSet, split: str, statuses, include, previews: bool,
                 finishers, ctx: JobContext, min_agreement: float | None = None) -> dict:
    """Collect what to export, write it into a temp folder next to `out_dir`, swap it into place."""
    is_project = isinstance(source, Project)
    skipped: list[tuple[str, str]] = []
    items: list[_Item] = []
    if "real" in include:
        items += _real_items(source, split, statuses, skipped, min_agreement)
    if "synthetic" in include and is_project:
        items += _synthetic_items(source, split, skipped)
    if not items:
        what = f"frames with status {'/'.join(statuses)}" if is_project else "labelled frames"
        raise ExportError(f"nothing to export: no {what} in split {split!r}"
                          + (" (mark frames done, or choose other statuses)" if is_project else ""))
    tmp = make_temp_folder(out_dir)
    try:
        manifest = _write_export(tmp, items, source, class_set, split, statuses, include, previews, skipped,
                                 finishers, ctx, min_agreement)
        ctx.report(0.99, "flushing to disk")
        fsync_tree(tmp)
        move_into_place(tmp, out_dir)
    except BaseException:
        discard_temp_folder(tmp)
        raise
    return manifest


def _write_export(tmp: Path, items: list[_Item], source, class_set: ClassSet, split: str, statuses, include,
                  previews: bool, skipped: list[tuple[str, str]], finishers, ctx: JobContext,
                  min_agreement: float | None = None) -> dict:
    """Frames, manifest and finishers' files into `tmp`; the manifest is written again at the end with the
    SHA-256 of every file. Returns the manifest (plus `_class_pixels`, not stored)."""
    is_project = isinstance(source, Project)
    target = pick_export_size((png_size(i.image_src) for i in items if i.source == "real"),
                              (png_size(i.image_src) for i in items))
    frames, counter = _write_items(items, tmp, class_set, previews, skipped, ctx, target)
    manifest = build_manifest(
        source=_source_info(source), class_set=class_set,
        filters={"split": split, "statuses": list(statuses) if is_project else None, "include": list(include),
                 "previews": bool(previews),
                 **({"min_agreement": float(min_agreement)} if min_agreement is not None else {})},
        frames=frames, skipped=[{"key": k, "reason": r} for k, r in skipped], counter=counter)
    resized = [{"image": f["image"], "from": f["resized_from"]} for f in frames if f.get("resized_from")]
    manifest["resolution"] = {"size": size_text(target) if target else None, "resized": resized,
                              "method": "image area (shrink) / bicubic (enlarge), label nearest"}
    _write_file(tmp / MANIFEST_NAME, dumps(manifest).encode("utf-8"))
    for finish in finishers:
        ctx.check()
        finish(tmp)
    manifest["files"] = checksum_tree(tmp, skip=(MANIFEST_NAME,))
    _write_file(tmp / MANIFEST_NAME, dumps(manifest).encode("utf-8"))
    manifest["_class_pixels"] = {i: int(counter.pixels[i]) for i in range(class_set.num_classes) if counter.pixels[i]}
    return manifest


def _write_items(items: list[_Item], tmp: Path, class_set: ClassSet, previews: bool,
                 skipped: list[tuple[str, str]], ctx: JobContext,
                 target: tuple[int, int] | None = None) -> tuple[list[dict], ClassCounter]:
    counter = ClassCounter()
    frames: list[dict] = []
    remap = class_set.key != "full"
    written: dict[str, str] = {}
    for n, item in enumerate(items):
        ctx.check()
        ctx.report(0.98 * n / len(items), item.key or item.name)
        ident = item.key or f"pair {item.extra.get('pair_id')}"
        try:
            label = item.load_label()
        except (ImageReadError, ValueError) as exc:
            skipped.append((ident, f"label unreadable: {exc}"))
            continue
        problem = _check_label(label, item.image_src)
        if problem:
            skipped.append((ident, problem))
            continue
        extra = dict(item.extra)
        if item.model_made is not None:  # pixels a model wrote and no person edited or reviewed
            made = item.model_made(label)
            extra["model_made_pixels"] = made
            extra["model_made_fraction"] = round(made / max(1, label.size), 4)
        own = (label.shape[1], label.shape[0])
        if target is not None and own != tuple(target):  # one resolution per export: resize, and say so
            try:
                image, label = resize_pair(read_image(item.image_src), label, target)
            except ImageReadError as exc:
                skipped.append((ident, f"image unreadable: {exc}"))
                continue
            extra["resized_from"] = size_text(own)
        out_label = class_set.lut[label] if remap else label
        image_rel = f"{item.folder}/Images/{item.name}"
        label_rel = f"{item.folder}/Labels/{item.name}"
        preview_rel = f"{item.folder}/Previews/{item.name}" if previews else None
        if image_rel in written:  # the index keeps one file per frame number; never list a file twice
            skipped.append((ident, f"{written[image_rel]} was already exported as {image_rel}"))
            continue
        try:
            if "resized_from" in extra:
                _write_file(tmp / image_rel, encode_png(image))
                width, height = image.shape[1], image.shape[0]
            else:
                width, height = _copy_image(item.image_src, tmp / image_rel)
        except ImageReadError as exc:
            skipped.append((ident, f"image unreadable: {exc}"))
            continue
        _write_file(tmp / label_rel, encode_png(out_label))
        if preview_rel:
            _write_file(tmp / preview_rel, encode_png(colorize(out_label, class_set)))
        counter.add(out_label)
        written[image_rel] = ident
        frames.append(frame_entry(image_rel, label_rel, preview_rel, item.split, item.source, item.key,
                                  width, height, item.provenance, **extra))
    return frames, counter
