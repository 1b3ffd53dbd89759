"""COCO export: RLE masks decoded by pycocotools rebuild the labels exactly."""
import json

import numpy as np
import pytest

from engine.export.coco import coco_dataset, coco_from_export, decode_labels, write_coco
from engine.imageio import read_label


def test_round_trip_of_an_exported_folder(phantom_root, tmp_path):
    from engine.dataset import open_dataset
    from engine.export import export_cadis

    out = tmp_path / "export"
    export_cadis(open_dataset(phantom_root), out, experiment=2)
    path = write_coco(out)
    coco = json.loads(path.read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(coco["images"]) == len(manifest["frames"]) == 9
    assert [c["id"] for c in coco["categories"]] == list(range(17))  # experiment 2 class set
    decoded = decode_labels(coco)
    for entry in manifest["frames"]:
        label = read_label(out / entry["label"])
        assert np.array_equal(decoded[entry["image"]], label)
    # one annotation per class present, with pycocotools' area and a bbox that encloses the class
    img = coco["images"][0]
    label = read_label(out / manifest["frames"][0]["label"])
    anns = [a for a in coco["annotations"] if a["image_id"] == img["id"]]
    present = sorted(int(c) for c in np.unique(label) if c != 255)
    assert sorted(a["category_id"] for a in anns) == present
    for a in anns:
        ys, xs = np.nonzero(label == a["category_id"])
        assert a["area"] == len(xs)
        assert a["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    assert img["split"] in ("train", "val", "test")


def test_dataset_root_and_item_lists(phantom_root):
    coco = coco_from_export(phantom_root)
    decoded = decode_labels(coco)
    assert len(decoded) == 9
    key = next(iter(decoded))
    assert np.array_equal(decoded[key], read_label(phantom_root / key.replace("/Images/", "/Labels/")))
    lab = np.full((5, 7), 255, np.uint8)
    lab[1:3, 2:6] = 14
    lab[4, 0] = 0
    coco = coco_dataset([("a.png", lab)], "full")
    assert len(coco["annotations"]) == 2
    assert np.array_equal(decode_labels(coco)["a.png"], lab)
    with pytest.raises(ValueError, match="not in class set"):
        coco_dataset([("b.png", np.full((3, 3), 20, np.uint8))], 1)
    with pytest.raises(FileNotFoundError):
        coco_from_export(phantom_root / "nope")
