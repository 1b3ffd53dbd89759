"""A bounded cache of image embeddings: a frame's embedding is made once and reused for every prompt.

Least recently used entries go first once either bound (entries, bytes) is passed; the key names the
model, the frame and a digest of its pixels, so an edited or different image never reuses an embedding.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

from engine.segment.model import Embedding


def image_key(model_id: str, frame: str, image: np.ndarray) -> tuple[str, str, str]:
    digest = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()
    return model_id, str(frame), f"{image.shape}:{digest}"


class EmbeddingCache:
    """LRU of embeddings within `max_items` entries and `max_bytes` bytes (thread-safe)."""

    def __init__(self, max_items: int = 4, max_bytes: int = 512 << 20) -> None:
        if max_items < 1 or max_bytes < 1:
            raise ValueError("the embedding cache needs room for at least one entry")
        self.max_items, self.max_bytes = int(max_items), int(max_bytes)
        self._items: OrderedDict[tuple, Embedding] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: tuple) -> bool:
        return key in self._items

    def nbytes(self) -> int:
        return sum(e.nbytes() for e in self._items.values())

    def get(self, key: tuple) -> Embedding | None:
        with self._lock:
            emb = self._items.get(key)
            if emb is not None:
                self._items.move_to_end(key)
            return emb

    def put(self, key: tuple, emb: Embedding) -> None:
        with self._lock:
            self._items[key] = emb
            self._items.move_to_end(key)
            while len(self._items) > 1 and (len(self._items) > self.max_items or self.nbytes() > self.max_bytes):
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
