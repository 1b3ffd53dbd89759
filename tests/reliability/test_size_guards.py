"""Small files that declare huge images: the declared size of whatever format the decoder would read is
checked before decoding, the pixel limit is a setting, and histograms never widen a label to 64-bit."""
from __future__ import annotations

import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from engine.imageio import (
    DEFAULT_MAX_PIXELS, ImageReadError, max_pixels, read_image, read_label, set_max_pixels, write_image, write_label,
)
from tests.reliability import tally
from tests.reliability.helpers import make_dataset
from tests.reliability.pngcraft import make_png


def rle_bmp(width: int, height: int) -> bytes:
    """An 8-bit RLE BMP of `width` x `height` whose pixel data is one end-of-bitmap code (about 1 KB):
    OpenCV allocates the whole image before it decodes the run lengths."""
    palette = b"\0\0\0\0" * 256
    rle = b"\x00\x01"
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(rle), 0, 0, 256, 0)
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(rle), 0, 0, offset) + info + palette + rle


def jpeg_header(width: int, height: int) -> bytes:
    """A JPEG stream that stops after its frame header (SOF0) declaring `width` x `height`."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


@pytest.fixture(autouse=True)
def _default_limit(monkeypatch):
    monkeypatch.delenv("CADIS_MAX_PIXELS", raising=False)
    set_max_pixels(None)
    yield
    set_max_pixels(None)


@pytest.mark.parametrize("name,data,words", [
    ("bmp", rle_bmp(30000, 30000), ("30000x30000", "BMP")),
    ("jpeg", jpeg_header(60000, 60000), ("60000x60000", "JPEG")),
    ("gif", b"GIF89a" + struct.pack("<HH", 30000, 30000) + b"\0" * 64, ("GIF",)),
    ("tiff", b"II*\x00" + b"\0" * 64, ("TIFF",)),
    ("pnm", b"P5\n30000 30000\n255\n" + b"\0" * 64, ("PNM",)),
])
def test_other_formats_named_png_are_checked_before_decoding(tmp_path, name, data, words):
    path = tmp_path / f"Video1_frame000001.{name}.png"
    path.write_bytes(data)
    for read in (read_image, read_label):
        with pytest.raises(ImageReadError) as info:
            read(path)
        assert all(w in info.value.reason for w in words), info.value.reason
        tally.add("fuzz_cases")
        tally.add("fuzz_refused")


def test_info_on_a_bmp_bomb_stays_small(tmp_path):
    """`cadis info` on a 1 KB BMP named .png that declares 30000x30000 (2.7 GB decoded) reports it and
    stays far below a gigabyte (run with an address-space limit so the old behaviour fails, not swaps)."""
    root = tmp_path / "ds"
    make_dataset(root, frames=((1, 1),))
    (root / "Video01/Images/Video1_frame000001.png").write_bytes(rle_bmp(30000, 30000))
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)); "
            "from engine.cli import main; sys.exit(main(['info', sys.argv[1], '--no-progress']))")
    proc = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "declared size 30000x30000 is too large (BMP" in proc.stdout


def test_default_pixel_limit_fits_cadis_and_4k_but_not_16k(tmp_path):
    assert 3840 * 2160 <= DEFAULT_MAX_PIXELS < 16384 * 16384
    path = tmp_path / "big.png"
    path.write_bytes(make_png(np.zeros((16384, 16384), np.uint8), 0, 1))  # 33 KB, 268 megapixels
    with pytest.raises(ImageReadError, match="16384x16384"):
        read_label(path)


def test_pixel_limit_is_a_setting(tmp_path, monkeypatch, capsys):
    from engine.cli import main

    label = np.zeros((100, 120), np.uint8)
    path = write_label(tmp_path / "l.png", label)
    assert read_label(path).shape == (100, 120)
    monkeypatch.setenv("CADIS_MAX_PIXELS", "100x100")
    assert max_pixels() == 10000
    with pytest.raises(ImageReadError, match="the limit is 10,000 pixels"):
        read_label(path)
    set_max_pixels(20000)  # the process setting wins over the environment
    assert read_label(path).shape == (100, 120)
    set_max_pixels(None)
    monkeypatch.setenv("CADIS_MAX_PIXELS", "lots")
    with pytest.raises(ValueError, match="CADIS_MAX_PIXELS"):
        max_pixels()
    monkeypatch.delenv("CADIS_MAX_PIXELS")
    # the command-line option, for one command
    out = tmp_path / "out.png"
    assert main(["remap", str(path), str(out), "--experiment", "1", "--max-pixels", "5000"]) == 2
    assert "the limit is 5,000 pixels" in capsys.readouterr().err
    assert main(["remap", str(path), str(out), "--experiment", "1", "--max-pixels", "12000"]) == 0
    assert max_pixels() == DEFAULT_MAX_PIXELS  # reset after the command
    assert main(["remap", str(path), str(out), "--experiment", "1", "--max-pixels", "-3"]) == 2
    assert "at least 1" in capsys.readouterr().err


def test_validation_histogram_does_not_widen_the_label(tmp_path):
    """Checking one 4096x4096 pair: the image (48 MB decoded) and the label (16 MB) are unavoidable; a
    64-bit copy of the label (128 MB) is not."""
    from engine.dataset import open_dataset, validate

    root = make_dataset(tmp_path / "ds", frames=((1, 1),))
    write_image(root / "Video01/Images/Video1_frame000001.png", np.zeros((4096, 4096, 3), np.uint8))
    label = np.zeros((4096, 4096), np.uint8)
    label[:100] = 7
    write_label(root / "Video01/Labels/Video1_frame000001.png", label)
    index = open_dataset(root)
    tracemalloc.start()
    try:
        report = validate(index, workers=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.frames == 1 and report.class_pixels[7] == 100 * 4096
    assert peak < 120 * 2**20, f"peak {peak / 2**20:.0f} MB"


def test_label_histogram_counts_exactly():
    from engine.histogram import label_histogram

    rng = np.random.default_rng(0)
    label = rng.integers(0, 256, (513, 2049), dtype=np.uint8)
    assert np.array_equal(label_histogram(label, chunk=1000), np.bincount(label.ravel(), minlength=256))
    assert np.array_equal(label_histogram(label[:, ::3]), np.bincount(label[:, ::3].ravel(), minlength=256))


def test_jpeg_and_bmp_frames_of_normal_size_still_read(tmp_path):
    import cv2

    img = np.random.default_rng(1).integers(0, 256, (36, 64, 3), dtype=np.uint8)
    for suffix in (".jpg", ".bmp"):
        ok, buf = cv2.imencode(suffix, img)
        path = tmp_path / f"f{suffix}"
        path.write_bytes(buf.tobytes())
        assert read_image(path).shape == (36, 64, 3)
    Path(tmp_path / "progressive.jpg").write_bytes(
        cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes())
    assert read_image(tmp_path / "progressive.jpg").shape == (36, 64, 3)
