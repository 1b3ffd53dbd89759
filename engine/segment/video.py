"""Whole-label-map propagation with SAM 2's video model: each class region of a labelled frame is one object
(a mask prompt) that transformers' `Sam2VideoModel` tracks through the video with its memory; the objects'
masks are fused back into one label map with a per-pixel confidence.

    prop = Sam2Propagator.open("sam2.1-hiera-tiny/")          # a SAM 2 folder with the video model's weights
    result = prop(frames, {0: label0}, targets=range(1, 11), min_confidence=0.5, ctx=ctx)
    result.frames[5].label, result.frames[5].confidence

It is called like `engine.propagate.propagate_frames` (the optical-flow method) and returns the same shape of
result (`frames`: position -> label, confidence, sources; `stopped`: one line per direction that stopped), so
`run_propagation` / `propagate_in_project` take it as their `propagator`.

- Fusion: per pixel, the class whose object has the highest probability (sigmoid of the mask logit); the
  confidence is p_best x (1 - p_second): high only where one class claims the pixel and no other does. Where
  every object is absent (SAM 2 marks an object it no longer sees with logits of -1024) the pixel stays
  unlabelled (255) with confidence 0. Classes come only from the key frames.
- Direction: forward from the first key frame to the last target (every key frame is a conditioning frame, so
  frames between two keys use both), backward from the first key frame to the first target. After the last key
  (forward) and before the first (backward) a direction stops at the first frame whose mean confidence is below
  `min_confidence`, as the flow method does.
- No torchvision: frames are prepared as the processor config says (engine.segment.prep), the session is fed
  frames lazily (two at a time in memory), and per-frame outputs the model no longer needs are dropped.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence, Union

import cv2
import numpy as np

from engine.jobs import JobContext
from engine.segment.folder import SegmentFolder, SegmentFolderError, check_segment_folder, check_weights
from engine.segment.prep import Prep
from engine.taxonomy import IGNORE
from engine.keyframes import positions_to_fill

FrameSource = Union[np.ndarray, Callable[[], np.ndarray]]
ABSENT_LOGIT = -100.0   # SAM 2 writes -1024 where an object is not in the frame


@dataclass
class TrackedFrame:
    label: np.ndarray           # HxW uint8 class IDs (255 where no object is)
    confidence: np.ndarray      # HxW float32 0..1
    sources: tuple[int, ...]    # the key positions used


@dataclass
class VideoPropagation:
    frames: dict[int, TrackedFrame] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)


def fuse_objects(logits: np.ndarray, classes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(label, confidence) at HxW from N objects' HxW mask logits; object i is class `classes[i]`."""
    lut = np.asarray(classes, np.uint8)
    best_i = np.argmax(logits, axis=0)
    best_logit = np.take_along_axis(logits, best_i[None], axis=0)[0]
    p = 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))
    if len(classes) > 1:
        top2 = np.partition(p, len(classes) - 2, axis=0)[-2:]
        best, second = top2[1], top2[0]
    else:
        best, second = p[0], np.zeros_like(p[0])
    conf = (best * (1.0 - second)).astype(np.float32)
    label = lut[best_i]
    absent = best_logit <= ABSENT_LOGIT
    label[absent] = IGNORE
    conf[absent] = 0.0
    return label, conf


class _LazyFrames:
    """The session's `processed_frames`: frame i prepared on first use; the last two kept."""

    def __init__(self, frames: Sequence[FrameSource], positions: Sequence[int], prep: Prep, size: tuple[int, int],
                 device: str, dtype) -> None:
        self.frames, self.positions, self.prep, self.size = frames, list(positions), prep, size
        self.device, self.dtype = device, dtype
        self._kept: OrderedDict[int, object] = OrderedDict()

    def __len__(self) -> int:
        return len(self.positions)

    def __contains__(self, idx) -> bool:
        return 0 <= idx < len(self.positions)

    def __getitem__(self, idx: int):
        import torch

        if idx not in self._kept:
            src = self.frames[self.positions[idx]]
            image = src() if callable(src) else src
            if image.ndim != 3 or image.shape[2] != 3 or image.shape[:2] != self.size:
                raise ValueError(f"frame position {self.positions[idx]} is {image.shape[1::-1]}, not the key frame's "
                                 f"{self.size[1]}x{self.size[0]} RGB")
            self._kept[idx] = torch.from_numpy(self.prep.pixel_values(image)[0]).to(self.device, self.dtype)
            while len(self._kept) > 2:
                self._kept.popitem(last=False)
        return self._kept[idx]


class Sam2Propagator:
    """A loaded SAM 2 video model; calling it propagates label maps (see the module doc)."""

    def __init__(self, folder: SegmentFolder, model, device: str) -> None:
        self.folder, self.model, self.device = folder, model, device
        self.dtype = next(model.parameters()).dtype
        size = int(folder.config.get("image_size", 1024))
        try:
            self.prep = Prep.from_processor(folder.processor, size)
        except ValueError as exc:
            raise SegmentFolderError(f"{folder.path}: {exc}") from None
        self.mask_size = size
        cfg = model.config
        self.keep = max(int(cfg.num_maskmem), int(cfg.max_object_pointers_in_encoder)) + 1
        self.description = (f"SAM 2 video model ({folder.path.name}): each class region of the key frame(s) an "
                            "object (mask prompt) tracked with the model's memory, fused per pixel; confidence "
                            "p_best x (1 - p_second)")

    @classmethod
    def open(cls, path: str | Path, device: str = "auto") -> "Sam2Propagator":
        """Check and load a SAM 2 folder that holds the video model (raises SegmentFolderError, one line)."""
        from engine.device import pick_device

        folder = check_segment_folder(path)
        if folder.family != "sam2_video":
            raise SegmentFolderError(
                f"{folder.path}: propagation with SAM 2 needs the video model's weights (config model_type "
                f"'sam2_video', as the published SAM 2.1 folders have); this folder holds a {folder.family_name} "
                "image model only")
        check_weights(folder)
        import transformers
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        try:
            model = transformers.Sam2VideoModel.from_pretrained(str(folder.path), local_files_only=True,
                                                                use_safetensors=True)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise SegmentFolderError(f"{folder.path}: the SAM 2 video model could not be loaded "
                                     f"({str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__})") from None
        dev = str(pick_device(device))
        model = model.eval().to(dev)
        if dev.startswith("cuda"):
            model = model.half()
        return cls(folder, model, dev)

    def __call__(self, frames: Sequence[FrameSource], keys: dict[int, np.ndarray], targets: Sequence[int],
                 min_confidence: float = 0.5, ctx: JobContext | None = None) -> VideoPropagation:
        import torch
        from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession

        ctx = ctx or JobContext()
        key_pos, wanted = positions_to_fill(len(frames), keys, targets)
        result = VideoPropagation()
        if not wanted:
            return result
        shape = keys[key_pos[0]].shape
        if any(keys[k].shape != shape for k in key_pos):
            raise ValueError("the key frames' labels differ in size")
        classes = sorted({int(c) for k in key_pos for c in np.unique(keys[k]) if c != IGNORE})
        if not classes:
            raise ValueError("the key frames have no labelled pixels to propagate")
        lo, hi = min(key_pos[0], wanted[0]), max(key_pos[-1], wanted[-1])
        positions = list(range(lo, hi + 1))
        session = Sam2VideoInferenceSession(video=None, video_height=shape[0], video_width=shape[1],
                                            inference_device=self.device, inference_state_device=self.device,
                                            video_storage_device=self.device, dtype=self.dtype)
        session.processed_frames = _LazyFrames(frames, positions, self.prep, shape, self.device, self.dtype)
        total = len(wanted) + len(key_pos)
        done = [0]

        def tick(msg: str) -> None:
            done[0] += 1
            ctx.report(min(1.0, done[0] / total), msg)

        with torch.inference_mode():
            for k in key_pos:
                ctx.check()
                for cls in classes:
                    idx = session.obj_id_to_idx(cls)
                    session.add_mask_inputs(idx, k - lo, self._mask_input(keys[k] == cls))
                session.obj_with_new_inputs = list(classes)
                self.model(inference_session=session, frame_idx=k - lo)
                tick(f"key frame {k}: {len(classes)} classes as objects")
            first, last = key_pos[0], key_pos[-1]
            runs = [(False, hi - first, last), (True, first - lo, first)]
            for reverse, count, free_after in runs:
                if count <= 0:
                    continue
                sources = tuple(key_pos) if not reverse else (first,)
                it = self.model.propagate_in_video_iterator(session, start_frame_idx=first - lo,
                                                            max_frame_num_to_track=count, reverse=reverse)
                for out in it:
                    pos = lo + int(out.frame_idx)
                    self._forget(session, int(out.frame_idx), reverse)
                    if pos in keys:
                        continue
                    logits = self.prep.masks_to_frame(out.pred_masks[:, 0].float().cpu().numpy(), *shape)
                    order = [session.obj_id_to_idx(c) for c in classes]
                    label, conf = fuse_objects(logits[order], classes)
                    one_sided = pos > free_after if not reverse else pos < free_after
                    mean = float(conf.mean())
                    if one_sided and mean < min_confidence:
                        result.stopped.append(
                            f"stopped at frame position {pos} (tracked from position {first if reverse else last}): "
                            f"mean confidence {mean:.2f} is below {min_confidence:.2f}; the structures changed too "
                            "much for SAM 2 to follow: label it or add a key frame nearer to it")
                        break
                    if pos in wanted:
                        result.frames[pos] = TrackedFrame(label, conf, sources)
                        tick(f"{len(result.frames)}/{len(wanted)} frames tracked")
                    ctx.check()
        return result

    def _mask_input(self, region: np.ndarray):
        """A 1x1xSxS float mask at the model's input size (as Sam2VideoProcessor makes it: resized, >= 0.5)."""
        import torch

        small = cv2.resize(region.astype(np.float32), (self.mask_size, self.mask_size), interpolation=cv2.INTER_AREA)
        return torch.from_numpy((small >= 0.5).astype(np.float32))[None, None].to(self.device, self.dtype)

    def _forget(self, session, idx: int, reverse: bool) -> None:
        """Drop what the model no longer reads: full-size masks, and tracked frames beyond its memory."""
        for per_obj in session.output_dict_per_obj.values():
            for store in (per_obj["cond_frame_outputs"], per_obj["non_cond_frame_outputs"]):
                if idx in store:
                    store[idx].pop("high_res_masks", None)
            old = per_obj["non_cond_frame_outputs"]
            for f in [f for f in old if (f > idx + self.keep if reverse else f < idx - self.keep)]:
                del old[f]
