"""`edit_frame`: one entry point for the three text-guided edit methods on a real frame.

The frame is put at the model's resolution (engine.textedit.framing: padded or tiled), edited with
SDEdit, Imagic or DDIM inversion, brought back to its original size and scored (PSNR / SSIM against the
original, and label consistency when a pre-segmenter and the label are given). The label itself is never
changed: the caller stores (edited image, original label) as a new synthetic pair, with `settings` as its
provenance.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Optional, Sequence

import numpy as np

from engine.jobs import JobContext
from engine.textedit import cache as tcache
from engine.textedit import imagic
from engine.textedit.diffusion import decode, encode, oom_guard
from engine.textedit.embeddings import INTERPOLATIONS
from engine.textedit.framing import FRAMINGS, check_resolution, default_resolution, plan_framing
from engine.textedit.inversion import invert_and_regenerate
from engine.textedit.scores import Presegment, score
from engine.textedit.sd_loader import LoadedSD
from engine.textedit.sdedit import sdedit

METHODS = ("sdedit", "imagic", "invert")
DEFAULT_STRENGTH = {"sdedit": 0.5, "invert": 1.0, "imagic": 1.0}
DEFAULT_TUNE_LR = {"lora": 1e-4, "full": 2e-6}


@dataclass(frozen=True)
class EditSettings:
    """Every knob of an edit (recorded as provenance with each result)."""

    method: str = "sdedit"
    strength: Optional[float] = None        # sdedit / invert; None = the method's default
    alphas: tuple[float, ...] = (1.5,)      # imagic: α values of the sweep
    interp: str = "lerp"                    # imagic: "lerp" or "slerp"
    steps: int = 50                         # DDIM steps of sampling / inversion
    guidance: float = 3.0                   # classifier-free guidance scale
    seed: int = 0                           # noise seed of sampling (tile k uses seed + 7919·k)
    opt_steps: int = 100                    # imagic: embedding optimisation steps
    opt_lr: float = 1e-3
    tune_steps: int = 200                   # imagic: UNet fine-tuning steps (0 = none)
    tune_lr: Optional[float] = None         # None = 1e-4 for LoRA, 2e-6 for full
    tune: str = "auto"                      # "auto" (LoRA if peft is installed), "lora" or "full"
    lora_rank: int = 4
    train_seed: int = 0                     # imagic: seed of the optimisation / fine-tuning noise
    resolution: Optional[tuple[int, int]] = None  # (W, H); None = model width, frame aspect
    framing: str = "pad"                    # "pad" or "tile"
    source_prompt: str = ""                 # invert: prompt the inversion is conditioned on

    def validated(self) -> "EditSettings":
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}: use {', '.join(METHODS)}")
        if self.interp not in INTERPOLATIONS:
            raise ValueError(f"unknown interpolation {self.interp!r}: use lerp or slerp")
        if self.framing not in FRAMINGS:
            raise ValueError(f"unknown framing {self.framing!r}: use pad or tile")
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.guidance < 0:
            raise ValueError(f"guidance must be 0 or more, got {self.guidance}")
        if self.opt_steps < 0 or self.tune_steps < 0:
            raise ValueError("opt_steps and tune_steps must be 0 or more")
        if not self.alphas:
            raise ValueError("give at least one alpha")
        if self.method != "imagic" and len(self.alphas) > 1:
            raise ValueError(f"alpha sweeps apply to the imagic method only (method is {self.method}); "
                             "give one alpha or use --method imagic")
        strength = DEFAULT_STRENGTH[self.method] if self.strength is None else float(self.strength)
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be between 0 and 1, got {strength}")
        return _replace(self, strength=strength, alphas=tuple(float(a) for a in self.alphas))


def _replace(s: EditSettings, **kw) -> EditSettings:
    from dataclasses import replace

    return replace(s, **kw)


@dataclass
class EditResult:
    """One edited frame at the ORIGINAL size with its provenance and scores."""

    image: np.ndarray
    alpha: Optional[float]
    seed: int
    method: str
    settings: dict
    psnr: float
    ssim: float
    label_miou: Optional[float] = None
    scores: dict = field(default_factory=dict)

    def record(self) -> dict:
        """JSON-ready provenance + scores (no pixels)."""
        return {"method": self.method, "alpha": self.alpha, "seed": self.seed, "psnr": _num(self.psnr),
                "ssim": _num(self.ssim), "label_miou": _num(self.label_miou), "settings": self.settings}


def _num(v):
    return None if v is None or not np.isfinite(v) else round(float(v), 6)


def edit_frame(sd: LoadedSD, image: np.ndarray, prompt: str, method: str = "sdedit", *,
               strength: Optional[float] = None, alphas: Sequence[float] = (1.5,), interp: str = "lerp",
               steps: int = 50, guidance: float = 3.0, seed: int = 0, opt_steps: int = 100, tune_steps: int = 200,
               resolution: Optional[tuple[int, int]] = None, cache_dir: Optional[str | os.PathLike] = None,
               ctx: Optional[JobContext] = None, label: Optional[np.ndarray] = None,
               presegment: Optional[Presegment] = None, **more) -> list[EditResult]:
    """Edit `image` (HxWx3 uint8 RGB) towards `prompt`; one EditResult per α (imagic) or one (others).

    Extra keyword settings (`opt_lr`, `tune_lr`, `tune`, `lora_rank`, `train_seed`, `framing`,
    `source_prompt`) are those of EditSettings. `cache_dir` keeps Imagic's optimised embedding and tuned
    weights so a new α or seed costs one sampling run. `label` + `presegment` add a label-consistency mIoU.
    Progress stages: "optimising embedding", "fine-tuning", "inverting", "sampling"; `ctx.check()` runs
    between steps. A CUDA out-of-memory error becomes TextEditMemoryError with advice. Run one edit at a
    time per LoadedSD (Imagic swaps tuned weights into its UNet while sampling).
    """
    settings = EditSettings(method=method, strength=strength, alphas=tuple(alphas), interp=interp, steps=steps,
                            guidance=guidance, seed=seed, opt_steps=opt_steps, tune_steps=tune_steps,
                            resolution=tuple(resolution) if resolution else None, **more).validated()
    return run_edit(sd, image, prompt, settings, cache_dir=cache_dir, ctx=ctx, label=label, presegment=presegment)


def run_edit(sd: LoadedSD, image: np.ndarray, prompt: str, settings: EditSettings, *,
             cache_dir: Optional[str | os.PathLike] = None, ctx: Optional[JobContext] = None,
             label: Optional[np.ndarray] = None, presegment: Optional[Presegment] = None) -> list[EditResult]:
    """`edit_frame` with the settings already gathered in an EditSettings."""
    s = settings.validated()
    ctx = ctx or JobContext()
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 RGB frame, got {getattr(image, 'dtype', type(image))} "
                         f"{getattr(image, 'shape', '')}")
    if label is not None and label.shape != image.shape[:2]:
        raise ValueError(f"label is {label.shape} but the frame is {image.shape[:2]}")
    frame_size = (image.shape[1], image.shape[0])
    res = s.resolution or default_resolution(frame_size, sd.native_size, sd.size_multiple)
    res = check_resolution(res, sd.size_multiple)
    plan = plan_framing(frame_size, res, s.framing)
    tune_mode = imagic.resolve_tune_mode(s.tune) if s.method == "imagic" and s.tune_steps > 0 else "none"
    tune_lr = s.tune_lr if s.tune_lr is not None else DEFAULT_TUNE_LR.get(tune_mode, 0.0)
    canvases = plan.split(image)
    outputs: list[list[np.ndarray]] = [[] for _ in (s.alphas if s.method == "imagic" else (None,))]
    stats = {"cache": "off" if cache_dir is None else "hit", "optimiser_steps_run": 0, "fine_tuning_steps_run": 0}
    with oom_guard():
        cond = sd.encode_prompt(prompt)
        uncond = sd.encode_prompt("")
        for k, canvas in enumerate(canvases):
            tctx = ctx.sub(k / len(canvases), (k + 1) / len(canvases))
            tile_seed = s.seed + 7919 * k
            latents0 = encode(sd, canvas)
            if s.method == "sdedit":
                lat = sdedit(sd, latents0, cond, uncond, strength=s.strength, steps=s.steps, guidance=s.guidance,
                             seed=tile_seed, ctx=tctx)
                outputs[0].append(decode(sd, lat))
            elif s.method == "invert":
                source = sd.encode_prompt(s.source_prompt)
                lat = invert_and_regenerate(sd, latents0, source, cond, uncond, steps=s.steps, strength=s.strength,
                                            guidance=s.guidance, ctx=tctx)
                outputs[0].append(decode(sd, lat))
            else:
                state = _imagic_state(sd, canvas, latents0, prompt, cond, s, tune_mode, tune_lr, cache_dir,
                                      tctx.sub(0.0, 0.6), stats)
                for j, alpha in enumerate(s.alphas):
                    actx = tctx.sub(0.6 + 0.4 * j / len(s.alphas), 0.6 + 0.4 * (j + 1) / len(s.alphas))
                    lat = imagic.sample(sd, state, cond, uncond, alpha, s.interp, s.steps, s.guidance, tile_seed,
                                        tuple(latents0.shape), actx)
                    outputs[j].append(decode(sd, lat))
    base = _provenance(sd, prompt, s, res, plan.num_tiles, tune_mode, tune_lr, stats)
    results = []
    for j, canv in enumerate(outputs):
        edited = plan.merge(canv)
        sc = score(image, edited, label, presegment)
        alpha = s.alphas[j] if s.method == "imagic" else None
        results.append(EditResult(edited, alpha, s.seed, s.method, {**base, "alpha": alpha}, sc["psnr"], sc["ssim"],
                                  sc["label_miou"], sc))
    ctx.report(1.0, "done")
    return results


def _imagic_state(sd, canvas, latents0, prompt, cond, s: EditSettings, tune_mode, tune_lr, cache_dir, ctx,
                  stats) -> imagic.ImagicState:
    """Load steps 1+2 from the cache or run them (and store them)."""
    key_settings = {"opt_steps": s.opt_steps, "opt_lr": s.opt_lr, "tune_steps": s.tune_steps, "tune_lr": tune_lr,
                    "tune": tune_mode, "lora_rank": s.lora_rank, "train_seed": s.train_seed,
                    "dtype": str(sd.dtype)}
    key = tcache.cache_key(sd.fingerprint, canvas, prompt, key_settings)
    state = tcache.load_state(cache_dir, key)
    if state is not None:
        ctx.report(1.0, "optimised embedding and fine-tuned weights loaded from the cache")
        return state
    if cache_dir is not None:
        stats["cache"] = "miss"
    state = imagic.prepare(sd, latents0, cond, opt_steps=s.opt_steps, opt_lr=s.opt_lr, tune_steps=s.tune_steps,
                           tune_lr=tune_lr, tune_mode=tune_mode, lora_rank=s.lora_rank, seed=s.train_seed, ctx=ctx)
    stats["optimiser_steps_run"] += state.opt_steps_run
    stats["fine_tuning_steps_run"] += state.tune_steps_run
    if cache_dir is not None:
        ctx.check()  # a cancel arriving now still leaves no cache entry
        tcache.save_state(cache_dir, key, state, {"prompt": prompt, "model": sd.fingerprint, **key_settings})
    return state


def _provenance(sd: LoadedSD, prompt: str, s: EditSettings, res, tiles: int, tune_mode: str, tune_lr: float,
                stats: dict) -> dict:
    d = asdict(s)
    d.pop("alphas")
    if s.method != "imagic":
        for k in ("interp", "opt_steps", "opt_lr", "tune_steps", "tune_lr", "tune", "lora_rank", "train_seed"):
            d.pop(k)
    else:
        d.pop("strength")
        d.update(tune=tune_mode, tune_lr=tune_lr)
    if s.method != "invert":
        d.pop("source_prompt")
    d.update(prompt=prompt, resolution=f"{res[0]}x{res[1]}", tiles=tiles, model=sd.folder.name,
             model_fingerprint=sd.fingerprint, device=str(sd.device), **stats)
    return d
