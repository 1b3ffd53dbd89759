"""Models: the SPADE-conditioned diffusion UNet for mask-to-image synthesis and its model folders.

Names are looked up when first used (PEP 562): importing a light module of this package (`folders`,
`config_checks`, `trained_on`) does not import diffusers.
"""
from __future__ import annotations

from engine.lazy import lazy_names

_HOMES = {
    **{name: "engine.models.model_dir" for name in (
        "ModelFolderError", "check_model_folder", "load_synthesis_model", "model_fingerprint", "parse_height_width",
        "read_model_card", "save_synthesis_model", "starter_model_dir")},
    **{name: "engine.models.segmap" for name in ("mask_to_segmap", "one_hot", "resize_label")},
    **{name: "engine.models.spade" for name in ("SpadeModulation", "SpadeNorm", "SpadeResBlock")},
    "MaskUpsampler2DModel": "engine.models.mask_upsampler",
    "SpadeUNet2DModel": "engine.models.spade_unet",
}
__all__ = sorted(_HOMES)
__getattr__, __dir__ = lazy_names(__name__, _HOMES)
