"""The text-edit use case: edit a frame towards a prompt with a local Stable Diffusion (SDEdit, Imagic, DDIM
inversion; optionally only some classes), for `cadis edit` and the Text edit dock alike.

    models = TextEditModels()                       # Stable Diffusion and the scoring pre-segmenter, kept loaded
    results = edit(ctx, models, TextEditRequest(sd_folder, prompt, edit_settings(method="sdedit", ...)), image)
    region = propose_region(ctx, models, request, image, label)     # the prompt's classes (DiffEdit)

With `preseg_model` and `preseg_head` each result is scored by the mIoU between the pre-segmenter's proposal
for the edited frame and the frame's label (in the head's class set). The engine modules load when first used.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from engine.jobs import JobContext
from engine.model_cache import ModelCache


@dataclass
class TextEditRequest:
    """What to edit towards (`prompt`), with which model folder and `settings` (engine.textedit.EditSettings);
    `cache_dir` keeps Imagic's optimised embedding and tuned weights between runs."""

    sd_folder: str
    prompt: str
    settings: Any
    device: str = "auto"
    cache_dir: Optional[str] = None
    preseg_model: Optional[str] = None
    preseg_head: Optional[str] = None


def edit_settings(**kwargs):
    """engine.textedit.EditSettings(**kwargs), validated (ValueError with a plain message)."""
    from engine.textedit import EditSettings

    return EditSettings(**kwargs).validated()


def sd_problem(folder: str) -> str:
    """"" when `folder` looks like a complete Stable Diffusion folder, else what is wrong (one line)."""
    from engine.textedit import SDFolderError, check_sd_folder

    if not folder or not str(folder).strip():
        return ("No Stable Diffusion folder is set. Text edits use your own local Stable Diffusion 1.x/2.x "
                "weights in the diffusers layout (model_index.json, unet/, vae/, text_encoder/, tokenizer/, "
                "scheduler/); nothing is downloaded.")
    try:
        check_sd_folder(folder)
    except SDFolderError as exc:
        return str(exc)
    return ""


class TextEditModels:
    """The models text edits use, each kept loaded between edits (`engine.model_cache.ModelCache`): one
    Stable Diffusion and one pre-segmenter; thread-safe."""

    def __init__(self):
        self._sd, self._preseg = ModelCache(), ModelCache()

    def sd(self, folder: str, device: str):
        from engine.textedit import load_sd

        key = (str(Path(folder).expanduser().resolve()), device)
        return self._sd.use(key, lambda: load_sd(folder, device=device), lambda sd: sd)

    def presegment(self, model_dir: Optional[str], head_dir: Optional[str], device: str) -> Optional[Callable]:
        """image -> the pre-segmenter's PresegResult (label in the head's class set), or None without a head."""
        if not model_dir or not head_dir:
            return None

        def load():
            from engine.device import pick_device
            from engine.textedit.scores import open_presegmenter

            return open_presegmenter(model_dir, head_dir, device=str(pick_device(device)))
        return self._preseg.use((model_dir, head_dir, device), load, lambda fn: fn)

    def clear(self) -> None:
        self._sd.clear()
        self._preseg.clear()


def edit(ctx: JobContext, models: TextEditModels, request: TextEditRequest, image: np.ndarray,
         label: Optional[np.ndarray] = None, presegment: Optional[Callable] = None) -> list:
    """Load (or reuse) the models, then edit; returns the EditResult list (one per α for Imagic). Progress
    stages: "loading Stable Diffusion", "proposing the region", "optimising embedding", "fine-tuning",
    "inverting", "sampling". `presegment` (image -> label) scores instead of the request's head."""
    from engine.textedit import run_edit

    ctx.report(0.0, "loading Stable Diffusion")
    sd = models.sd(request.sd_folder, request.device)
    if presegment is None and request.preseg_model and request.preseg_head:
        ctx.report(0.01, "loading the pre-segmentation head")
        presegment = models.presegment(request.preseg_model, request.preseg_head, request.device)
    ctx.check()
    return run_edit(sd, image, request.prompt, request.settings, cache_dir=request.cache_dir, ctx=ctx.sub(0.02, 1.0),
                    label=label, presegment=presegment)


def propose_region(ctx: JobContext, models: TextEditModels, request: TextEditRequest, image: np.ndarray,
                   label: np.ndarray):
    """The classes of `label` the prompt would change (DiffEdit), for the class picker."""
    from engine.textedit.edit import propose_classes

    ctx.report(0.0, "loading Stable Diffusion")
    sd = models.sd(request.sd_folder, request.device)
    ctx.check()
    return propose_classes(sd, image, label, request.prompt, request.settings, ctx=ctx.sub(0.05, 1.0))


def save_results(results: list, out: str, source: str) -> list[Path]:
    """Write the edits (and their JSON record) next to `out`; returns the image paths."""
    from engine.textedit import save_results as save

    return save(results, out, source=source)


def store_pair(project, key: str, label: np.ndarray, result, prompt: str) -> int:
    """Add an edit with the frame's label to the project as a pending synthetic pair; returns its id."""
    from engine.textedit.outputs import store_pair as store

    return store(project, key, label, result, prompt)


def project_cache_dir(project) -> Path:
    """Where a project keeps Imagic's embeddings and tuned weights."""
    from engine.textedit.outputs import project_cache_dir as cache_dir

    return cache_dir(project)


def classes_in(label: np.ndarray) -> list:
    from engine.textedit.region import classes_in as present

    return present(label)
