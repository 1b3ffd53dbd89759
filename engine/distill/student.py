"""`ConsistencyStudent`: a few-step student of a synthesis model, stored in the model folder's `student/`.

The student is a copy of the teacher's UNet (whatever class the model folder holds, used only through its
public `forward(sample, timestep, segmap=..., modulation=...)`) plus a guidance embedding: the guidance
scale w is embedded (sinusoidal features, then a small MLP whose last layer starts at zero) and added to
the UNet's time embedding, so one forward gives what the teacher needs two (conditional and unconditional)
for. Its output is in the teacher's prediction type; `LCMScheduler` applies the consistency boundary
condition (c_skip, c_out) when sampling, as the distillation does when training.

Folder `MODEL_DIR/student/` (safetensors + JSON only):
    config.json                            the student config (teacher UNet class + config, embedding size)
    diffusion_pytorch_model.safetensors    the weights (UNet and guidance embedding)
    scheduler_config.json                  the LCMScheduler config to sample it with
    student_card.json                      teacher weights hash (a retrained teacher makes it stale), steps, ...
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Optional, Union

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import Timesteps
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

STUDENT_DIR = "student"
STUDENT_CARD = "student_card.json"
GUIDANCE_SCALE_FEATURES = 100.0  # w in [1, 3] -> 100..300, a range the sinusoidal features resolve well
_PENDING = threading.local()     # per thread: id(time embedding module) -> guidance embedding of the running call


def _add_guidance(module, _inputs, temb):
    """Forward hook on the UNet's time embedding: adds the guidance embedding of the call running in this
    thread (a module-level function, so copies of the model share it and concurrent calls stay apart)."""
    g = getattr(_PENDING, "emb", {}).get(id(module))
    return temb if g is None else temb + g.to(temb.dtype)


def _unet_class(name: str):
    import engine.models as models

    cls = getattr(models, name, None)
    if cls is None or not isinstance(cls, type) or not issubclass(cls, ModelMixin):
        raise ValueError(f"the student's UNet class {name!r} is not a model class of engine.models")
    return cls


def _embedding_width(unet: nn.Module) -> int:
    emb = getattr(unet, "time_embedding", None)
    if emb is None:
        raise ValueError(f"{type(unet).__name__} has no `time_embedding`; a consistency student needs a UNet "
                         "with a diffusers-style time embedding to add the guidance embedding to")
    last = getattr(emb, "linear_2", None)
    if isinstance(last, nn.Linear):
        return int(last.out_features)
    linears = [m for m in emb.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"cannot tell the width of {type(unet).__name__}.time_embedding")
    return int(linears[-1].out_features)


class ConsistencyStudent(ModelMixin, ConfigMixin):
    """Teacher-architecture UNet + guidance-scale embedding; `forward(x, t, guidance=w, segmap=/modulation=)`."""

    config_name = "config.json"

    @register_to_config
    def __init__(self, unet_class: str = "SpadeUNet2DModel", unet_config: Optional[dict] = None,
                 guidance_features: int = 64, guidance_min: float = 1.0, guidance_max: float = 3.0,
                 default_guidance: float = 2.0, default_steps: int = 2, original_inference_steps: int = 50):
        super().__init__()
        cfg = {k: v for k, v in (unet_config or {}).items() if not str(k).startswith("_")}
        self.unet = _unet_class(unet_class)(**cfg)
        width = _embedding_width(self.unet)
        self.guidance_proj = Timesteps(guidance_features, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.guidance_embedding = nn.Sequential(nn.Linear(guidance_features, width), nn.SiLU(), nn.Linear(width, width))
        nn.init.zeros_(self.guidance_embedding[2].weight)  # starts as the teacher: no guidance term yet
        nn.init.zeros_(self.guidance_embedding[2].bias)
        self.unet.time_embedding.register_forward_hook(_add_guidance)

    @classmethod
    def from_teacher(cls, teacher: ModelMixin, **kwargs) -> "ConsistencyStudent":
        """A student whose UNet starts as a copy of `teacher`'s weights."""
        unet_config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in dict(teacher.config).items()
                       if not str(k).startswith("_")}
        student = cls(unet_class=type(teacher).__name__, unet_config=unet_config, **kwargs)
        student.unet.load_state_dict(teacher.state_dict())
        return student.to(next(teacher.parameters()).device)

    @property
    def sample_size(self) -> tuple[int, int]:
        h, w = self.unet.config.sample_size
        return int(h), int(w)

    def embed_guidance(self, guidance: Union[float, torch.Tensor], batch: int, like: torch.Tensor) -> torch.Tensor:
        w = guidance if torch.is_tensor(guidance) else torch.tensor([float(guidance)])
        w = w.to(like.device, torch.float32).reshape(-1)
        if w.numel() == 1:
            w = w.expand(batch)
        feats = self.guidance_proj(w * GUIDANCE_SCALE_FEATURES)
        dtype = self.guidance_embedding[0].weight.dtype
        return self.guidance_embedding(feats.to(dtype))

    def forward(self, sample: torch.Tensor, timestep, guidance: Union[float, torch.Tensor] = 2.0, **cond) -> torch.Tensor:
        """The UNet's prediction for guidance scale `guidance` (a float or one per sample); `cond` is what the
        UNet takes (`segmap=` or `modulation=`)."""
        pending = _PENDING.__dict__.setdefault("emb", {})
        key = id(self.unet.time_embedding)
        pending[key] = self.embed_guidance(guidance, sample.shape[0], sample)
        try:
            return self.unet(sample, timestep, **cond)
        finally:
            pending.pop(key, None)

    def precompute_modulation(self, *args, **kwargs):
        return self.unet.precompute_modulation(*args, **kwargs)


# ------------------------------------------------------------------------------------------- folder
def student_dir(model_dir: Union[str, os.PathLike]) -> Path:
    return Path(model_dir) / STUDENT_DIR


def lcm_scheduler_config(teacher_scheduler: dict, original_inference_steps: int) -> dict:
    """The LCMScheduler config on the teacher's noise schedule (same betas, prediction type, clipping)."""
    keep = ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "prediction_type", "clip_sample")
    cfg = {k: v for k, v in teacher_scheduler.items() if k in keep}
    cfg.update(original_inference_steps=int(original_inference_steps), timestep_spacing="trailing",
               set_alpha_to_one=True, _class_name="LCMScheduler")
    return cfg


def make_lcm_scheduler(config: dict):
    from diffusers import LCMScheduler

    return LCMScheduler(**{k: v for k, v in config.items() if not k.startswith("_")})


def save_student(student: ConsistencyStudent, model_dir: Union[str, os.PathLike], teacher_scheduler: dict,
                 card: dict) -> Path:
    """Write `student` into MODEL_DIR/student/ (safetensors + JSON) and return that folder."""
    from engine.atomic import atomic_write_text
    from engine.models.model_dir import file_sha256

    out = student_dir(model_dir)
    tmp = out.with_name(STUDENT_DIR + ".partial")
    student.save_pretrained(str(tmp), safe_serialization=True)
    sched = lcm_scheduler_config(teacher_scheduler, student.config.original_inference_steps)
    atomic_write_text(tmp / "scheduler_config.json", json.dumps(sched, indent=2))
    full = dict(card, weights_sha256=file_sha256(tmp / "diffusion_pytorch_model.safetensors"))
    atomic_write_text(tmp / STUDENT_CARD, json.dumps(full, indent=2))
    out.mkdir(parents=True, exist_ok=True)
    for p in tmp.iterdir():  # replace file by file (os.replace is atomic); a training/ subfolder stays
        os.replace(p, out / p.name)
    tmp.rmdir()
    return out


def read_student_card(model_dir: Union[str, os.PathLike]) -> dict:
    """The student's card ({} when absent or unreadable: a FIFO, a device or a huge file is never read)."""
    from engine.files import UnreadableFileError, read_json

    try:
        return read_json(student_dir(model_dir) / STUDENT_CARD, what="student card", expect=dict)
    except UnreadableFileError:
        return {}


def teacher_sha256(model_dir: Union[str, os.PathLike]) -> str:
    """SHA-256 of the teacher UNet's weights: MODEL_DIR/unet/ in a pipeline folder, else MODEL_DIR itself."""
    from engine.models.model_dir import WEIGHTS_NAME, file_sha256

    d = Path(model_dir)
    return file_sha256((d / "unet" if (d / "model_index.json").is_file() else d) / WEIGHTS_NAME)


def student_problem(model_dir: Union[str, os.PathLike]) -> Optional[str]:
    """None when MODEL_DIR/student holds a student of the folder's current weights, else why not."""
    from engine.models.model_dir import _check_safetensors

    d = student_dir(model_dir)
    weights = d / "diffusion_pytorch_model.safetensors"
    if not weights.is_file() or not (d / "config.json").is_file():
        return f"{Path(model_dir).name} has no distilled student (make one with `cadis distill --model {model_dir}`)"
    try:
        _check_safetensors(weights)
    except ValueError as exc:
        return str(exc)
    card = read_student_card(model_dir)
    try:
        teacher_sha = teacher_sha256(model_dir)
    except (OSError, ValueError) as exc:  # missing, unreadable, or not a regular file
        return f"the teacher's weights cannot be read ({exc})"
    if card.get("teacher_weights_sha256") != teacher_sha:
        return "the distilled student was made from other weights of this model; distill it again"
    return None


def load_student(model_dir: Union[str, os.PathLike], device: Union[str, torch.device] = "auto"):
    """Load MODEL_DIR/student -> (student in eval mode, LCMScheduler config, student card). Safetensors only."""
    from engine.device import pick_device
    from engine.models.folders import ModelFolderError, from_pretrained, pretrained_kwargs, refuse_missing_weights

    d = student_dir(model_dir)
    weights = d / "diffusion_pytorch_model.safetensors"
    refuse_missing_weights(weights, ModelFolderError, f"make them with `cadis distill --model {model_dir}`")
    sched = check_student_folder(d, weights)  # bounded files, config fields, shapes and dtypes before building
    student = from_pretrained(lambda: ConsistencyStudent.from_pretrained(str(d), low_cpu_mem_usage=False,
                                                                         **pretrained_kwargs()),
                              d, ModelFolderError, "student", f"distill it again with `cadis distill --model {model_dir}`")
    dev = pick_device(device) if isinstance(device, str) else device
    return student.to(dev).eval(), sched, read_student_card(model_dir)


def check_student_folder(d: Path, weights: Path) -> dict:
    """Hold MODEL_DIR/student against the teacher's bounds before anything is built: its config.json (the
    UNet config within the synthesis model's bounds), its scheduler (the teacher's schedule bounds) and the
    weights' shapes and dtypes (checked on the meta device). Returns the scheduler config."""
    from engine.models.config_checks import (
        check_fields, check_scheduler_config, check_synthesis_config, choice, integer, number, read_json_object,
    )
    from engine.models.folders import ModelFolderError, check_weights_against

    cfg_path = d / "config.json"
    cfg = read_json_object(cfg_path, ModelFolderError, "student config")
    spec = {"unet_class": choice("SpadeUNet2DModel"), "guidance_features": integer(2, 1024),
            "guidance_min": number(0.0, 100.0), "guidance_max": number(0.0, 100.0),
            "default_guidance": number(0.0, 100.0), "default_steps": integer(1, 50),
            "original_inference_steps": integer(1, 1000)}
    check_fields(cfg, spec, cfg_path, ModelFolderError)
    unet_cfg = cfg.get("unet_config")
    if not isinstance(unet_cfg, dict):
        raise ModelFolderError(f"{cfg_path}: field 'unet_config' is missing or not an object; distill it again")
    check_synthesis_config(unet_cfg, cfg_path, ModelFolderError)
    sched_path = d / "scheduler_config.json"
    sched = read_json_object(sched_path, ModelFolderError, "student scheduler config")
    check_scheduler_config({k: v for k, v in sched.items() if not k.startswith("_")}, sched_path, ModelFolderError)
    check_fields(sched, {"original_inference_steps": integer(1, 1000)}, sched_path, ModelFolderError)
    kwargs = {k: v for k, v in cfg.items() if k in spec or k == "unet_config"}
    check_weights_against(lambda: ConsistencyStudent(**kwargs), weights, cfg_path, ModelFolderError)
    return sched
