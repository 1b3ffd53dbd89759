"""A loaded segment-anything model: an image embedding once per frame, then masks per prompt in milliseconds.

`load_segment_model(folder, device)` checks the folder (engine.segment.folder) and loads its safetensors
weights; `embed(image)` runs the image encoder (the slow part, seconds on a CPU) and `predict(embedding,
prompt)` the prompt encoder and mask decoder (on one CPU thread, with what engine.segment.fast keeps between
prompts). On CUDA the model runs in half precision.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.segment.fast import PROMPT_THREADS, FastPrompts, prompt_threads
from engine.segment.folder import (
    TEXT_FAMILIES, SegmentFolder, SegmentFolderError, check_segment_folder, check_weights, model_class,
)
from engine.segment.prep import Prep
from engine.segment.prompt import Prompt


@dataclass
class Embedding:
    """One frame's image embedding (the model's tensors) and the frame's size."""

    tensors: object          # a tensor (SAM) or a list of tensors (SAM 2 / SAM 3)
    height: int
    width: int

    def nbytes(self) -> int:
        return _tensor_bytes(self.tensors)


@dataclass
class Candidates:
    """The model's alternative masks for one prompt, at the frame's size, best score first."""

    masks: np.ndarray        # N x H x W bool
    scores: np.ndarray       # N float (the model's predicted IoU)

    def __len__(self) -> int:
        return len(self.scores)


class SegmentModel:
    """One SAM / SAM 2 / SAM 3 tracker model, loaded and ready for embeddings and prompts."""

    def __init__(self, folder: SegmentFolder, model, device: str, fast: bool = True) -> None:
        self.folder = folder
        self.model = model
        self.device = device
        self.dtype = next(model.parameters()).dtype
        # fast=False: the model's forward exactly as transformers has it, on the process's threads (a benchmark's
        # baseline)
        self.fast = FastPrompts(model if fast else None)
        self.threads = PROMPT_THREADS if fast else None
        pe = folder.config.get("prompt_encoder_config") or {}
        size = int(pe.get("image_size", 1024))
        self.mask_size = 4 * (size // int(pe.get("patch_size", 16)))
        try:
            self.prep = Prep.from_processor(folder.processor, size)
        except ValueError as exc:
            raise SegmentFolderError(f"{folder.path}: {exc}") from None

    @property
    def name(self) -> str:
        return f"{self.folder.family_name} ({self.folder.path.name})"

    def embed(self, image: np.ndarray, between=None) -> Embedding:
        """The image embedding of an HxWx3 uint8 RGB frame; `between()` runs before each image-encoder block
        (it may wait, or raise to cancel)."""
        return embed_with(self, image, self.model.get_image_embeddings, between)

    def predict(self, embedding: Embedding, prompt: Prompt, multimask: bool = True) -> Candidates:
        """Candidate masks at the frame's size for `prompt`, best predicted IoU first."""
        import torch

        h, w = embedding.height, embedding.width
        prompt.check(h, w)
        sx, sy = self.prep.scale_xy(h, w)
        kwargs: dict = {}
        if prompt.points:
            pts = [[(x + 0.5) * sx, (y + 0.5) * sy] for x, y, _ in prompt.points]
            kwargs["input_points"] = torch.tensor([[pts]], dtype=self.dtype, device=self.device)
            kwargs["input_labels"] = torch.tensor([[[1 if p else 0 for *_, p in prompt.points]]], device=self.device)
        box = prompt.box
        if box is None and prompt.region is not None and not prompt.points:
            box = _region_box(prompt.region)
        if box is not None:
            x0, y0, x1, y1 = box
            kwargs["input_boxes"] = torch.tensor([[[x0 * sx, y0 * sy, x1 * sx, y1 * sy]]], dtype=self.dtype,
                                                 device=self.device)
        if prompt.region is not None:
            kwargs["input_masks"] = torch.from_numpy(self.prep.mask_prompt(prompt.region, self.mask_size)).to(
                self.device, self.dtype)
        with self.fast.lock, prompt_threads(self.device, self.threads), torch.inference_mode():
            out = self.model(image_embeddings=embedding.tensors, multimask_output=multimask, **kwargs)
        low = out.pred_masks[0, 0].float().cpu().numpy()
        scores = out.iou_scores[0, 0].float().cpu().numpy()
        logits = self.prep.masks_to_frame(low, h, w)
        order = np.argsort(-scores, kind="stable")
        return Candidates(logits[order] > 0, scores[order].astype(np.float32))


def load_segment_model(path: str | Path, device: str = "auto"):
    """Check and load a folder (raises SegmentFolderError with one line for a folder that cannot be used)."""
    from engine.device import pick_device
    from engine.models.folders import from_pretrained, pretrained_kwargs

    folder = check_segment_folder(path)
    check_weights(folder)
    dev = str(pick_device(device))
    # a SAM 2 folder with the video model's weights segments clicks with the image model (a subset of them)
    cls = model_class("sam2" if folder.family == "sam2_video" else folder.family)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "a sam2_video checkpoint into Sam2Model" is expected here
    try:
        model = from_pretrained(lambda: cls.from_pretrained(str(folder.path), **pretrained_kwargs()), folder.path,
                                SegmentFolderError, f"the {folder.family_name} model", "copy the model folder again")
    finally:
        hf_logging.set_verbosity(verbosity)
    model = model.eval().to(dev)
    if dev.startswith("cuda"):
        model = model.half()
    if folder.family in TEXT_FAMILIES:
        from engine.segment.text import TextSegmentModel

        return TextSegmentModel(folder, model, dev)
    return SegmentModel(folder, model, dev)


def _region_box(region: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(region)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _tensor_bytes(obj) -> int:
    """Bytes of every tensor in a tensor, list, tuple or dict (a transformers ModelOutput is a dict)."""
    if hasattr(obj, "element_size"):
        return int(obj.numel() * obj.element_size())
    if isinstance(obj, dict):
        return sum(_tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_tensor_bytes(v) for v in obj)
    return 0


def embed_with(owner, image: np.ndarray, encode, between=None) -> Embedding:
    """`encode(pixel_values)` of a frame prepared as `owner.prep` says, on `owner.device` in `owner.dtype`;
    `between()` is called before every block of the model's image encoder (a pause, or a cancel by raising)."""
    import torch

    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"the frame should be an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}")
    pixels = torch.from_numpy(owner.prep.pixel_values(image)).to(owner.device, owner.dtype)
    handles = []
    encoder = getattr(owner.model, "vision_encoder", None)
    if between is not None and encoder is not None:
        for module in encoder.modules():
            if isinstance(module, torch.nn.ModuleList):
                handles += [block.register_forward_pre_hook(lambda *_: between()) for block in module]
    try:
        with torch.inference_mode():
            tensors = encode(pixels)
    finally:
        for handle in handles:
            handle.remove()
    return Embedding(tensors, image.shape[0], image.shape[1])
