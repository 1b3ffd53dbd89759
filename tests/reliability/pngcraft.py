"""Hand-made PNG files for the loader fuzzing: any colour type and bit depth, and broken variants.

A tiny PNG encoder of our own (zlib + struct) so the tests can write what normal encoders refuse to:
1/2/4-bit greys, 16-bit colour, palettes, headers that lie about the size, bad CRCs, cut-off files.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# colour type -> channels per pixel, allowed bit depths (PNG specification, table 11.1)
COLOUR_TYPES: dict[int, tuple[int, tuple[int, ...]]] = {
    0: (1, (1, 2, 4, 8, 16)),   # grey
    2: (3, (8, 16)),            # RGB
    3: (1, (1, 2, 4, 8)),       # palette index
    4: (2, (8, 16)),            # grey + alpha
    6: (4, (8, 16)),            # RGBA
}


def chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    """One PNG chunk: length, type, data, CRC (the right CRC unless `crc` is given)."""
    if crc is None:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def ihdr(width: int, height: int, bit_depth: int, colour_type: int) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))


def _scanlines(values: np.ndarray, bit_depth: int) -> bytes:
    """Raw image data (filter type 0 per row) for an (H, W, C) array of sample values."""
    h, w, c = values.shape
    rows = []
    for y in range(h):
        samples = values[y].reshape(-1)
        if bit_depth == 16:
            row = samples.astype(">u2").tobytes()
        elif bit_depth == 8:
            row = samples.astype(np.uint8).tobytes()
        else:  # pack 1/2/4-bit samples big-end first, rows padded to whole bytes
            per_byte = 8 // bit_depth
            padded = np.zeros(-(-samples.size // per_byte) * per_byte, np.uint8)
            padded[:samples.size] = samples.astype(np.uint8) & ((1 << bit_depth) - 1)
            groups = padded.reshape(-1, per_byte).astype(np.uint16)
            shifts = np.arange(per_byte - 1, -1, -1, dtype=np.uint16) * bit_depth
            row = (groups << shifts).sum(axis=1).astype(np.uint8).tobytes()
        rows.append(b"\x00" + row)
    return b"".join(rows)


def make_png(values: np.ndarray, colour_type: int, bit_depth: int, palette: np.ndarray | None = None) -> bytes:
    """A valid PNG of `values` ((H, W) or (H, W, C) sample values that fit `bit_depth`)."""
    channels, depths = COLOUR_TYPES[colour_type]
    if bit_depth not in depths:
        raise ValueError(f"bit depth {bit_depth} is not allowed for colour type {colour_type}")
    values = values.reshape(values.shape[0], values.shape[1], -1)
    if values.shape[2] != channels:
        raise ValueError(f"colour type {colour_type} needs {channels} channels, got {values.shape[2]}")
    h, w = values.shape[:2]
    parts = [SIGNATURE, ihdr(w, h, bit_depth, colour_type)]
    if colour_type == 3:
        if palette is None:
            palette = np.stack([np.arange(256)] * 3, axis=1).astype(np.uint8)[: 1 << bit_depth]
        parts.append(chunk(b"PLTE", palette.astype(np.uint8).tobytes()))
    parts.append(chunk(b"IDAT", zlib.compress(_scanlines(values, bit_depth))))
    parts.append(chunk(b"IEND", b""))
    return b"".join(parts)


def with_declared_size(png: bytes, width: int, height: int, fix_crc: bool = True) -> bytes:
    """The same file with its IHDR claiming another size (the pixel data is left as it was)."""
    assert png[12:16] == b"IHDR"
    body = bytearray(png[16:29])
    body[0:8] = struct.pack(">II", width, height)
    crc = zlib.crc32(b"IHDR" + bytes(body)) & 0xFFFFFFFF if fix_crc else struct.unpack(">I", png[29:33])[0]
    return png[:16] + bytes(body) + struct.pack(">I", crc) + png[33:]


def huge_header_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A small, complete-looking file whose header claims a gigantic size (a decompression bomb's shape)."""
    return SIGNATURE + ihdr(width, height, 8, 0) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
