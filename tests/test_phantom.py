"""The phantom sample generator: exact labels, determinism, CaDIS layout, geometry, CLI."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from engine.imageio import read_image, read_label
from engine.jobs import JobCancelled, JobContext
from engine.phantom import PhantomExistsError, VideoRenderer, check_request, generate_dataset, render_frame
from engine.phantom.instruments_catalog import DRAWN_CLASSES, ORDER, SPECS
from engine.phantom.scene import sample_phase, sample_scene
from engine.taxonomy import HANDLE_OF, INSTRUMENT_IDS

NAME_RE = re.compile(r"^Video(\d+)_frame(\d{6})\.png$")
ANATOMY_ALWAYS = {0, 4, 5, 6}  # pupil, iris, skin, cornea are in every frame
SMALL = dict(width=240, height=135)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _neighbour_classes(label: np.ndarray, cls: int) -> set[int]:
    """Classes 4-adjacent to pixels of `cls`."""
    m = label == cls
    found: set[int] = set()
    for a, b in ((label[1:], m[:-1]), (label[:-1], m[1:]), (label[:, 1:], m[:, :-1]), (label[:, :-1], m[:, 1:])):
        found |= set(np.unique(a[b]).tolist())
    return found - {cls}


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_canvas_fill_sets_exactly_the_rasterised_pixels():
    """Drawing through the clipped bounding box gives the same pixels as rasterising on the whole frame,
    also for polygons partly outside the frame; later parts overwrite earlier ones."""
    import cv2

    from engine.phantom.canvas import Canvas

    rng = np.random.Generator(np.random.PCG64(1))
    canvas = Canvas(90, 160)
    expected = np.full((90, 160), 5, np.uint8)
    for i in range(25):
        pts = rng.uniform([-60, -40], [220, 130], (int(rng.integers(3, 7)), 2))
        cls = 7 + i
        n = canvas.fill(pts, cls, 10)
        full = np.zeros_like(expected)
        cv2.fillPoly(full, [np.round(pts * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
        expected[full > 0] = cls
        assert n == int(full.sum())
    assert np.array_equal(canvas.label, expected)
    assert np.all(canvas.material[expected != 5] == 10) and np.all(canvas.material[expected == 5] == 0)


def test_render_frame_default_size_types_and_classes():
    image, label = render_frame(0)
    assert image.shape == (540, 960, 3) and image.dtype == np.uint8
    assert label.shape == (540, 960) and label.dtype == np.uint8
    ids = set(np.unique(label).tolist())
    assert ids <= set(range(36))
    assert ANATOMY_ALWAYS <= ids
    assert ids & set(INSTRUMENT_IDS), "every frame holds 1-3 instruments"
    assert image.std() > 20, "the image has visible structure"


def test_render_frame_custom_size():
    image, label = render_frame(3, width=320, height=180)
    assert image.shape == (180, 320, 3) and label.shape == (180, 320)
    assert ANATOMY_ALWAYS <= set(np.unique(label).tolist())


def test_render_frame_is_deterministic_and_seed_dependent():
    a_img, a_lab = render_frame(42, **SMALL)
    b_img, b_lab = render_frame(42, **SMALL)
    c_img, c_lab = render_frame(43, **SMALL)
    assert np.array_equal(a_img, b_img) and np.array_equal(a_lab, b_lab)
    assert not np.array_equal(a_img, c_img)
    assert not np.array_equal(a_lab, c_lab)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="seed"):
        render_frame(-1)
    with pytest.raises(ValueError, match="too small"):
        render_frame(0, width=8, height=8)


def test_image_follows_the_label():
    """The image is rendered from the label: instrument pixels are not coloured like the red reflex, and
    the pupil is redder than the cornea on average."""
    image, label = render_frame(5)
    img = image.astype(np.float32)
    pupil, cornea = label == 0, label == 6
    red_ratio = lambda m: (img[m][:, 0] / (img[m][:, 1:].mean(axis=1) + 1.0)).mean()  # noqa: E731
    assert red_ratio(pupil) > red_ratio(cornea) + 0.3
    instruments = label >= 7
    if instruments.any():
        assert red_ratio(instruments) < red_ratio(pupil)


def test_dataset_layout_matches_cadis(phantom_root):
    root = Path(phantom_root)
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["Video01", "Video02", "Video03"]
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        video = int(folder.name[5:])
        assert folder.name == f"Video{video:02d}"
        images = sorted(p.name for p in (folder / "Images").iterdir())
        labels = sorted(p.name for p in (folder / "Labels").iterdir())
        assert images == labels
        assert images == [f"Video{video}_frame{n:06d}.png" for n in (0, 30, 60)]
        for name in images:
            m = NAME_RE.match(name)
            assert m and int(m.group(1)) == video and not m.group(1).startswith("0")
    meta = json.loads((root / "phantom.json").read_text())
    assert meta["seed"] == 123 and meta["videos"] == 3 and meta["frames_per_video"] == 3
    assert meta["frames"] == 9 and meta["complete"] is True and isinstance(meta["version"], int)


def test_dataset_labels_and_images(phantom_root):
    root = Path(phantom_root)
    seen: set[int] = set()
    handle_pairs: set[tuple[int, int]] = set()
    for image_path in sorted(root.glob("Video*/Images/*.png")):
        image = read_image(image_path)
        label = read_label(root / image_path.parent.parent.name / "Labels" / image_path.name)
        assert image.shape[:2] == label.shape == (540, 960)
        ids = set(np.unique(label).tolist())
        assert max(ids) <= 35
        assert ANATOMY_ALWAYS <= ids
        seen |= ids
        handle_pairs |= {(t, h) for t, h in HANDLE_OF.items() if t in ids and h in ids}
    assert {0, 1, 3, 4, 5, 6} <= seen
    assert handle_pairs, "at least one instrument with its handle class over the dataset"


def test_written_files_are_the_rendered_frames(phantom_root):
    """The PNGs hold exactly what the renderer produces (lossless, same scene per video)."""
    image, label = VideoRenderer(123, 2).render(1)
    root = Path(phantom_root)
    assert np.array_equal(read_image(root / "Video02/Images/Video2_frame000030.png"), image)
    assert np.array_equal(read_label(root / "Video02/Labels/Video2_frame000030.png"), label)


def test_same_seed_same_bytes_different_seed_different(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_dataset(a, videos=2, frames_per_video=2, seed=7, **SMALL)
    generate_dataset(b, videos=2, frames_per_video=2, seed=7, **SMALL)
    generate_dataset(c, videos=2, frames_per_video=2, seed=8, **SMALL)
    fa, fb, fc = _files(a), _files(b), _files(c)
    assert fa == fb
    pngs = [k for k in fa if k.endswith(".png")]
    assert len(pngs) == 8 and set(pngs) == {k for k in fc if k.endswith(".png")}
    assert all(fa[k] != fc[k] for k in pngs if "/Images/" in k)


@pytest.mark.parametrize("seed", range(6))
def test_geometry_pupil_inside_iris_inside_cornea(seed):
    _, label = render_frame(seed, width=480, height=270)
    instruments = set(INSTRUMENT_IDS)
    # The pupil touches only the iris or instruments lying over it; the iris only pupil, cornea, instruments.
    assert _neighbour_classes(label, 0) <= {4} | instruments
    assert _neighbour_classes(label, 4) <= {0, 6} | instruments
    px0, py0, px1, py1 = _bbox(label == 0)
    ix0, iy0, ix1, iy1 = _bbox(label == 4)
    cx0, cy0, cx1, cy1 = _bbox(np.isin(label, (0, 4, 6)))
    assert ix0 < px0 and iy0 < py0 and px1 < ix1 and py1 < iy1
    assert cx0 < ix0 and cy0 <= iy0 and ix1 < cx1 and iy1 <= cy1


def test_tips_come_with_their_handles():
    """Wherever an instrument whose handle is a class of its own shows its tip, the handle shows too."""
    checked = 0
    for seed in range(10):
        renderer = VideoRenderer(seed, 1, **SMALL)
        for frame in (0, 4, 9):
            ids = set(np.unique(renderer.render(frame)[1]).tolist())
            for tip, handle in HANDLE_OF.items():
                if tip in ids:
                    checked += 1
                    assert handle in ids, (seed, frame, tip)
    assert checked >= 5


def test_frames_of_a_video_share_the_scene_and_instruments_move():
    """The version-1 "still" motion (kept reachable): consecutive samples barely move; tests/test_phantom_motion.py
    covers the default "surgery" motion."""
    renderer = VideoRenderer(3, 1, width=480, height=270, motion="still")
    frames = [renderer.render(k)[1] for k in range(2)]
    other = VideoRenderer(3, 2, width=480, height=270, motion="still").render(0)[1]

    def iou(a, b, cls):
        return ((a == cls) & (b == cls)).sum() / max(((a == cls) | (b == cls)).sum(), 1)

    assert renderer.scene.phase(0) is renderer.scene.phase(1)
    assert iou(frames[0], frames[1], 4) > 0.8          # the eye moves only a little
    assert iou(frames[0], frames[1], 5) > 0.9          # the skin barely changes
    assert iou(frames[0], other, 4) < iou(frames[0], frames[1], 4)
    moved = (frames[0] >= 7) != (frames[1] >= 7)
    assert moved.sum() > 20, "instruments move between frames"


def test_rare_instruments_are_rarer():
    """Over many phases every drawn class appears, common ones (phaco, micromanipulator) far more often
    than rare ones (Mendez ring, iris hooks), and a phase holds 1-3 distinct instruments."""
    counts = {c: 0 for c in DRAWN_CLASSES}
    for seed in range(300):
        scene = sample_scene(seed, 1)
        for k in range(10):
            picked = [p.cls for p in sample_phase(scene, k).instruments]
            assert 1 <= len(picked) <= 3 and len(set(picked)) == len(picked)
            for c in picked:
                counts[c] += 1
    assert all(counts[c] > 0 for c in DRAWN_CLASSES), counts
    assert counts[13] > 8 * counts[30] and counts[17] > 8 * counts[35]
    assert set(SPECS) == set(DRAWN_CLASSES) and set(DRAWN_CLASSES) <= set(INSTRUMENT_IDS)


def test_a_video_follows_the_steps_of_an_operation():
    """Steps come in surgical order, so a video's phases change instruments the way an operation does."""
    scene = sample_scene(2, 1)
    order = list(ORDER)
    for a, b in zip(scene.steps, scene.steps[1:]):
        if a != b:
            nexts = {order[(i + 1) % len(order)] for i, name in enumerate(order) if name == a}
            assert b in nexts, (a, b)
    assert len(set(scene.steps)) > 3


def test_refuses_a_foreign_non_empty_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(PhantomExistsError, match="not a phantom sample"):
        generate_dataset(tmp_path, videos=1, frames_per_video=1, **SMALL)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    target = tmp_path / "notes.txt"
    with pytest.raises(PhantomExistsError, match="is a file"):
        generate_dataset(target, videos=1, frames_per_video=1, **SMALL)
    with pytest.raises(PhantomExistsError):
        check_request(tmp_path)
    assert check_request(tmp_path / "new") == [] and not (tmp_path / "new").exists()  # checking writes nothing


def test_regenerates_over_a_previous_output(tmp_path):
    generate_dataset(tmp_path, videos=2, frames_per_video=2, seed=1, **SMALL)
    paths = generate_dataset(tmp_path, videos=1, frames_per_video=1, seed=2, **SMALL)
    assert paths == [tmp_path / "Video01/Images/Video1_frame000000.png"]
    pngs = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png"))
    assert pngs == ["Video01/Images/Video1_frame000000.png", "Video01/Labels/Video1_frame000000.png"]
    assert not (tmp_path / "Video02").exists()
    assert json.loads((tmp_path / "phantom.json").read_text())["seed"] == 2


def test_progress_and_cancel(tmp_path):
    seen: list[float] = []
    generate_dataset(tmp_path / "ok", videos=1, frames_per_video=2, ctx=JobContext(lambda f, m: seen.append(f)),
                     **SMALL)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(JobCancelled):
        generate_dataset(tmp_path / "stop", videos=1, frames_per_video=2, ctx=JobContext(cancelled=lambda: True),
                         **SMALL)
    meta = json.loads((tmp_path / "stop/phantom.json").read_text())
    assert meta["complete"] is False
    generate_dataset(tmp_path / "stop", videos=1, frames_per_video=1, **SMALL)  # an interrupted run can resume


def test_invalid_counts(tmp_path):
    with pytest.raises(ValueError, match="videos"):
        generate_dataset(tmp_path, videos=0)
    with pytest.raises(ValueError, match="videos"):
        generate_dataset(tmp_path, videos=100)
    with pytest.raises(ValueError, match="frames_per_video"):
        generate_dataset(tmp_path, frames_per_video=0)


def test_cli_in_process(tmp_path, capsys):
    from engine.cli import main

    out = tmp_path / "sample"
    rc = main(["phantom", str(out), "--videos", "2", "--frames-per-video", "1", "--seed", "4",
               "--width", "240", "--height", "135", "--quiet"])
    assert rc == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "Video01/Images/Video1_frame000000.png", "Video01/Labels/Video1_frame000000.png",
        "Video02/Images/Video2_frame000000.png", "Video02/Labels/Video2_frame000000.png"]
    assert read_image(out / "Video02/Images/Video2_frame000000.png").shape == (135, 240, 3)

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x.txt").write_text("x")
    capsys.readouterr()
    assert main(["phantom", str(foreign), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cadis phantom:") and "not a phantom sample" in err[0]
    assert main(["phantom", str(tmp_path / "new"), "--videos", "0", "--quiet"]) == 2


def test_open_dataset_reads_the_phantom(phantom_root):
    dataset = pytest.importorskip("engine.dataset")
    if not hasattr(dataset, "open_dataset"):
        pytest.skip("engine.dataset.open_dataset not available yet")
    index = dataset.open_dataset(phantom_root)
    assert len(index.labelled()) == 9
    assert index.videos() == [1, 2, 3]
    assert "Video01/Images/Video1_frame000030.png" in {f.key for f in index.frames}
