"""Sample grids during training: held-out masks next to their real frames and what the model makes of them."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.imageio import write_image
from engine.labels import to_original_ids


def sample_grid(model, holdout, path: Path, steps: int = 20, guidance: float = 2.0, seed: int = 0,
                scheduler_config: dict | None = None) -> Path:
    """Write a PNG with one row per held-out pair: colour mask | real frame | sample. Returns the path."""
    from engine.pipelines.synthesis import SynthesisPipeline, preset

    was_training = model.training
    pipe = SynthesisPipeline(model.eval(), scheduler_config)
    settings = replace(preset("final"), sampler="dpm", steps=steps, guidance=guidance, channels_last=False)
    rows = []
    for i in range(len(holdout)):
        lab = holdout.labels[i]
        result = pipe(to_original_ids(lab, holdout.class_set), settings=settings, seed=seed + i)
        colour = holdout.class_set.palette[lab]
        rows.append(np.concatenate([colour, holdout.images[i], result.images[0]], axis=1))
    model.train(was_training)
    return write_image(path, np.concatenate(rows, axis=0))
