"""Models: the SPADE-conditioned diffusion UNet for mask-to-image synthesis and its model folders."""
from engine.models.model_dir import (
    ModelFolderError, check_model_folder, load_synthesis_model, model_fingerprint, parse_height_width,
    read_model_card, save_synthesis_model, starter_model_dir,
)
from engine.models.segmap import mask_to_segmap, one_hot, resize_label
from engine.models.spade import SpadeModulation, SpadeNorm, SpadeResBlock
from engine.models.mask_upsampler import MaskUpsampler2DModel
from engine.models.spade_unet import SpadeUNet2DModel

__all__ = [
    "MaskUpsampler2DModel", "ModelFolderError", "SpadeModulation", "SpadeNorm", "SpadeResBlock", "SpadeUNet2DModel", "check_model_folder",
    "load_synthesis_model", "mask_to_segmap", "model_fingerprint", "one_hot", "parse_height_width", "read_model_card",
    "resize_label", "save_synthesis_model", "starter_model_dir",
]
