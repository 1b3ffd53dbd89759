"""CaDIS export: round trip through the dataset reader, remap, splits, previews, synthetic pairs, safety."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.dataset import open_dataset
from engine.export import ExportError, export_cadis, read_manifest
from engine.imageio import read_image, read_label, write_image
from engine.jobs import JobCancelled, JobContext
from engine.project import Project
from engine.taxonomy import colorize, get_class_set

from test_project_store import H, W, make_cadis, tree_digest


@pytest.fixture
def project(tmp_path):
    p = Project.open_or_create(make_cadis(tmp_path / "cadis", videos=(1, 5, 2, 7), frames=(10, 20)))
    yield p
    p.close()


def finish(project: Project, keys, edit: bool = True) -> dict[str, np.ndarray]:
    """Mark frames done, editing each label (with instrument IDs) first; returns key -> saved label."""
    out = {}
    for n, key in enumerate(keys):
        label = project.load_label(key)
        if edit:
            label[2:8, 3 + n:12 + n] = 7 + 4 * n  # 7, 11, 15 ... instruments
            label[0, 0] = 255
            project.save_label(key, label)
        project.set_status(key, "done")
        out[key] = label
    return out


def test_round_trip_through_the_dataset_reader(project, tmp_path):
    keys = project.frame_keys()
    done = finish(project, keys[:5])
    project.set_status(keys[5], "flagged")
    ds_before = tree_digest(project.dataset.root)
    res = export_cadis(project, tmp_path / "out")
    assert res.frames == 5 and res.synthetic == 0 and res.skipped == []
    back = open_dataset(tmp_path / "out")
    assert back.kind == "cadis" and back.scan_problems == [] and back.orphan_labels == []
    assert [f.key for f in back.frames] == [k for k in keys if k in done]  # same names and order
    for rec in back.frames:
        src = project.record(rec.key)
        assert rec.split == src.split and (rec.video, rec.frame) == (src.video, src.frame)
        assert np.array_equal(read_label(rec.label_path), done[rec.key])
        assert rec.image_path.read_bytes() == src.image_path.read_bytes()
    manifest = read_manifest(tmp_path / "out")
    assert manifest["counts"] == {"frames": 5, "synthetic": 0, "skipped": 0}
    assert [f["key"] for f in manifest["frames"]] == [f.key for f in back.frames]
    assert all(f["status"] == "done" and f["provenance"]["edited"] for f in manifest["frames"])
    assert manifest["class_set"]["key"] == "full"
    total = np.zeros(256, np.int64)
    for rec in back.frames:
        total += np.bincount(read_label(rec.label_path).ravel(), minlength=256)
    assert [row["pixels"] for row in manifest["class_frequency"]] == total[:36].tolist()
    assert manifest["ignore_pixels"] == int(total[255]) == 5
    assert tree_digest(project.dataset.root) == ds_before
    assert not list(tmp_path.glob("out.tmp-*"))


def test_remap_to_an_experiment(project, tmp_path):
    keys = project.frame_keys()[:3]
    done = finish(project, keys)
    res = export_cadis(project, tmp_path / "exp2", experiment=2, previews=True)
    cs = get_class_set(2)
    back = open_dataset(tmp_path / "exp2")
    for rec in back.frames:
        got = read_label(rec.label_path)
        assert np.array_equal(got, cs.lut[done[rec.key]])
        preview = read_image(rec.image_path.parent.parent / "Previews" / rec.image_path.name)
        assert np.array_equal(preview, colorize(got, cs))
    # 7 -> Cannula (7), 11 -> Tissue Forceps (9), 15 -> I/A Handpiece (13)
    assert {7, 9, 13} <= set(res.class_pixels)
    m = read_manifest(tmp_path / "exp2")
    assert m["class_set"]["key"] == "2" and len(m["class_frequency"]) == 17
    assert m["frames"][0]["preview"].startswith("Video01/Previews/")


def test_split_filter_and_status_filter(project, tmp_path):
    keys = project.frame_keys()
    finish(project, keys, edit=False)
    project.set_status(keys[0], "flagged")
    res = export_cadis(project, tmp_path / "val", split="val")
    back = open_dataset(tmp_path / "val")
    assert back.videos() == [5, 7] and res.frames == 4
    assert all(f.split == "val" for f in back.frames)
    res = export_cadis(project, tmp_path / "flagged", statuses=("flagged",))
    assert [f.key for f in open_dataset(tmp_path / "flagged").frames] == [keys[0]]
    with pytest.raises(ExportError, match="nothing to export"):
        export_cadis(project, tmp_path / "none", statuses=("rejected",))
    with pytest.raises(ExportError, match="unknown split"):
        export_cadis(project, tmp_path / "x", split="holdout")


def test_overwrite_refused_then_allowed(project, tmp_path):
    finish(project, project.frame_keys()[:2])
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="not empty"):
        export_cadis(project, out)
    assert (out / "keep.txt").read_text() == "mine"
    with pytest.raises(ExportError, match="not an earlier export"):  # --overwrite replaces only an export
        export_cadis(project, out, overwrite=True)
    assert (out / "keep.txt").read_text() == "mine"
    (out / "keep.txt").unlink()
    export_cadis(project, out)
    finish(project, project.frame_keys()[2:3])
    export_cadis(project, out, overwrite=True)
    assert (out / "manifest.json").is_file()
    assert len(open_dataset(out).frames) == 3
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out")) == ["out"]


def test_refuses_to_export_into_dataset_or_project(project, tmp_path):
    finish(project, project.frame_keys()[:1])
    before = tree_digest(project.dataset.root)
    for target in (project.dataset.root, project.dataset.root / "export", project.root / "export", tmp_path):
        with pytest.raises(ExportError, match="overlaps"):
            export_cadis(project, target, overwrite=True)
    assert tree_digest(project.dataset.root) == before


def test_synthetic_pairs_go_to_their_own_folder_and_only_to_train(project, tmp_path):
    keys = project.frame_keys()
    finish(project, keys[:2])
    rng = np.random.default_rng(3)
    ids = [project.add_pair(rng.integers(0, 255, (H, W, 3), dtype=np.uint8), np.full((H, W), n, np.uint8),
                            "synthesis", {"seed": n}, parent_key=keys[0]) for n in range(3)]
    project.set_pair_status(ids[0], "accepted")
    project.set_pair_status(ids[2], "accepted")
    res = export_cadis(project, tmp_path / "all", include=("real", "synthetic"))
    assert (res.frames, res.synthetic) == (2, 2)
    m = read_manifest(tmp_path / "all")
    synth = [f for f in m["frames"] if f["source"] != "real"]
    assert [f["pair_id"] for f in synth] == [ids[0], ids[2]]
    assert all(f["split"] == "train" and f["image"].startswith("Synthetic01/Images/") for f in synth)
    assert synth[1]["provenance"] == {"seed": 2, "parent_key": keys[0]}
    assert np.all(read_label(tmp_path / "all" / synth[1]["label"]) == 2)
    assert len(open_dataset(tmp_path / "all").frames) == 2  # the reader sees the real frames unchanged
    res = export_cadis(project, tmp_path / "val", split="val", include=("real", "synthetic"), statuses=("unlabelled",))
    assert res.synthetic == 0
    res = export_cadis(project, tmp_path / "synth", include=("synthetic",))
    assert (res.frames, res.synthetic) == (0, 2)


def test_export_a_dataset_directly(tmp_path):
    ds = open_dataset(make_cadis(tmp_path / "cadis", videos=(3, 12), frames=(1,)))
    res = export_cadis(ds, tmp_path / "exp1", experiment=1)
    back = open_dataset(tmp_path / "exp1")
    assert res.frames == 2 and [f.key for f in back.frames] == [f.key for f in ds.frames]
    lut = get_class_set(1).lut
    for a, b in zip(ds.frames, back.frames):
        assert np.array_equal(read_label(b.label_path), lut[read_label(a.label_path)])
    assert json.loads((tmp_path / "exp1" / "manifest.json").read_text())["source"]["kind"] == "dataset"


def test_frame_folder_project_exports_to_video00(tmp_path):
    folder = tmp_path / "frames"
    for name in ("b.png", "a.jpg"):
        write_image(folder / name, np.full((H, W, 3), 100, np.uint8))
    with Project.open_or_create(folder) as p:
        for n, key in enumerate(p.frame_keys()):
            p.save_label(key, np.full((H, W), n + 1, np.uint8))
            p.set_status(key, "done")
        export_cadis(p, tmp_path / "out")
    back = open_dataset(tmp_path / "out")
    assert [f.key for f in back.frames] == ["Video00/Images/Video0_frame000001.png",
                                            "Video00/Images/Video0_frame000002.png"]
    assert back.frames[0].split == "unassigned"
    m = read_manifest(tmp_path / "out")
    assert [f["key"] for f in m["frames"]] == ["a.jpg", "b.png"]
    assert read_image(back.frames[0].image_path).shape == (H, W, 3)  # the JPEG was re-encoded as PNG


def test_cancel_leaves_nothing(project, tmp_path):
    finish(project, project.frame_keys(), edit=False)
    calls = []
    ctx = JobContext(progress=lambda f, m: calls.append(f), cancelled=lambda: len(calls) >= 3)
    with pytest.raises(JobCancelled):
        export_cadis(project, tmp_path / "out", ctx=ctx)
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cadis", "cadis.cadis-project"]


def test_bad_labels_are_skipped_with_a_reason(tmp_path):
    root = make_cadis(tmp_path / "cadis", videos=(1,), frames=(1, 2))
    bad = np.zeros((H, W), np.uint8)
    bad[0, 0] = 99
    from engine.imageio import write_label
    write_label(root / "Video01" / "Labels" / "Video1_frame000002.png", bad)
    res = export_cadis(open_dataset(root), tmp_path / "out")
    assert res.frames == 1 and res.skipped[0][0] == "Video01/Images/Video1_frame000002.png"
    assert "99" in res.skipped[0][1]
    assert read_manifest(tmp_path / "out")["skipped"][0]["reason"] == res.skipped[0][1]


def test_manifest_paths_are_validated(project, tmp_path):
    finish(project, project.frame_keys()[:1])
    export_cadis(project, tmp_path / "out")
    path = tmp_path / "out" / "manifest.json"
    data = json.loads(path.read_text())
    data["frames"][0]["label"] = "../../etc/passwd"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"\.\."):
        read_manifest(tmp_path / "out")


def test_an_overwrite_killed_between_the_renames_is_restored(project, tmp_path):
    from engine.export import restore_interrupted_export

    finish(project, project.frame_keys()[:2])
    out = tmp_path / "out"
    export_cadis(project, out)
    assert not restore_interrupted_export(out)  # nothing to do
    from engine.export.place import _write_marker

    old = tmp_path / "out.old-0123456789abcdef"
    _write_marker(old, "0123456789abcdef", "old")  # the state a kill leaves between the two renames
    out.rename(old)
    with pytest.raises(ExportError, match="not empty"):
        export_cadis(project, out)  # puts the previous export back first, then refuses to overwrite it
    assert read_manifest(out)["counts"]["frames"] == 2
    assert not old.exists() and not list(tmp_path.glob(".cadis-export-*"))


def test_manifest_text_is_plain_json_one_frame_per_line(project, tmp_path):
    finish(project, project.frame_keys()[:3])
    export_cadis(project, tmp_path / "out")
    text = (tmp_path / "out" / "manifest.json").read_text(encoding="utf-8")
    data = json.loads(text)
    from engine.export.manifest import dumps

    assert json.loads(dumps(data)) == data
    frame_lines = [line for line in text.splitlines() if '"image": "Video' in line]
    assert len(frame_lines) == 3 and all(json.loads(line.strip().rstrip(","))["split"] for line in frame_lines)
