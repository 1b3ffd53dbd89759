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

# Refuse absurd declared sizes before decoding (decompression bombs). The default is 16.8 megapixels: 32
# CaDIS frames (960x540) or two 4K frames (3840x2160); CADIS_MAX_PIXELS or `cadis --max-pixels` changes it.
DEFAULT_MAX_PIXELS = 4096 * 4096
MAX_PIXELS_ENV = "CADIS_MAX_PIXELS"
_max_pixels_override: int | None = None
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"  # the IEND chunk type and its CRC
# formats the decoder is never given (OpenCV would read several of them whatever the file's name says)
_OTHER_FORMATS = (
    (b"GIF8", "GIF"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"\x59\xa6\x6a\x95", "Sun raster"),
    (b"v/1\x01", "OpenEXR"), (b"#?RADIANCE", "Radiance HDR"), (b"#?RGBE", "Radiance HDR"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"), (b"\xff\x4f\xff\x51", "JPEG 2000"),
)


def max_pixels() -> int:
    """The largest width x height an image may declare: `set_max_pixels`, else $CADIS_MAX_PIXELS, else the default."""
    if _max_pixels_override is not None:
        return _max_pixels_override
    env = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not env:
        return DEFAULT_MAX_PIXELS
    return parse_max_pixels(env, MAX_PIXELS_ENV)


def parse_max_pixels(text: str, what: str = "--max-pixels") -> int:
    """A pixel limit from text ("8294400" or "3840x2160"); ValueError with `what` in the message otherwise."""
    t = str(text).strip().lower().replace("_", "")
    try:
        if "x" in t:
            w, h = t.split("x")
            if len(w) > 9 or len(h) > 9:
                raise ValueError
            value = int(w) * int(h)
        else:
            if len(t) > 18:
                raise ValueError
            value = int(t)
    except ValueError:
        raise ValueError(f"{what} must be a pixel count such as 16777216 or 3840x2160, got {text!r}") from None
    if value < 1:
        raise ValueError(f"{what} must be at least 1 pixel, got {text!r}")
    return value


def set_max_pixels(value: int | None) -> None:
    """Set the pixel limit for this process (None: back to $CADIS_MAX_PIXELS or the default)."""
    global _max_pixels_override
    if value is not None and int(value) < 1:
        raise ValueError(f"the pixel limit must be at least 1, got {value}")
    _max_pixels_override = None if value is None else int(value)


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
    if len(head) < 24 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first frame header (SOFn) of a JPEG stream; None when there is none."""
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01,) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 9 > n:
                return None
            return int.from_bytes(data[pos + 7:pos + 9], "big"), int.from_bytes(data[pos + 5:pos + 7], "big")
        if length < 2:
            return None
        pos += 2 + length
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 26:
        return None
    header = int.from_bytes(data[14:18], "little")
    if header == 12:  # OS/2 BITMAPCOREHEADER: unsigned 16-bit sides
        return int.from_bytes(data[18:20], "little"), int.from_bytes(data[20:22], "little")
    return (abs(int.from_bytes(data[18:22], "little", signed=True)),
            abs(int.from_bytes(data[22:26], "little", signed=True)))


def declared_size(path: str | os.PathLike, data: bytes) -> tuple[str, int, int]:
    """(format, width, height) the file's own header declares, for the formats the decoder is given
    (PNG, JPEG, BMP); ImageReadError for any other content, whatever the file is named."""
    kind, size = None, None
    if data[:8] == _PNG_SIGNATURE:
        kind = "PNG"
        size = (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) \
            if len(data) >= 24 and data[12:16] == b"IHDR" else None
    elif data[:3] == b"\xff\xd8\xff":
        kind, size = "JPEG", _jpeg_size(data)
    elif data[:2] == b"BM":
        kind, size = "BMP", _bmp_size(data)
    if kind is None:
        other = next((name for magic, name in _OTHER_FORMATS if data.startswith(magic)), None)
        if other is None and data[:1] == b"P" and data[1:2] in b"1234567f" and len(data) > 2:
            other = "PNM/PFM"
        if other is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            other = "WebP"
        if other is not None:
            raise ImageReadError(path, f"holds {other} data, not PNG or JPEG; convert it to PNG")
        raise ImageReadError(path, "not a readable image (not PNG or JPEG data)")
    if size is None:
        raise ImageReadError(path, f"damaged {kind} file (its header does not say the image size)")
    return kind, size[0], size[1]


def check_declared_size(path: str | os.PathLike, data: bytes) -> tuple[str, int, int]:
    """`declared_size`, refusing a size over `max_pixels()` before anything is decoded."""
    kind, w, h = declared_size(path, data)
    limit = max_pixels()
    if w * h > limit:
        raise ImageReadError(path, f"declared size {w}x{h} is too large ({kind}; the limit is {limit:,} pixels, "
                                   f"set {MAX_PIXELS_ENV} or --max-pixels to allow larger images)")
    if w == 0 or h == 0:
        raise ImageReadError(path, f"declared size {w}x{h} ({kind}) is empty")
    return kind, w, h


def _decode(path: Path, flags: int, data: bytes | None = None) -> np.ndarray:
    data = _read_bytes(path) if data is None else data
    if not data:
        raise ImageReadError(path, "file is empty")
    kind, _, _ = check_declared_size(path, data)
    if kind == "PNG" and _PNG_END not in data[-4096:]:
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
    if not data:
        raise ImageReadError(path, "file is empty")
    check_declared_size(path, data)
    if data[:8] == _PNG_SIGNATURE and len(data) > 25 and data[25] == 3:  # palette PNG: keep indices
        from PIL import Image  # local: only palette files need it

        try:
            import io

            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > max_pixels():
                    raise ImageReadError(path, f"declared size {im.width}x{im.height} is too large")
                arr = np.array(im.convert("P") if im.mode != "P" else im)
        except ImageReadError:
            raise
        except Exception as exc:  # PIL raises many types for broken files
            raise ImageReadError(path, f"not a readable image ({exc})") from None
        return np.ascontiguousarray(arr.astype(np.uint8, copy=False))
    arr = _decode(path, cv2.IMREAD_UNCHANGED, data)
    if arr.dtype != np.uint8:
        raise ImageReadError(path, f"label must be 8-bit, found {arr.dtype}")
    if data[:8] == _PNG_SIGNATURE and len(data) > 25 and data[25] == 0 and data[24] < 8:
        # libpng expands 1/2/4-bit grey to 0..255 (4-bit ID 1 -> 17): undo that exact scaling, in place
        np.floor_divide(arr, 255 // ((1 << data[24]) - 1), out=arr)
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
