"""UndoRecord: the old and new pixels of the box an edit changed.

A record costs memory proportional to its box, not to the frame. Records can be merged (one mouse
stroke = one undo step) and serialised compactly (zlib over ``before`` and ``before XOR after``, which
is almost all zeros) for the project journal and for the undo stack's storage of large records.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from engine.imageio import max_pixels

_MAGIC = b"CUR1"
_HEADER = struct.Struct("<4sIIIIBI")  # magic, y0, x0, h, w, flags, description length
_FLAG_MASK = 1
ZLIB_LEVEL = 3


@dataclass
class UndoRecord:
    """Pixels of one edit: ``before`` and ``after`` are uint8 (h, w) crops at (y0, x0).

    ``mask`` (optional, bool (h, w)) marks the pixels the record owns; None means the whole box.
    Only records merged without a label to fill gaps carry one; every edit op returns mask=None.
    """

    y0: int
    x0: int
    before: np.ndarray
    after: np.ndarray
    description: str = ""
    mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.y0, self.x0 = int(self.y0), int(self.x0)
        if self.y0 < 0 or self.x0 < 0:
            raise ValueError(f"undo record origin must be inside the label, got y0={self.y0} x0={self.x0}")
        for name in ("before", "after"):
            a = getattr(self, name)
            if not isinstance(a, np.ndarray) or a.ndim != 2 or a.dtype != np.uint8:
                raise ValueError(f"UndoRecord.{name} must be a 2-D uint8 array")
        if self.before.shape != self.after.shape:
            raise ValueError(f"before {self.before.shape} and after {self.after.shape} must have the same shape")
        if self.mask is not None and (self.mask.shape != self.before.shape or self.mask.dtype != bool):
            raise ValueError("UndoRecord.mask must be a bool array of the record's shape")

    # -- geometry ------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.before.shape  # type: ignore[return-value]

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) with x1, y1 exclusive."""
        h, w = self.shape
        return (self.x0, self.y0, self.x0 + w, self.y0 + h)

    @property
    def nbytes(self) -> int:
        """Bytes held by the pixel arrays."""
        n = self.before.nbytes + self.after.nbytes
        return n + (self.mask.nbytes if self.mask is not None else 0)

    # -- applying ------------------------------------------------------------------------------
    def _target(self, label: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self.bbox
        if label.ndim != 2 or y1 > label.shape[0] or x1 > label.shape[1]:
            raise ValueError(
                f"undo record box {self.bbox} does not fit a label of shape {label.shape}: "
                "it belongs to another frame"
            )
        return label[y0:y1, x0:x1]

    def undo(self, label: np.ndarray) -> None:
        """Write ``before`` back into `label` (in place)."""
        np.copyto(self._target(label), self.before, where=True if self.mask is None else self.mask)

    def redo(self, label: np.ndarray) -> None:
        """Write ``after`` into `label` (in place)."""
        np.copyto(self._target(label), self.after, where=True if self.mask is None else self.mask)

    def changed(self) -> np.ndarray:
        """Bool (h, w): pixels whose value differs between before and after."""
        diff = self.before != self.after
        return diff if self.mask is None else diff & self.mask

    # -- merging -------------------------------------------------------------------------------
    def merge(self, other: "UndoRecord", label: np.ndarray | None = None) -> "UndoRecord":
        """One record over the union box equivalent to applying `self` then `other`.

        Pixels of the union box that neither record covers are unknown to both; pass `label` (the
        frame, in any state between the two edits or after them, as long as nothing else touched
        those pixels) to fill them and get a plain record, otherwise the result carries a mask.
        """
        x0 = min(self.x0, other.x0)
        y0 = min(self.y0, other.y0)
        x1 = max(self.bbox[2], other.bbox[2])
        y1 = max(self.bbox[3], other.bbox[3])
        shape = (y1 - y0, x1 - x0)
        before = np.zeros(shape, np.uint8)
        after = np.zeros(shape, np.uint8)
        cover = np.zeros(shape, bool)
        # before: other's first, then self's (self came first, so its before wins where both cover)
        for rec, arr, attr in ((other, before, "before"), (self, before, "before"),
                               (self, after, "after"), (other, after, "after")):
            sl = (slice(rec.y0 - y0, rec.y0 - y0 + rec.shape[0]), slice(rec.x0 - x0, rec.x0 - x0 + rec.shape[1]))
            np.copyto(arr[sl], getattr(rec, attr), where=True if rec.mask is None else rec.mask)
            if attr == "after":
                cover[sl] |= True if rec.mask is None else rec.mask
        desc = self.description or other.description
        if cover.all():
            return UndoRecord(y0, x0, before, after, desc)
        if label is not None:
            current = label[y0:y1, x0:x1]
            np.copyto(before, current, where=~cover)
            np.copyto(after, current, where=~cover)
            return UndoRecord(y0, x0, before, after, desc)
        return UndoRecord(y0, x0, before, after, desc, mask=cover)

    # -- serialisation -------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Compact bytes (header + zlib of before, before XOR after and the optional mask)."""
        h, w = self.shape
        desc = self.description.encode("utf-8")
        flags = _FLAG_MASK if self.mask is not None else 0
        payload = [np.ascontiguousarray(self.before).tobytes(), np.bitwise_xor(self.before, self.after).tobytes()]
        if self.mask is not None:
            payload.append(np.packbits(self.mask, axis=None).tobytes())
        header = _HEADER.pack(_MAGIC, self.y0, self.x0, h, w, flags, len(desc))
        return header + desc + zlib.compress(b"".join(payload), ZLIB_LEVEL)

    @classmethod
    def from_bytes(cls, data: bytes) -> "UndoRecord":
        """Inverse of :meth:`to_bytes`; raises ValueError on anything else."""
        if len(data) < _HEADER.size or data[:4] != _MAGIC:
            raise ValueError("these bytes are not a CaDIS Studio undo record (bad header)")
        _, y0, x0, h, w, flags, ndesc = _HEADER.unpack_from(data)
        start = _HEADER.size + ndesc
        n = h * w
        if n > max_pixels():  # no label is that large: never inflate such a payload
            raise ValueError(f"corrupt undo record: a {w}x{h} box is larger than any label")
        expected = 2 * n + ((n + 7) // 8 if flags & _FLAG_MASK else 0)
        try:
            desc = data[_HEADER.size:start].decode("utf-8")
            inflate = zlib.decompressobj()
            raw = inflate.decompress(data[start:], expected + 1)  # bounded: a compression bomb stops here
        except (UnicodeDecodeError, zlib.error) as exc:
            raise ValueError(f"corrupt undo record: {exc}") from None
        if len(raw) != expected or inflate.unconsumed_tail or not inflate.eof:
            raise ValueError(f"corrupt undo record: more or fewer pixel bytes than the {expected} its box holds")
        before = np.frombuffer(raw, np.uint8, n, 0).reshape(h, w).copy()
        after = np.bitwise_xor(before, np.frombuffer(raw, np.uint8, n, n).reshape(h, w))
        mask = None
        if flags & _FLAG_MASK:
            bits = np.frombuffer(raw, np.uint8, (n + 7) // 8, 2 * n)
            mask = np.unpackbits(bits, count=n).reshape(h, w).astype(bool)
        return cls(y0, x0, before, after, desc, mask)
