"""Data-layer speed: label remap (LUT vs naive loops), dataset indexing (names only vs decoding every
image), and the confusion matrix (bincount vs per-class masks). Run: `python -m benchmarks -k data`."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks._timing import median_ms, print_table
from engine.dataset import FRAMES_PER_VIDEO, frame_file_name, open_dataset, validate, video_dir_name
from engine.imageio import read_image, read_label
from engine.metrics import confusion
from engine.taxonomy import IGNORE, get_class_set

W, H = 960, 540


def _label(seed: int = 0) -> np.ndarray:
    """A 960x540 label of blobs of random CaDIS IDs (a realistic number of distinct regions)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 36, (27, 48), dtype=np.uint8)
    return cv2.resize(small, (W, H), interpolation=cv2.INTER_NEAREST)


def bench_remap() -> None:
    label = _label()
    cs = get_class_set(2)
    table = {int(i): int(cs.lut[i]) for i in range(256)}

    def where_loop() -> np.ndarray:
        out = np.full(label.shape, IGNORE, np.uint8)
        for new_id, group in enumerate(cs.groups):
            for orig in group:
                out = np.where(label == orig, np.uint8(new_id), out)
        return out

    def dict_loop() -> np.ndarray:
        return np.array([table[v] for v in label.ravel().tolist()], np.uint8).reshape(label.shape)

    assert np.array_equal(cs.remap(label), where_loop()) and np.array_equal(cs.remap(label), dict_loop())
    lut = median_ms(lambda: cs.remap(label), repeat=50)
    rows = [("LUT (ours)", lut, 1.0)]
    for name, fn, rep in (("per-class np.where loop", where_loop, 10), ("python dict per pixel", dict_loop, 3)):
        t = median_ms(fn, repeat=rep, warmup=1)
        rows.append((name, t, t / lut))
    print_table("remap one 960x540 label to experiment 2 (median ms)", rows, ("method", "ms", "x slower than LUT"))


def _make_tree(root: Path) -> int:
    """4,670 frames with the real per-video counts; tiny stand-in PNGs (names are what is indexed)."""
    img = cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes()
    lab = cv2.imencode(".png", np.zeros((4, 4), np.uint8))[1].tobytes()
    n = 0
    for video, count in FRAMES_PER_VIDEO.items():
        d = root / video_dir_name(video)
        (d / "Images").mkdir(parents=True)
        (d / "Labels").mkdir()
        for k in range(count):
            name = frame_file_name(video, 30 * k)
            (d / "Images" / name).write_bytes(img)
            (d / "Labels" / name).write_bytes(lab)
            n += 1
    return n


def _naive_index(root: Path, limit: int | None = None) -> int:
    """What a loader that decodes everything does: walk, decode each image and label, check sizes."""
    n = 0
    for vdir in sorted(p for p in root.iterdir() if p.name.startswith("Video")):
        for img_path in sorted((vdir / "Images").iterdir()):
            image = read_image(img_path)
            lab_path = vdir / "Labels" / img_path.name
            if lab_path.exists():
                assert read_label(lab_path).shape == image.shape[:2]
            n += 1
            if limit is not None and n >= limit:
                return n
    return n


def _make_real_size_subset(root: Path, count: int) -> None:
    """`count` frames at 960x540 with photo-like content (smooth colour + grain), for decode timing."""
    rng = np.random.default_rng(1)
    d = root / video_dir_name(1)
    (d / "Images").mkdir(parents=True)
    (d / "Labels").mkdir()
    for k in range(count):
        base = cv2.resize(rng.integers(0, 255, (9, 16, 3), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
        img = np.clip(base.astype(np.int16) + rng.integers(-6, 6, base.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(d / "Images" / frame_file_name(1, k)), img)
        cv2.imwrite(str(d / "Labels" / frame_file_name(1, k)), _label(k))


def bench_index() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cadis_bench_"))
    try:
        tree = tmp / "tree"
        t0 = time.perf_counter()
        n = _make_tree(tree)
        gen_s = time.perf_counter() - t0
        assert len(open_dataset(tree).frames) == n == 4670
        ours = median_ms(lambda: open_dataset(tree), repeat=5, warmup=1)
        naive_tiny = median_ms(lambda: _naive_index(tree), repeat=1, warmup=0)
        subset = 30
        _make_real_size_subset(tmp / "real", subset)
        per_frame = median_ms(lambda: _naive_index(tmp / "real"), repeat=3, warmup=1) / subset
        naive_real = per_frame * n
        rows = [
            ("open_dataset, names only (ours)", "measured, 4,670 frames", ours, 1.0),
            ("naive: decode every file (4x4 stand-ins)", "measured, 4,670 frames", naive_tiny, naive_tiny / ours),
            ("naive: decode every file (960x540 frames)", f"extrapolated from {subset} frames", naive_real,
             naive_real / ours),
        ]
        print_table(f"index a 4,670-frame CaDIS tree (median ms; tree generated once in {gen_s:.1f} s)", rows,
                    ("method", "how", "ms", "x slower than ours"))
        real = open_dataset(tmp / "real")
        threads = min(4, os.cpu_count() or 1)
        serial = median_ms(lambda: validate(real, workers=1), repeat=3, warmup=1)
        threaded = median_ms(lambda: validate(real, workers=threads), repeat=3, warmup=1)
        print_table(f"validate {subset} frames at 960x540 (decode all; median ms per frame)",
                    [(f"{threads} decoding threads (ours)", threaded / subset, 1.0),
                     ("1 thread", serial / subset, serial / threaded)],
                    ("method", "ms / frame", "x slower than ours"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_confusion() -> None:
    gt = _label(0)
    pred = _label(1)
    n = 36

    def per_class_masks() -> np.ndarray:
        conf = np.zeros((n, n), np.int64)
        for g in range(n):
            m = gt == g
            for p in range(n):
                conf[g, p] = np.count_nonzero(m & (pred == p))
        return conf

    assert np.array_equal(confusion(pred, gt, n), per_class_masks())
    ours = median_ms(lambda: confusion(pred, gt, n), repeat=20)
    naive = median_ms(per_class_masks, repeat=3, warmup=1)
    print_table("confusion matrix of one 960x540 pair, 36 classes (median ms)",
                [("bincount (ours)", ours, 1.0), ("per-class boolean masks", naive, naive / ours)],
                ("method", "ms", "x slower than ours"))


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    bench_remap()
    bench_index()
    bench_confusion()


if __name__ == "__main__":
    main()
