"""Shared fixtures of the text-edit tests: a tiny RANDOM Stable Diffusion saved to disk and loaded back
through the real offline loader, and a small 16:9 test frame."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """The tiny model is far faster on one thread when the CPU is shared; restored after the module."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_sd_dir(tmp_path_factory):
    from engine.textedit import build_tiny_sd

    return build_tiny_sd(tmp_path_factory.mktemp("tiny_sd") / "sd")


@pytest.fixture(scope="module")
def tiny_sd(tiny_sd_dir):
    import torch

    from engine.textedit import load_sd

    torch.manual_seed(0)
    return load_sd(tiny_sd_dir, device="cpu")


def make_frame(width: int = 96, height: int = 54) -> np.ndarray:
    """A deterministic 16:9 frame with flat regions, an edge and a gradient (uint8 RGB)."""
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = (120 + 100 * xx / width).astype(np.uint8)
    img[..., 1] = (60 + 80 * yy / height).astype(np.uint8)
    img[..., 2] = 40
    cy, cx, r = height // 2, width // 2, height // 3
    disk = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
    img[disk] = (30, 150, 200)
    return img


def make_label(width: int = 96, height: int = 54) -> np.ndarray:
    """A label matching make_frame: 4 (pupil-like disk) inside, 0 outside, a stripe of 255 ignore."""
    yy, xx = np.mgrid[0:height, 0:width]
    cy, cx, r = height // 2, width // 2, height // 3
    lab = np.where((yy - cy) ** 2 + (xx - cx) ** 2 < r * r, 4, 0).astype(np.uint8)
    lab[:2] = 255
    return lab
