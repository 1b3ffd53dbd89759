"""Frame sizes as people type them: "WIDTHxHEIGHT" (e.g. 960x540), the way CaDIS and the CLI write sizes."""
from __future__ import annotations


def parse_width_height(text: str) -> tuple[int, int]:
    """'512x320' -> (512, 320): (width, height), both positive."""
    try:
        w, h = (int(v) for v in str(text).lower().replace(" ", "").split("x"))
    except ValueError:
        raise ValueError(f"resolution must look like WIDTHxHEIGHT (e.g. 512x320), got {text!r}") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"resolution must be positive, got {text!r}")
    return w, h
