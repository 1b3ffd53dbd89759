"""The pre-segmentation use cases, for `cadis train-preseg` / `cadis preseg` and the Pre-segment dock alike:
train a head, propose a label for a frame, rank frames to label next, find suspicious labels.

    head = train(ctx, TrainRequest(model_dir, head_dir, "full", settings), frames)
    heads = Presegmenters()                                   # loaded model + head, kept between calls
    proposal = propose(ctx, heads, PresegRequest(model_dir, head_dir), image, key)
    ranked = rank_label_next(ctx, heads, request, [(key, load_image), ...])
    found = find_suspicious(ctx, heads, request, frames, settings, model_made)   # .ranked or .problem

Frames are `engine.preseg.FrameSource`s: `project_frames` (a project's frames, model-made pixels left out) or
`training_frames` (a dataset's or project's labelled frames). The engine modules load when first used (torch).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from engine.jobs import JobContext
from engine.model_cache import ModelCache


@dataclass
class TrainRequest:
    """Train a head for `model_dir` into `head_dir`; `owner` (the project or data trained from) decides whether
    an existing head there may be replaced (`replace` forces it)."""

    model_dir: str
    head_dir: str
    class_set: str = "full"
    settings: Any = None  # engine.preseg.PresegSettings; None = the defaults
    device: str = "auto"
    owner: Optional[str] = None
    replace: bool = False


@dataclass
class PresegRequest:
    """Which model and head propose, on which device; `area_gate` None = the head's; `flip_average` also
    classifies the mirrored frame."""

    model_dir: str
    head_dir: str
    device: str = "auto"
    area_gate: Optional[float] = None
    flip_average: bool = False


@dataclass
class Proposal:
    """`result`: engine.preseg.PresegResult (label in class-set IDs, uncertainty, warnings); `original`: the
    label in original CaDIS IDs."""

    result: Any
    original: np.ndarray


@dataclass
class Suspicious:
    """`ranked` (highest disagreement first), or `problem`: why no label could be checked (one line)."""

    ranked: list
    problem: Optional[str] = None


def settings(**kwargs):
    """engine.preseg.PresegSettings(**kwargs)."""
    from engine.preseg import PresegSettings

    return PresegSettings(**kwargs)


def head_stamp(head_dir: Optional[str | Path]) -> float:
    """Modification time of a head's weights (0 when there is none): retraining invalidates a loaded head."""
    try:
        return (Path(head_dir) / "preseg_head.safetensors").stat().st_mtime
    except (OSError, TypeError):
        return 0.0


class Presegmenters:
    """The loaded Presegmenter (model + head) of one front end, kept until the weights, head or device change;
    its own LRU keeps the features of the last `cache_size` frames."""

    def __init__(self, cache_size: int = 4) -> None:
        self.cache = ModelCache()
        self.cache_size = cache_size

    def clear(self) -> None:
        self.cache.clear()

    def peek(self):
        """The loaded Presegmenter (None before the first load); for tests and status lines."""
        return self.cache.peek()

    def use(self, ctx: JobContext, request: PresegRequest, fn: Callable):
        from engine.services.pipelines import weights_stamp

        key = (weights_stamp(request.model_dir), str(request.head_dir), head_stamp(request.head_dir), request.device,
               request.area_gate, request.flip_average)

        def load():
            from engine.device import pick_device
            from engine.preseg import Presegmenter

            ctx.report(0.0, "loading the model and head")
            pre = Presegmenter.open(request.model_dir, request.head_dir, device=str(pick_device(request.device)),
                                    cache_size=self.cache_size, area_gate=request.area_gate)
            pre.flip_average = bool(request.flip_average)
            return pre
        return self.cache.use(key, load, fn)


def train(ctx: JobContext, request: TrainRequest, frames: Sequence) -> Any:
    """Train and save the head; returns engine.preseg.PresegHead. HeadOwnershipError when `head_dir` holds a
    head of another owner and `replace` is off."""
    from engine.device import pick_device
    from engine.preseg import PresegSettings, train_preseg

    return train_preseg(request.model_dir, frames, request.class_set, request.head_dir,
                        request.settings or PresegSettings(), str(pick_device(request.device)), ctx, request.owner,
                        request.replace)


def propose(ctx: JobContext, heads: Presegmenters, request: PresegRequest, image: np.ndarray, key: str,
            prefetch: Optional[tuple[str, Callable[[], np.ndarray]]] = None) -> Proposal:
    """A proposed label for `image` (frame `key`: it names the video); then, when `prefetch` = (next key, load
    its image) is given, the next frame's features are computed into the cache."""
    from engine.labels import to_original_ids

    def use(pre):
        res = pre.presegment(image, key)
        ctx.report(0.8, "proposal ready")
        if prefetch is not None and prefetch[0] not in pre.cache:
            ctx.check()
            pre.prefetch(prefetch[1](), prefetch[0])  # the next frame opens instantly
        return res
    res = heads.use(ctx, request, use)
    return Proposal(res, to_original_ids(res.label, res.class_set))


def rank_label_next(ctx: JobContext, heads: Presegmenters, request: PresegRequest,
                    frames: Sequence[tuple[str, Callable[[], np.ndarray]]]) -> list:
    """Unlabelled frames `(key, load_image)` ranked by the head's uncertainty, most uncertain first."""
    from engine.preseg import rank_label_next as rank

    return heads.use(ctx, request, lambda pre: rank(pre, frames, ctx, total=len(frames)))


def find_suspicious(ctx: JobContext, heads: Presegmenters, request: PresegRequest, frames: Sequence,
                    preseg_settings=None, model_made: Optional[dict] = None) -> Suspicious:
    """Labelled frames ranked by disagreement with heads trained without them (k-fold); unreviewed model-made
    pixels count as suspicious. When no fold head can be trained, `problem` says so instead."""
    from engine.preseg import CannotRankError, rank_suspicious

    def use(pre):
        try:
            return Suspicious(rank_suspicious(pre.extractor, frames, pre.head.class_set, preseg_settings,
                                              folds=min(5, len(frames)), ctx=ctx, model_made=model_made))
        except CannotRankError as exc:
            return Suspicious([], str(exc))
    return heads.use(ctx, request, use)


# --- what a front end asks about heads and frames -------------------------------------------------------
def head_problem(head_dir: str | Path) -> Optional[str]:
    """None when `head_dir` holds a usable head (or none yet), else why it cannot be used (one line)."""
    from engine.models.folders import ModelFolderError
    from engine.preseg import load_head

    if not (Path(head_dir) / "preseg_head.json").is_file():
        return None
    try:
        load_head(head_dir)
    except (ModelFolderError, ValueError, OSError) as exc:
        return str(exc)
    return None


def project_frames(project, keys: Sequence[str]) -> list:
    """Lazy FrameSources of project frames (image + the person's label: model-made pixels left out)."""
    from engine.preseg.data import project_frames as frames

    return frames(project, list(keys))


def training_frames(data: str, frame_list: Optional[str] = None, problems: Optional[list] = None) -> list:
    """The labelled frames of a dataset (or the done frames of a project) as FrameSources."""
    from engine.preseg import training_frames as frames

    return frames(data, frame_list, problems)


def model_made_shares(project, keys: Sequence[str]) -> dict:
    from engine.preseg.data import model_made_shares as shares

    return shares(project, list(keys))


def belongs_to(head_dir: str | Path, owner: str) -> bool:
    from engine.preseg import belongs_to as belongs

    return belongs(head_dir, owner)


def few_frames_warning(frames: int, videos=None) -> Optional[str]:
    from engine.preseg import few_frames_warning as warning

    return warning(frames, videos)


def videos_of(keys) -> list:
    from engine.preseg.trust import videos_of as videos

    return videos(keys)


def own_head_dir(project_root: str | Path) -> Path:
    """A project's own head folder, <project>/preseg-head."""
    from engine.preseg.head_dir import PROJECT_HEAD_DIR

    return Path(project_root) / PROJECT_HEAD_DIR


def find_head_dir(preferred, project_root, model_dir) -> str:
    """The head to use: `preferred`, else the project's own, else MODEL_DIR/preseg; "" when none holds one."""
    from engine.preseg import find_head_dir as find

    return find(preferred, project_root, model_dir)
