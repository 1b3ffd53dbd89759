"""Text-guided editing of real frames with the user's local Stable Diffusion weights (issue 6).

    sd = load_sd("/path/to/stable-diffusion-v1-5")           # strictly offline, diffusers layout
    results = edit_frame(sd, frame, "a frame with heavy bleeding", method="imagic",
                         alphas=[1.2, 1.4, 1.6], cache_dir=project_dir / "cache/textedit")
    for r in results: r.image, r.alpha, r.psnr, r.ssim, r.label_miou, r.settings

Methods: SDEdit (`sdedit`), Imagic-style embedding optimisation + fine-tuning + interpolation (`imagic`),
DDIM inversion + guided regeneration (`invert`). The label is never changed: store (edited, label) as a new
pair. `build_tiny_sd` writes a random tiny model for tests and demos (not a result generator).
"""
from engine.textedit.diffusion import TextEditMemoryError
from engine.textedit.edit import METHODS, EditResult, EditSettings, edit_frame, run_edit
from engine.textedit.embeddings import INTERPOLATIONS, interpolate, lerp, slerp
from engine.textedit.framing import FRAMINGS, Framing, default_resolution, plan_framing
from engine.textedit.imagic import ImagicState, peft_available
from engine.textedit.outputs import output_paths, project_cache_dir, save_results, store_pair
from engine.textedit.scores import edit_label_miou, fidelity, open_presegmenter
from engine.textedit.sd_loader import EXPECTED, LoadedSD, SDFolderError, check_sd_folder, load_sd, missing_parts
from engine.textedit.tiny import build_tiny_sd

__all__ = [
    "TextEditMemoryError", "METHODS", "EditResult", "EditSettings", "edit_frame", "run_edit", "INTERPOLATIONS",
    "interpolate", "lerp", "slerp", "FRAMINGS", "Framing", "default_resolution",
    "plan_framing", "ImagicState", "peft_available", "output_paths", "project_cache_dir", "save_results", "store_pair", "fidelity",
    "edit_label_miou", "open_presegmenter", "EXPECTED", "LoadedSD", "SDFolderError", "check_sd_folder", "load_sd", "missing_parts",
    "build_tiny_sd",
]
