"""Reading and writing frames and labels, with clear errors and atomic writes.

Images are HxWx3 uint8 RGB arrays; labels are HxW uint8 class-ID arrays. Labels may be stored as
single-channel PNGs or as 3-channel PNGs with R=G=B=ID (some corrected label sets): both are accepted.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from engine.atomic import atomic_write_bytes

# Refuse absurd declared sizes before decoding (decompression bombs).
MAX_PIXELS = 16384 * 16384
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"  # the IEND chunk type and its CRC


class ImageReadError(ValueError):
    """A file could not be read as the expected kind of image; `reason` says why in plain words."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a folder, not an image file") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file ({exc.strerror or exc})") from None


def png_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) from a PNG header without decoding; None if it is not a PNG."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _decode(path: Path, flags: int) -> np.ndarray:
    data = _read_bytes(path)
    if not data:
        raise ImageReadError(path, "file is empty")
    size = png_size(path)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise ImageReadError(path, f"declared size {size[0]}x{size[1]} is too large")
    if data[:8] == _PNG_SIGNATURE and _PNG_END not in data[-4096:]:
        # checked here so libpng does not print its own error to stderr for a cut-off file
        raise ImageReadError(path, "truncated PNG (the file ends before its last chunk)")
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if arr is None:
        raise ImageReadError(path, "not a readable image (corrupt, truncated or not an image format)")
    return arr


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a frame as HxWx3 uint8 RGB (grey and 16-bit inputs are converted)."""
    path = Path(path)
    arr = _decode(path, cv2.IMREAD_UNCHANGED)
    if arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise ImageReadError(path, f"unsupported pixel type {arr.dtype}")
    if arr.ndim == 2:
        arr = cv2.cvtColor(arr, cv2.COLOR_GRAY2RGB)
    elif arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB)
    elif arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    else:
        raise ImageReadError(path, f"unsupported channel count {arr.shape[2]}")
    return np.ascontiguousarray(arr)


def read_label(path: str | os.PathLike) -> np.ndarray:
    """Read a label as HxW uint8 class IDs; accepts 1-channel or R=G=B 3-channel PNGs.

    Palette PNGs are read by index. A 16-bit label or a colour label with R, G, B not all equal is
    refused with a reason (the IDs would be ambiguous).
    """
    path = Path(path)
    data = _read_bytes(path)
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 25 and data[25] == 3:  # palette PNG: keep indices
        from PIL import Image  # local: only palette files need it

        try:
            import io

            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise ImageReadError(path, f"declared size {im.width}x{im.height} is too large")
                arr = np.array(im.convert("P") if im.mode != "P" else im)
        except ImageReadError:
            raise
        except Exception as exc:  # PIL raises many types for broken files
            raise ImageReadError(path, f"not a readable image ({exc})") from None
        return np.ascontiguousarray(arr.astype(np.uint8))
    arr = _decode(path, cv2.IMREAD_UNCHANGED)
    if arr.dtype != np.uint8:
        raise ImageReadError(path, f"label must be 8-bit, found {arr.dtype}")
    if data[:8] == _PNG_SIGNATURE and len(data) > 25 and data[25] == 0 and data[24] < 8:
        # libpng expands 1/2/4-bit grey to 0..255 (4-bit ID 1 -> 17): undo that exact scaling
        arr = arr // (255 // ((1 << data[24]) - 1))
    if arr.ndim == 3:
        if arr.shape[2] == 4:
            arr = arr[:, :, :3]
        if arr.shape[2] != 3:
            raise ImageReadError(path, f"unsupported channel count {arr.shape[2]}")
        b, g, r = arr[:, :, 0], arr[:, :, 1], arr[:, :, 2]
        if not (np.array_equal(b, g) and np.array_equal(g, r)):
            raise ImageReadError(path, "colour label: channels differ, expected R=G=B=class ID")
        arr = b
    return np.ascontiguousarray(arr)


def encode_png(arr: np.ndarray, compression: int = 3) -> bytes:
    """Encode an HxW (grey / label) or HxWx3 RGB uint8 array as PNG bytes."""
    if arr.dtype != np.uint8:
        raise TypeError(f"expected uint8, got {arr.dtype}")
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", arr, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def write_png(path: str | os.PathLike, arr: np.ndarray, compression: int = 3) -> Path:
    """Atomically write a uint8 label (HxW) or RGB image (HxWx3) as PNG."""
    return atomic_write_bytes(path, encode_png(arr, compression))


def write_label(path: str | os.PathLike, label: np.ndarray) -> Path:
    if label.ndim != 2:
        raise ValueError(f"a label is HxW, got shape {label.shape}")
    return write_png(path, label)


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"an image is HxWx3 RGB, got shape {image.shape}")
    return write_png(path, image)
