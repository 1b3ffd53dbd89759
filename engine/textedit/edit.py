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
from engine.textedit.auto_region import propose_region
from engine.textedit.blend import latent_mask
from engine.textedit.framing import FRAMINGS, plan_for_model, split_mask
from engine.textedit.inversion import invert_and_regenerate
from engine.textedit.region import REGION_MODES, EditRegion, default_margin, make_region, parse_classes
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
    source_prompt: str = ""                 # invert: prompt the inversion is conditioned on; auto region:
    #                                         what the frame shows (DiffEdit's source prompt)
    region: str = "frame"                   # "frame" (whole frame), "only" (edit these classes), "keep"
    region_classes: tuple = ()              # class IDs or names: edited ("only") or protected ("keep")
    auto_region: bool = False               # add the classes the prompt's DiffEdit mask covers ("only")
    region_margin: Optional[int] = None     # feather in frame pixels; None = one latent cell

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
        if self.region not in REGION_MODES:
            raise ValueError(f"unknown region {self.region!r}: use {', '.join(REGION_MODES)}")
        classes = parse_classes(self.region_classes)
        if self.region == "frame" and (classes or self.auto_region):
            raise ValueError("classes or an auto region need a region mode (only / keep)")
        if self.auto_region and self.region != "only":
            raise ValueError("the prompt-derived region chooses classes to edit: it cannot be combined "
                             "with protected classes (--keep-classes)")
        if self.region != "frame" and not classes and not self.auto_region:
            raise ValueError("no class chosen: pick at least one class to "
                             + ("edit (--only-classes)" if self.region == "only" else "protect (--keep-classes)"))
        if self.region_margin is not None and self.region_margin < 0:
            raise ValueError(f"the region margin must be 0 or more pixels, got {self.region_margin}")
        strength = DEFAULT_STRENGTH[self.method] if self.strength is None else float(self.strength)
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be between 0 and 1, got {strength}")
        return _replace(self, strength=strength, alphas=tuple(float(a) for a in self.alphas), region_classes=classes)


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
    region: Optional[EditRegion] = None     # where the edit was allowed (None = whole frame)

    @property
    def region_label_miou(self) -> Optional[float]:
        """Label consistency inside the edited region only (None without region or pre-segmenter)."""
        return self.scores.get("region_label_miou")

    def record(self) -> dict:
        """JSON-ready provenance + scores (no pixels)."""
        rec = {"method": self.method, "alpha": self.alpha, "seed": self.seed, "psnr": _num(self.psnr),
               "ssim": _num(self.ssim), "label_miou": _num(self.label_miou), "settings": self.settings}
        if self.region is not None:
            rec.update(region_label_miou=_num(self.region_label_miou),
                       changed_inside=_num(self.scores.get("changed_inside")),
                       changed_outside=_num(self.scores.get("changed_outside")))
        return rec


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
    `source_prompt`, `region`, `region_classes`, `auto_region`, `region_margin`) are those of EditSettings;
    a region ("only" / "keep") needs `label` and leaves every pixel outside it byte-identical.
    `cache_dir` keeps Imagic's optimised embedding and tuned weights so a new α or seed costs one
    sampling run. `label` + `presegment` add a label-consistency mIoU.
    Progress stages: "proposing the region", "optimising embedding", "fine-tuning", "inverting", "sampling";
    `ctx.check()` runs between steps. A CUDA out-of-memory error becomes TextEditMemoryError with advice. Run one edit at a
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
    if s.region != "frame" and label is None:
        raise ValueError("an edit restricted to classes needs the frame's label (--label LABEL.png)")
    frame_size = (image.shape[1], image.shape[0])
    plan = plan_for_model(frame_size, s.resolution, s.framing, sd.native_size, sd.size_multiple)
    res = plan.model_size
    region = None
    if s.region != "frame":
        region = build_region(sd, image, label, prompt, s, plan, ctx.sub(0.0, 0.05))
        ctx = ctx.sub(0.05, 1.0)
    cell_masks = split_mask(plan, region.editable) if region is not None else None
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
            cells = None if cell_masks is None else latent_mask(cell_masks[k], tuple(latents0.shape[-2:]))
            if s.method == "sdedit":
                lat = sdedit(sd, latents0, cond, uncond, strength=s.strength, steps=s.steps, guidance=s.guidance,
                             seed=tile_seed, ctx=tctx, cell_mask=cells)
                outputs[0].append(decode(sd, lat))
            elif s.method == "invert":
                source = sd.encode_prompt(s.source_prompt)
                lat = invert_and_regenerate(sd, latents0, source, cond, uncond, steps=s.steps, strength=s.strength,
                                            guidance=s.guidance, ctx=tctx, cell_mask=cells, seed=tile_seed)
                outputs[0].append(decode(sd, lat))
            else:
                state = _imagic_state(sd, canvas, latents0, prompt, cond, s, tune_mode, tune_lr, cache_dir,
                                      tctx.sub(0.0, 0.6), stats)
                for j, alpha in enumerate(s.alphas):
                    actx = tctx.sub(0.6 + 0.4 * j / len(s.alphas), 0.6 + 0.4 * (j + 1) / len(s.alphas))
                    lat = imagic.sample(sd, state, cond, uncond, alpha, s.interp, s.steps, s.guidance, tile_seed,
                                        tuple(latents0.shape), actx, latents0=latents0, cell_mask=cells)
                    outputs[j].append(decode(sd, lat))
    base = _provenance(sd, prompt, s, res, plan.num_tiles, tune_mode, tune_lr, stats, region)
    results = []
    for j, canv in enumerate(outputs):
        edited = plan.merge(canv)
        if region is not None:
            edited = region.composite(image, edited)
        sc = score(image, edited, label, presegment, region=None if region is None else region.editable)
        alpha = s.alphas[j] if s.method == "imagic" else None
        results.append(EditResult(edited, alpha, s.seed, s.method, {**base, "alpha": alpha}, sc["psnr"], sc["ssim"],
                                  sc["label_miou"], sc, region))
    ctx.report(1.0, "done")
    return results


def propose_classes(sd: LoadedSD, image: np.ndarray, label: np.ndarray, prompt: str, settings: EditSettings,
                    ctx: Optional[JobContext] = None):
    """The prompt's DiffEdit proposal (engine.textedit.auto_region.AutoRegion) for this frame, framed as an
    edit with `settings` would be: what the dock shows before running, the classes `auto_region` adds."""
    s = settings.validated()
    if label is None or label.shape != image.shape[:2]:
        raise ValueError("proposing a region needs the frame's label, at the frame's size")
    plan = plan_for_model((image.shape[1], image.shape[0]), s.resolution, s.framing, sd.native_size,
                          sd.size_multiple)
    with oom_guard():
        return propose_region(sd, image, label, prompt, plan, source_prompt=s.source_prompt, seed=s.seed, ctx=ctx)


def build_region(sd: LoadedSD, image: np.ndarray, label: np.ndarray, prompt: str, s: EditSettings, plan,
                 ctx: Optional[JobContext] = None) -> EditRegion:
    """The EditRegion of validated settings `s` (with the prompt's DiffEdit classes when `auto_region`)."""
    margin = s.region_margin if s.region_margin is not None else default_margin(
        image.shape[1], plan.scaled_size[0], sd.vae_scale)
    classes, auto = tuple(s.region_classes), None
    if s.auto_region:
        proposal = propose_region(sd, image, label, prompt, plan, source_prompt=s.source_prompt, seed=s.seed,
                                  ctx=ctx)
        if not proposal.classes and not classes:
            raise ValueError("the region the prompt proposes covers no class of this frame by half; "
                             "choose classes with --only-classes")
        classes, auto = tuple(sorted(set(classes) | set(proposal.classes))), proposal.record()
    return make_region(label, s.region, classes, margin, auto)


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
                stats: dict, region: Optional[EditRegion] = None) -> dict:
    d = asdict(s)
    d.pop("alphas")
    for k in ("region", "region_classes", "auto_region", "region_margin"):
        d.pop(k)
    d["region"] = None if region is None else region.record()
    if s.method != "imagic":
        for k in ("interp", "opt_steps", "opt_lr", "tune_steps", "tune_lr", "tune", "lora_rank", "train_seed"):
            d.pop(k)
    else:
        d.pop("strength")
        d.update(tune=tune_mode, tune_lr=tune_lr)
    if s.method != "invert" and not s.auto_region:
        d.pop("source_prompt")
    d.update(prompt=prompt, resolution=f"{res[0]}x{res[1]}", tiles=tiles, model=sd.folder.name,
             model_fingerprint=sd.fingerprint, device=str(sd.device), **stats)
    return d
