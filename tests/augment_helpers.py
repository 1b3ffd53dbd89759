"""Shared helpers of the augment tests: a small phantom project and a fake image generator."""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from engine.taxonomy import colorize

W, H = 240, 136


def make_project(root: Path, videos: int = 2, frames: int = 3):
    """A phantom dataset at W x H under `root`, its project opened, every frame marked done."""
    from engine.phantom import generate_dataset
    from engine.project import Project

    generate_dataset(root / "data", videos=videos, frames_per_video=frames, seed=5, width=W, height=H)
    project = Project.open_or_create(root / "data", project_dir=root / "proj", journal_fsync=False)
    for k in project.frame_keys():
        project.set_status(k, "done")
    return project


def fake_generate(label: np.ndarray, seed: int, sleep: float = 0.0) -> np.ndarray:
    """Colour preview of the label at half size, under a seeded low-frequency pattern (distinct per seed)."""
    if sleep:
        time.sleep(sleep)
    h, w = label.shape[0] // 2, label.shape[1] // 2
    small = cv2.resize(label, (w, h), interpolation=cv2.INTER_NEAREST)
    rng = np.random.default_rng(seed)
    pattern = cv2.resize(rng.uniform(-70, 70, (4, 4, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(colorize(small).astype(np.float32) + pattern, 0, 255).astype(np.uint8)


def save_tiny_model(folder: Path) -> Path:
    """A tiny seeded single-UNet synthesis model folder at `folder` (fast enough for augment tests)."""
    import torch

    from engine.models import SpadeUNet2DModel, save_synthesis_model

    torch.manual_seed(0)
    model = SpadeUNet2DModel(sample_size=(16, 32), block_out_channels=(8, 16), layers_per_block=1, spade_hidden=8,
                             head_dim=8)
    return save_synthesis_model(model, folder)
