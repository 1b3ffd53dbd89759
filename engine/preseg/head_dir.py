"""A trained pre-segmentation head on disk: `preseg_head.safetensors` + `preseg_head.json`.

The JSON records the class set, the feature settings (blocks, timesteps, noise seed, working size), the
ensemble's shape and the fingerprint of the diffusion model whose features it was trained on; a head
refuses features that carry another fingerprint or another feature layout. The default place for a head
is a `preseg/` folder next to (inside) the diffusion model's folder.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save

from engine.atomic import atomic_write_bytes, atomic_write_text
from engine.models.config_checks import check_head_config, read_json_object
from engine.models.folders import MissingModelFileError, ModelFolderError, check_weights_against
from engine.taxonomy import ClassSet, get_class_set

from .conv_head import ConvEnsemble
from .ensemble import PixelEnsemble
from .features import FeatureConfig, Features
from .presence import DEFAULT_AREA_GATE
from .shift import ShiftModel

WEIGHTS = "preseg_head.safetensors"
CONFIG = "preseg_head.json"
FORMAT = "cadis-preseg-head/2"
#: formats this version reads: /1 heads are pixel-MLP ensembles without shift statistics
READABLE_FORMATS = ("cadis-preseg-head/1", FORMAT)


class ModelMismatchError(ValueError):
    """Features come from another diffusion model (or another feature layout) than the head was trained on."""


@dataclass
class PresegHead:
    """A pixel ensemble plus everything needed to use it safely.

    `min_area_fractions[k]`: the smallest share of a frame class k covered in the training labels (None:
    never present); with `area_gate` it decides which classes are too small to propose
    (`engine.preseg.presence`). Heads saved before this existed have None there and are not gated.
    `shift`: the training frames' feature statistics (`engine.preseg.shift`); None for heads saved before
    it existed (they report no shift score).
    """

    ensemble: PixelEnsemble | ConvEnsemble
    class_set: ClassSet
    feature_config: FeatureConfig
    model_fingerprint: str
    meta: dict = field(default_factory=dict)
    min_area_fractions: list[float | None] | None = None
    area_gate: float = DEFAULT_AREA_GATE
    shift: ShiftModel | None = None

    @property
    def kind(self) -> str:
        return self.ensemble.kind

    def check_features(self, features: Features) -> None:
        """Raise ModelMismatchError unless `features` were made the way this head was trained."""
        if features.fingerprint != self.model_fingerprint:
            raise ModelMismatchError(
                f"these features come from diffusion model {features.fingerprint[:12]}, but the head was "
                f"trained on model {self.model_fingerprint[:12]}: retrain the head for this model")
        mine, theirs = self.feature_config, features.config
        if ((tuple(mine.timesteps), mine.blocks, mine.seed, mine.include_rgb, mine.image_filters)
                != (tuple(theirs.timesteps), theirs.blocks, theirs.seed, theirs.include_rgb, theirs.image_filters)):
            raise ModelMismatchError(
                f"feature settings differ from the head's (timesteps {list(mine.timesteps)}, blocks "
                f"{list(mine.blocks or [])}, seed {mine.seed}, colour {'on' if mine.include_rgb else 'off'}, "
                f"image filters {'on' if mine.image_filters else 'off'}): extract features with the head's settings")
        if features.channels != self.ensemble.in_channels:
            raise ModelMismatchError(
                f"features have {features.channels} channels, the head expects {self.ensemble.in_channels}")

    def predict(self, features: Features) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (probabilities (K, H, W), Jensen-Shannon uncertainty (H, W)) at the features' resolution."""
        self.check_features(features)
        return self.ensemble.predict_map(features.tensor)


def default_head_dir(model_dir: str | Path) -> Path:
    """Where a head for this diffusion model lives by default: MODEL_DIR/preseg."""
    return Path(model_dir) / "preseg"


PROJECT_HEAD_DIR = "preseg-head"  # a project's own head: <project>/preseg-head


def find_head_dir(preferred: str | Path | None, project_root: str | Path | None, model_dir: str | Path | None) -> str:
    """The head to score with: `preferred` (the user's choice), else `preseg-head` in the project, else
    MODEL_DIR/preseg; "" when none of them holds a head."""
    candidates = [str(preferred or "")]
    if project_root is not None:
        candidates.append(str(Path(project_root) / PROJECT_HEAD_DIR))
    if model_dir:
        candidates.append(str(default_head_dir(model_dir)))
    for c in candidates:
        if c and (Path(c) / CONFIG).is_file():
            return c
    return ""


def save_head(head: PresegHead, head_dir: str | Path) -> Path:
    """Write the head atomically (weights first, then the JSON that points at them)."""
    head_dir = Path(head_dir)
    head_dir.mkdir(parents=True, exist_ok=True)
    ens = head.ensemble
    state = {k: v.detach().contiguous().cpu() for k, v in ens.state_dict().items()}
    if head.shift is not None:
        state.update({k: v.detach().contiguous().cpu() for k, v in head.shift.tensors().items()})
    atomic_write_bytes(head_dir / WEIGHTS, save(state))
    cfg = {
        "format": FORMAT,
        "model_fingerprint": head.model_fingerprint,
        "class_set": head.class_set.key,
        "class_names": list(head.class_set.names),
        "label_ids": "class-set IDs (equal to the original CaDIS IDs for the full class set)",
        "features": head.feature_config.to_dict(),
        "class_min_area": head.min_area_fractions,
        "area_gate": head.area_gate,
        "ensemble": {"kind": ens.kind, "in_channels": ens.in_channels, "num_classes": ens.num_classes,
                     "members": ens.num_members,
                     "hidden": list(ens.hidden) if isinstance(ens.hidden, tuple) else ens.hidden},
        "shift": None if head.shift is None else head.shift.to_dict(),
        "meta": head.meta,
    }
    atomic_write_text(head_dir / CONFIG, json.dumps(cfg, indent=2))
    return head_dir


def load_head(head_dir: str | Path) -> PresegHead:
    """Read a head written by `save_head`; clear errors for missing or foreign folders."""
    head_dir = Path(head_dir)
    cfg_path, w_path = head_dir / CONFIG, head_dir / WEIGHTS
    if not os.path.lexists(cfg_path) or not os.path.lexists(w_path):
        raise MissingModelFileError(f"{head_dir}: not a pre-segmentation head (needs {CONFIG} and {WEIGHTS}); "
                                "train one with `cadis train-preseg`")
    cfg = read_json_object(cfg_path, ModelFolderError, "head description")  # regular file, sane JSON
    if not isinstance(cfg, dict) or cfg.get("format") not in READABLE_FORMATS:
        found = cfg.get("format") if isinstance(cfg, dict) else type(cfg).__name__
        raise ModelFolderError(f"{cfg_path}: unknown head format {found!r} (this version reads "
                         f"{', '.join(READABLE_FORMATS)}); retrain the head with `cadis train-preseg`")
    e = cfg.get("ensemble") if isinstance(cfg.get("ensemble"), dict) else {}
    kind = e.get("kind", "pixel-mlp")
    if kind not in ("pixel-mlp", "conv"):
        raise ModelFolderError(f"{cfg_path}: unknown head kind {kind!r} (pixel-mlp or conv)")
    # every field within bounds (a conv head's `hidden` is one width), then the weights' shapes
    checked = dict(cfg, ensemble=dict(e, hidden=[e["hidden"]])) if kind == "conv" and "hidden" in e else cfg
    check_head_config(checked, cfg_path, ModelFolderError)

    def build():
        if kind == "conv":
            return ConvEnsemble(int(e["in_channels"]), int(e["num_classes"]), int(e["members"]), int(e["hidden"]))
        return PixelEnsemble(int(e["in_channels"]), int(e["num_classes"]), int(e["members"]),
                             tuple(int(h) for h in e["hidden"]))

    check_weights_against(build, w_path, cfg_path, ModelFolderError, ("input_mean", "input_std"),
                          ignore=lambda k: k.startswith("shift."))
    try:
        ens = build()
        shift_cfg = cfg.get("shift")
        features = FeatureConfig.from_dict(cfg["features"])
        class_set = get_class_set(cfg["class_set"])
        fingerprint = str(cfg["model_fingerprint"])
        areas = cfg.get("class_min_area")
        if areas is not None:
            areas = [None if a is None else float(a) for a in areas]
            if len(areas) != class_set.num_classes:
                raise ModelFolderError(f"class_min_area has {len(areas)} entries for {class_set.num_classes} classes")
        gate = float(cfg.get("area_gate", DEFAULT_AREA_GATE))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFolderError(f"{cfg_path}: incomplete or invalid head description ({type(exc).__name__}: {exc}); "
                         "retrain the head with `cadis train-preseg`") from None
    try:
        state = load_file(str(w_path))
    except Exception as exc:  # safetensors raises its own SafetensorError for anything that is not safetensors
        raise ModelFolderError(f"{w_path}: not a readable safetensors file ({exc}); only safetensors weights are "
                         "accepted") from None
    shift_state = {k: state.pop(k) for k in list(state) if k.startswith("shift.")}
    shift = None
    if shift_cfg is not None:
        try:
            if not isinstance(shift_cfg, dict):
                raise TypeError(f"'shift' should be an object, found {type(shift_cfg).__name__}")
            shift = ShiftModel.from_parts(shift_cfg, shift_state, ens.in_channels)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as exc:
            raise ModelFolderError(f"{cfg_path}: broken shift statistics ({exc}); retrain the head") from None
    for name, fill in (("input_mean", 0.0), ("input_std", 1.0)):  # heads saved before standardisation
        state.setdefault(name, torch.full((ens.in_channels,), fill))
    try:
        ens.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelFolderError(f"{w_path}: weights do not match {CONFIG} ({str(exc).splitlines()[0]})") from None
    ens.eval()
    return PresegHead(ens, class_set, features, fingerprint, cfg.get("meta", {}), areas, gate, shift)
