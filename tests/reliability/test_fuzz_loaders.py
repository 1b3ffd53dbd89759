"""Property-based fuzzing of the image and label loaders and of dataset indexing + validation.

Every loader either returns data of the documented kind or refuses with its own clear error
(`ImageReadError` with a reason, `NotCadisError`, a `Problem` in the report); any other exception fails
the test. Files: hand-made PNGs of every colour type and bit depth (16-bit, palette, 1/2/4-bit), cut off,
bit-flipped, with headers that lie about their size (up to 100000x100000) or bad CRCs, random bytes and
text under .png names, JPEGs, empty files, unicode and odd file names. Trees: CaDIS-like folders with odd
folder names, unicode roots, labels with IDs > 35, size mismatches, broken and missing files.

The default run is short; `--run-slow` runs the long variants (`-m slow`).
"""
from __future__ import annotations

import itertools
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.dataset import NotCadisError, Problem, ValidationReport, open_dataset, validate
from engine.imageio import ImageReadError, max_pixels, read_image, read_label
from tests.reliability import tally
from tests.reliability.pngcraft import COLOUR_TYPES, huge_header_png, make_png, with_declared_size

SHORT = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SHORT_TREES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG_TREES = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_counter = itertools.count()

# File-name characters: letters of many scripts, spaces, punctuation, emoji; never "/" or NUL.
NAME_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\\x00")
UNICODE_ROOTS = ("données ü", "測試 データ", "space and #hash [x] 'q'", "emoji 🩺👁", "Video01", "-dash", "ünï.png")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz données 測試")


def _fresh_dir(scratch: Path, name: str = "case") -> Path:
    d = scratch / f"{name}{next(_counter)}"
    d.mkdir()
    return d


# ------------------------------------------------------------------------------------------- file strategies
@dataclass
class Crafted:
    """A generated file and what it was built from (`values` is None for files not built as PNGs)."""

    data: bytes
    kind: str
    values: np.ndarray | None = None
    colour_type: int | None = None
    bit_depth: int | None = None
    mutated: bool = False


@st.composite
def crafted_pngs(draw) -> Crafted:
    colour_type = draw(st.sampled_from(sorted(COLOUR_TYPES)))
    channels, depths = COLOUR_TYPES[colour_type]
    depth = draw(st.sampled_from(depths))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    high = 36 if draw(st.booleans()) else (1 << depth)  # often class-ID-like values
    values = rng.integers(0, min(high, 1 << depth), (h, w, channels))
    palette = rng.integers(0, 256, (1 << depth, 3)) if colour_type == 3 else None
    return Crafted(make_png(values, colour_type, depth, palette), f"png ct{colour_type} {depth}-bit", values,
                   colour_type, depth)


@st.composite
def other_files(draw) -> Crafted:
    kind = draw(st.sampled_from(["random", "text", "empty", "jpeg", "huge", "signature+junk", "cv2 png"]))
    if kind == "random":
        return Crafted(draw(st.binary(min_size=1, max_size=600)), kind)
    if kind == "text":
        return Crafted(draw(st.text(min_size=1, max_size=200)).encode("utf-8"), kind)
    if kind == "empty":
        return Crafted(b"", kind)
    if kind == "huge":
        w = draw(st.integers(1, 2**31 - 1))
        h = draw(st.integers(max_pixels() // w + 1, 2**31 - 1))  # declared area beyond the limit
        return Crafted(huge_header_png(w, h), kind)
    if kind == "signature+junk":
        return Crafted(b"\x89PNG\r\n\x1a\n" + draw(st.binary(max_size=300)), kind)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    img = rng.integers(0, 256, (draw(st.integers(1, 16)), draw(st.integers(1, 16)), 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg" if kind == "jpeg" else ".png", img)
    assert ok
    return Crafted(buf.tobytes(), kind)


@st.composite
def mutated(draw, base) -> Crafted:
    """`base` files, half of them damaged: cut, bit flips, lying header, bad CRC, junk appended, IEND removed."""
    c: Crafted = draw(base)
    how = draw(st.sampled_from(["none", "none", "truncate", "flip", "resize", "resize-badcrc", "append",
                                "no-iend", "zero-idat"]))
    data = bytearray(c.data)
    if how == "none" or len(data) < 40:
        return c
    if how == "truncate":
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
    elif how in ("resize", "resize-badcrc") and data[12:16] == b"IHDR":
        # a plausible size (small enough to decode cheaply) or one far beyond the limit
        if draw(st.booleans()):
            w, h = draw(st.integers(0, 1024)), draw(st.integers(0, 1024))
        else:
            w = draw(st.integers(1, 2**31 - 1))
            h = draw(st.integers(max_pixels() // w + 1, 2**31 - 1))
        data = bytearray(with_declared_size(bytes(data), w, h, fix_crc=how == "resize"))
    elif how == "append":
        data += draw(st.binary(min_size=1, max_size=64))
    elif how == "no-iend":
        data = data[:-12] if data.endswith(b"IEND\xaeB`\x82") else data
    elif how == "zero-idat":
        i = data.find(b"IDAT")
        if i > 0:
            data[i + 4:i + 4 + 8] = b"\x00" * min(8, len(data) - i - 4)
    return Crafted(bytes(data), f"{c.kind} {how}", c.values, c.colour_type, c.bit_depth, mutated=bytes(data) != c.data)


FILES = mutated(st.one_of(crafted_pngs(), crafted_pngs(), other_files()))
FILE_NAMES = st.one_of(st.just("frame.png"), st.text(NAME_CHARS, min_size=1, max_size=24).map(lambda s: s + ".png"))


# ------------------------------------------------------------------------------------------- checks
def _load(reader, path: Path):
    """Call a loader; returns the array or the ImageReadError. Anything else propagates and fails the test."""
    try:
        return reader(path)
    except ImageReadError as exc:
        assert exc.reason.strip(), "an ImageReadError must say why"
        assert exc.path == str(path)
        return exc


def _check_file(path: Path, c: Crafted) -> None:
    image = _load(read_image, path)
    label = _load(read_label, path)
    tally.add("fuzz_cases", 2)
    tally.add("fuzz_refused", isinstance(image, ImageReadError) + isinstance(label, ImageReadError))
    if isinstance(image, np.ndarray):
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.flags.c_contiguous
    if isinstance(label, np.ndarray):
        assert label.dtype == np.uint8 and label.ndim == 2 and label.flags.c_contiguous
    if isinstance(image, np.ndarray) and isinstance(label, np.ndarray):
        assert image.shape[:2] == label.shape
    if c.values is None or c.mutated:
        return
    # an intact PNG: check what was read against what was written
    h, w = c.values.shape[:2]
    assert isinstance(image, np.ndarray), f"intact {c.kind} refused as an image: {image}"
    assert image.shape == (h, w, 3)
    if c.bit_depth == 16:
        assert isinstance(label, ImageReadError) and "8-bit" in label.reason
    elif c.colour_type == 3:
        np.testing.assert_array_equal(label, c.values[:, :, 0])  # palette labels are read by index
    elif c.colour_type == 0 and c.bit_depth == 8:
        np.testing.assert_array_equal(label, c.values[:, :, 0])
        np.testing.assert_array_equal(image, np.repeat(c.values.astype(np.uint8), 3, axis=2))
    elif c.colour_type in (2, 6):
        rgb = c.values[:, :, :3]
        if (rgb == rgb[:, :, :1]).all():
            np.testing.assert_array_equal(label, rgb[:, :, 0])
        else:
            assert isinstance(label, ImageReadError) and "R=G=B" in label.reason


def _fuzz_one_file(scratch: Path, c: Crafted, name: str) -> None:
    path = _fresh_dir(scratch) / name
    path.write_bytes(c.data)
    _check_file(path, c)


@given(c=FILES, name=FILE_NAMES)
def _fuzz_files(scratch, c, name):
    _fuzz_one_file(scratch, c, name)


test_loaders_on_fuzzed_files = SHORT(_fuzz_files)
test_loaders_on_fuzzed_files_long = pytest.mark.slow(LONG(given(c=FILES, name=FILE_NAMES)(_fuzz_files.hypothesis.inner_test)))


# ------------------------------------------------------------------------------------------- fixed cases
def test_hundred_thousand_square_header_is_refused_before_decoding(scratch):
    path = _fresh_dir(scratch) / "bomb.png"
    path.write_bytes(huge_header_png(100_000, 100_000))
    for reader in (read_image, read_label):
        with pytest.raises(ImageReadError, match="100000x100000 is too large"):
            reader(path)
    tally.add("fuzz_cases", 2)
    tally.add("fuzz_refused", 2)


def test_palette_label_with_huge_header_is_refused(scratch):
    png = make_png(np.zeros((2, 2, 1), int), 3, 8)
    path = _fresh_dir(scratch) / "palette bomb.png"
    path.write_bytes(with_declared_size(png, 100_000, 100_000))
    with pytest.raises(ImageReadError, match="too large|exceeds limit"):
        read_label(path)
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")


@pytest.mark.parametrize("what", ["folder", "missing", "symlink loop"])
def test_things_that_are_not_files_are_refused(scratch, what):
    d = _fresh_dir(scratch)
    path = d / "x.png"
    if what == "folder":
        path.mkdir()
    elif what == "symlink loop":
        os.symlink(path, path)
    for reader in (read_image, read_label):
        with pytest.raises(ImageReadError):
            reader(path)
    tally.add("fuzz_cases", 2)
    tally.add("fuzz_refused", 2)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_low_bit_depth_grey_label_keeps_ids_or_is_refused(scratch, depth):
    values = np.arange(12).reshape(3, 4, 1) % (1 << depth)
    path = _fresh_dir(scratch) / f"grey{depth}.png"
    path.write_bytes(make_png(values, 0, depth))
    got = _load(read_label, path)
    assert isinstance(got, ImageReadError) or np.array_equal(got, values[:, :, 0])


# ------------------------------------------------------------------------------------------- dataset trees
GOOD_IMAGE_KINDS = ("image", "image16", "palette", "grey")
GOOD_LABEL_KINDS = ("label", "palette_label", "rgb_label")
BAD_KINDS = ("ids_over_35", "label16", "rgb_unequal", "truncated", "text", "empty", "huge", "small")
VIDEO_NAMES = ("Video01", "Video02", "Video05", "Video16", "Video22", "Video1", "Video001",
               "video03", "Vidéo04", "Video 05", "Видео06", "Video07.png", "Video08 ", "Video25")
H, W = 6, 10


def _content(kind: str, rng: np.random.Generator) -> bytes:
    """Bytes of one file of the tree; sizes are HxW except for 'small' (a mismatch)."""
    ids = rng.integers(0, 36, (H, W, 1))
    if kind == "image":
        return make_png(rng.integers(0, 256, (H, W, 3)), 2, 8)
    if kind == "image16":
        return make_png(rng.integers(0, 65536, (H, W, 3)), 2, 16)
    if kind == "grey":
        return make_png(rng.integers(0, 256, (H, W, 1)), 0, 8)
    if kind in ("label", "small"):
        return make_png(ids if kind == "label" else ids[:3, :5], 0, 8)
    if kind in ("palette", "palette_label"):
        return make_png(ids, 3, 8, rng.integers(0, 256, (256, 3)))
    if kind == "rgb_label":
        return make_png(np.repeat(ids, 3, axis=2), 2, 8)
    if kind == "ids_over_35":
        bad = ids.copy()
        bad[rng.integers(0, H), rng.integers(0, W)] = rng.integers(36, 256)
        return make_png(bad, 0, 8)
    if kind == "label16":
        return make_png(ids, 0, 16)
    if kind == "rgb_unequal":
        rgb = np.repeat(ids, 3, axis=2)
        rgb[0, 0] = (1, 2, 3)
        return make_png(rgb, 2, 8)
    if kind == "truncated":
        return make_png(ids, 0, 8)[:-20]
    if kind == "text":
        return "not an image, just a note with a .png name ü".encode()
    if kind == "huge":
        return huge_header_png()
    return b""  # empty


@st.composite
def trees(draw):
    """A description of a dataset tree: {relative path: kind}; 'dir' marks an odd folder with a .png name."""
    files: dict[str, str] = {}
    for vname in draw(st.lists(st.sampled_from(VIDEO_NAMES), min_size=0, max_size=4, unique=True)):
        m = draw(st.integers(1, 3))
        video = "".join(ch for ch in vname if ch.isdigit()) or "1"
        for i in range(m):
            frame = draw(st.sampled_from([f"Video{int(video)}_frame{i:06d}.png", f"Video{int(video)}_frame{i:06d}.PNG",
                                          f"Video{int(video)}_frame{i:03d}.png", f"Video9{int(video)}_frame{i:06d}.png",
                                          f"Vidéo{int(video)}_frame{i:06d}.png"])
                          if draw(st.integers(0, 5)) == 0 else st.just(f"Video{int(video)}_frame{i:06d}.png"))
            image_kind = draw(st.sampled_from(GOOD_IMAGE_KINDS + BAD_KINDS[3:]))
            files[f"{vname}/Images/{frame}"] = image_kind
            if draw(st.integers(0, 4)):
                files[f"{vname}/Labels/{frame}"] = draw(st.sampled_from(GOOD_LABEL_KINDS * 2 + BAD_KINDS))
        if draw(st.integers(0, 6)) == 0:
            files[f"{vname}/Labels/Video{int(video)}_frame999999.png"] = "label"  # a label without an image
        if draw(st.integers(0, 6)) == 0:
            files[f"{vname}/Images/odd folder.png"] = "dir"
    if draw(st.integers(0, 4)) == 0:
        files[f"{draw(st.text(NAME_CHARS, min_size=1, max_size=12))}.png"] = draw(st.sampled_from(("image", "text")))
    return files, draw(st.sampled_from(UNICODE_ROOTS)), draw(st.integers(0, 2**32 - 1))


def _snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            st_ = p.stat()
            out[str(p)] = (st_.st_size, st_.st_mtime_ns, zlib.crc32(p.read_bytes()).to_bytes(4, "big"))
    return out


def _check_tree(scratch: Path, files: dict[str, str], root_name: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    root = _fresh_dir(scratch, "tree") / root_name
    root.mkdir()
    for rel, kind in files.items():
        path = root / rel
        if kind == "dir":
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_content(kind, rng))
    before = _snapshot(root)
    tally.add("fuzz_cases")
    try:
        index = open_dataset(root)
    except NotCadisError as exc:
        assert str(exc).strip()
        tally.add("fuzz_refused")
        return
    report = validate(index, workers=1)
    assert isinstance(report, ValidationReport)
    assert all(isinstance(p, Problem) and p.reason.strip() for p in report.problems)
    assert _snapshot(root) == before, "validation must never modify the dataset"
    problem_paths = {p.path for p in report.problems}
    by_path = {str(root / rel): kind for rel, kind in files.items()}
    expected_frames = 0
    for rec in index.frames:
        image_kind = by_path[str(rec.image_path)]
        image_read = image_kind in GOOD_IMAGE_KINDS + ("small",)
        if not image_read:
            assert rec.key in problem_paths, f"{rec.key} ({image_kind}) is not reported"
        if rec.label_path is None:
            continue
        label_kind = by_path[str(rec.label_path)]
        label_read = label_kind in GOOD_LABEL_KINDS + ("small", "ids_over_35")
        same_size = (image_kind == "small") == (label_kind == "small")
        # unreadable labels are always reported; bad IDs and size mismatches once the image could be read
        if not label_read or (image_read and (not same_size or label_kind == "ids_over_35")):
            assert index.relpath(rec.label_path) in problem_paths, f"{rec.label_path} ({label_kind}) is not reported"
        expected_frames += image_read and label_read and same_size and label_kind != "ids_over_35"
    assert report.frames == expected_frames
    assert report.ok == (not report.problems)


@given(tree=trees())
def _fuzz_trees(scratch, tree):
    _check_tree(scratch, *tree)


test_dataset_validation_on_fuzzed_trees = SHORT_TREES(_fuzz_trees)
test_dataset_validation_on_fuzzed_trees_long = pytest.mark.slow(
    LONG_TREES(given(tree=trees())(_fuzz_trees.hypothesis.inner_test)))


def test_label_ids_over_35_are_reported_with_the_ids(scratch):
    root = _fresh_dir(scratch, "ids") / "données"
    ids = np.zeros((H, W, 1), int)
    ids[0, 0], ids[1, 1] = 36, 200
    (root / "Video01" / "Images").mkdir(parents=True)
    (root / "Video01" / "Labels").mkdir(parents=True)
    (root / "Video01" / "Images" / "Video1_frame000001.png").write_bytes(make_png(np.zeros((H, W, 3), int), 2, 8))
    (root / "Video01" / "Labels" / "Video1_frame000001.png").write_bytes(make_png(ids, 0, 8))
    report = validate(open_dataset(root), workers=1)
    assert report.frames == 0
    [problem] = report.problems
    assert problem.path == "Video01/Labels/Video1_frame000001.png"
    assert "36" in problem.reason and "200" in problem.reason
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")
