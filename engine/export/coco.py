"""COCO-style JSON with RLE masks for tools that read COCO (detectron2, mmseg converters, pycocotools).

One annotation per class present per image: `segmentation` is a compressed RLE made by
`pycocotools.mask.encode` (counts stored as text), with `area` and `bbox` [x, y, w, h] from pycocotools.
`category_id` equals the class ID in the label PNGs (of the export's class set: original CaDIS IDs, or an
experiment's IDs after remapping), so masks decoded with `COCO.annToMask` rebuild the label exactly
(`decode_labels`). Pixels of 255 (ignore) get no annotation.

    coco = coco_from_export(export_dir)          # a CaDIS-layout folder (manifest.json used when present)
    write_coco(export_dir)                       # -> export_dir/coco.json, written atomically
    coco = coco_dataset([(file_name, label), ...], class_set="full")
"""
from __future__ import annotations

import contextlib
import io
import json
import time
import warnings
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from engine.atomic import atomic_write_text
from engine.imageio import read_label
from engine.taxonomy import IGNORE, ClassSet, get_class_set

COCO_NAME = "coco.json"


def _rle(binary: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils

    return mask_utils.encode(np.asfortranarray(binary.astype(np.uint8)))


def annotations_for(label: np.ndarray, image_id: int, first_id: int, class_set: ClassSet) -> list[dict]:
    """COCO annotations (one per class present) of one label of `class_set` IDs."""
    from pycocotools import mask as mask_utils

    anns = []
    for c in np.unique(label):
        c = int(c)
        if c == IGNORE:
            continue
        if c >= class_set.num_classes:
            raise ValueError(f"label holds class {c}, which is not in class set {class_set.key!r} "
                             f"(0..{class_set.num_classes - 1} and 255)")
        rle = _rle(label == c)
        anns.append({
            "id": first_id + len(anns), "image_id": image_id, "category_id": c,
            "segmentation": {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")},
            "area": int(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)],
            "iscrowd": 0,
        })
    return anns


def coco_dataset(items: Iterable[Sequence], class_set: ClassSet | str | int | None = "full",
                 description: str = "CaDIS Studio export") -> dict:
    """COCO dict from items (file_name, label) or (file_name, label, extra_image_fields)."""
    cs = class_set if isinstance(class_set, ClassSet) else get_class_set(class_set)
    images, annotations = [], []
    for n, item in enumerate(items, start=1):
        file_name, label = str(item[0]), np.asarray(item[1])
        if label.ndim != 2 or label.dtype != np.uint8:
            raise ValueError(f"{file_name}: a label is an HxW uint8 array, got {label.dtype} {label.shape}")
        entry = {"id": n, "file_name": file_name, "height": int(label.shape[0]), "width": int(label.shape[1])}
        if len(item) > 2 and item[2]:
            entry.update(dict(item[2]))
        images.append(entry)
        annotations += annotations_for(label, n, len(annotations) + 1, cs)
    return {
        "info": {"description": description, "date_created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "class_set": cs.key, "category_id": "equals the class ID in the label PNGs"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i, "name": name, "supercategory": "anatomy" if i < 7 else "instrument"}
                       for i, name in enumerate(cs.names)],
    }


def _export_items(folder: Path) -> tuple[list[tuple], str]:
    """(file_name, label path, extra) of an export folder, and its class-set key."""
    manifest_path = folder / "manifest.json"
    if manifest_path.is_file():
        from engine.export.manifest import read_manifest

        m = read_manifest(manifest_path)
        items = [(f["image"], folder / f["label"], {"split": f.get("split"), "source": f.get("source")})
                 for f in m["frames"]]
        return items, str(m.get("class_set", {}).get("key", "full"))
    from engine.dataset import open_dataset

    index = open_dataset(folder)
    items = [(f.key, f.label_path, {}) for f in index.frames if f.label_path is not None]
    return items, "full"


def coco_from_export(folder: str | Path, class_set: ClassSet | str | int | None = None) -> dict:
    """COCO dict of a CaDIS-layout folder (an export with manifest.json, or any CaDIS dataset root)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder; give an export or a CaDIS dataset folder")
    items, key = _export_items(folder)
    if not items:
        raise ValueError(f"{folder} holds no labelled frames to write as COCO")
    cs = get_class_set(class_set if class_set is not None else key)
    return coco_dataset(((name, read_label(path), extra) for name, path, extra in items), cs,
                        description=f"CaDIS Studio export of {folder.name}")


def write_coco(folder: str | Path, out_path: str | Path | None = None,
               class_set: ClassSet | str | int | None = None) -> Path:
    """Write `coco.json` for an export folder (atomically); returns its path."""
    coco = coco_from_export(folder, class_set)
    out = Path(out_path) if out_path is not None else Path(folder) / COCO_NAME
    return atomic_write_text(out, json.dumps(coco, separators=(",", ":")) + "\n")


def decode_labels(coco: dict) -> dict[str, np.ndarray]:
    """file_name -> label rebuilt from the RLE annotations with pycocotools (255 where none)."""
    from pycocotools.coco import COCO

    api = COCO()
    api.dataset = coco
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress lines
        api.createIndex()
    out = {}
    for img in coco["images"]:
        label = np.full((img["height"], img["width"]), IGNORE, np.uint8)
        for ann in api.loadAnns(api.getAnnIds(imgIds=[img["id"]])):
            with warnings.catch_warnings():  # pycocotools' decoder trips a numpy 2 DeprecationWarning
                warnings.simplefilter("ignore", DeprecationWarning)
                mask = api.annToMask(ann)
            label[mask.astype(bool)] = ann["category_id"]
        out[img["file_name"]] = label
    return out
