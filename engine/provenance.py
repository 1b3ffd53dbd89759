"""What a synthetic pair records about how it was made (stored as JSON with the pair in the project).

One builder per kind of pair, used by the app and the CLI alike; `json_safe` makes any record storable."""
from __future__ import annotations

import hashlib
import math

import numpy as np


def json_safe(value):
    """JSON-safe: nan/inf -> None, numpy scalars -> Python, tuples -> lists, keys -> str."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def mask_digest(mask: np.ndarray) -> str:
    """Short sha256 of a mask's pixels (identifies the layout a synthesized image was drawn for)."""
    return hashlib.sha256(np.ascontiguousarray(mask).tobytes()).hexdigest()[:16]


def synthesis_provenance(settings: dict, seed: int, preset: str, model_dir: str, source_frame: str,
                         mask: np.ndarray) -> dict:
    """A synthesized frame: the sampling settings, its seed, the preset and model, the frame its mask came from."""
    prov = dict(settings)
    prov.update(seed=int(seed), preset=preset, model_dir=str(model_dir), source_frame=source_frame,
                mask_sha256=mask_digest(mask))
    return prov


def text_edit_provenance(result, frame_key: str, prompt: str) -> dict:
    """A text edit (an `engine.textedit.EditResult`): method, prompt, α, seed, region, every setting, and its
    scores. For an edit restricted to a region the label consistency is the one inside the region."""
    rec = result.record()
    miou = rec.get("label_miou")
    region = rec["settings"].get("region")
    scores = {"psnr": rec["psnr"], "ssim": rec["ssim"], "label_miou": miou, "consistency": miou}
    if region is not None:
        scores.update(region_label_miou=rec.get("region_label_miou"), consistency=rec.get("region_label_miou"),
                      changed_inside=rec.get("changed_inside"), changed_outside=rec.get("changed_outside"))
    return json_safe({
        "kind": "text_edit", "frame": frame_key, "prompt": prompt, "method": rec["method"], "alpha": rec["alpha"],
        "seed": rec["seed"], "region": region, "settings": rec["settings"], "scores": scores,
    })
