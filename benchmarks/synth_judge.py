"""The judge segmenter of the synthesis benchmark, and the phantom frames it is trained, tuned and measured on.

The judge is a SmallUNet (engine.baselines.small_unet) trained on REAL phantom frames at the benchmark's
resolution: random native-scale crops (256x256 by default) of the frames resized to that size, run fully
convolutionally on whole frames. Class-weighted cross-entropy (weight ~ frequency^-power, so thin classes
such as retractors and instruments count), four resolution levels (a receptive field that sees the iris ring
and the pupil at 960x540), more frames than the synthesis model saw (the phantom is free to render).

Three disjoint sets of phantom frames:
- training: the starter recipe's train videos (seed 0) plus `EXTRA_SEED` videos rendered for the judge;
- tuning draw: the starter recipe's val/test videos (seed 0), where the judge's settings were chosen;
- held-out draws: other phantom seeds (`HELD_SEEDS`), never looked at while tuning; what the benchmark reports.

Trained judges are cached under build/judges/ (safetensors + JSON, keyed by their settings and size).

    python -m benchmarks.synth_judge --size 960x540 [--steps N --crop C --power P --levels L] [--continue-default]
    python -m benchmarks.synth_judge --size 960x540 --chosen      # the judge the benchmark uses, on the tuning draw
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXTRA_SEED = 500          # extra phantom videos rendered for the judge's training only
HELD_SEEDS = (11, 12, 13)  # held-out draws: phantom seeds the synthesis model and the judge never saw


@dataclass(frozen=True)
class JudgeConfig:
    steps: int = 700
    crop: int = 256
    batch: int = 4
    width: int = 16
    levels: int = 4
    power: float = 0.5        # class weight ~ frequency^-power (0: plain cross-entropy)
    lr: float = 2e-3
    extra_videos: int = 10    # extra phantom videos (EXTRA_SEED) x extra_frames added to the training frames
    extra_frames: int = 6
    seed: int = 0
    init: Optional["JudgeConfig"] = None  # continue from this judge (trained first if not cached)
    init_size: str = ""       # ... trained at this size ("480x270"; default: the same size)

    def key(self, size) -> str:
        text = json.dumps({**_key_fields(asdict(self)), "size": list(size)}, sort_keys=True)
        return f"{size[0]}x{size[1]}-" + hashlib.sha1(text.encode()).hexdigest()[:10]


def _key_fields(d: dict) -> dict:
    """The settings that name a judge: unset `init`/`init_size` left out (so older keys stay), nested inits too."""
    out = {k: v for k, v in d.items() if k not in ("init", "init_size") or v}
    if isinstance(out.get("init"), dict):
        out["init"] = _key_fields(out["init"])
    return out


# Chosen on the tuning draw (docs/benchmarks/synthesis_fullres.md, 2026-12-02): at 480x270 the default; at
# 960x540 the 480x270 judge continued for 600 steps on 960x540 crops with stronger class weights (judges
# trained at 960x540 from scratch did not learn the retractors within this CPU budget).
CHOSEN = {
    (960, 540): JudgeConfig(steps=600, power=0.75, lr=1e-3, init=JudgeConfig(), init_size="480x270"),
    (480, 270): JudgeConfig(),
}


def chosen_config(size) -> JudgeConfig:
    return CHOSEN.get(tuple(size), JudgeConfig())


def _init_size(cfg: JudgeConfig, size) -> tuple:
    return tuple(int(v) for v in cfg.init_size.split("x")) if cfg.init_size else tuple(size)


def total_steps(cfg: JudgeConfig) -> int:
    return cfg.steps + (total_steps(cfg.init) if cfg.init is not None else 0)


def starter_phantom() -> Path:
    from benchmarks.train_starter_models import make_phantom

    return make_phantom(ROOT / "build" / "starter-models" / "phantom", 20, 10)


def _read_split(root: Path, train: bool) -> list:
    from engine.dataset import open_dataset
    from engine.imageio import read_image, read_label

    return [(read_image(f.image_path), read_label(f.label_path)) for f in open_dataset(root).labelled()
            if (f.split == "train") == train]


def training_pairs(cfg: JudgeConfig) -> list:
    """The starter recipe's train frames plus the judge's own extra phantom frames (960x540, plain style)."""
    from engine.phantom import generate_dataset

    pairs = _read_split(starter_phantom(), train=True)
    if cfg.extra_videos and cfg.extra_frames:
        root = ROOT / "build" / "judge-phantom" / f"s{EXTRA_SEED}-{cfg.extra_videos}x{cfg.extra_frames}"
        if not (root / ".complete").exists():
            generate_dataset(root, videos=cfg.extra_videos, frames_per_video=cfg.extra_frames, seed=EXTRA_SEED)
            (root / ".complete").write_text("ok\n")
        pairs += _read_split(root, train=True) + _read_split(root, train=False)
    return pairs


def tuning_draw(frames: int = 8) -> list:
    """Frames of the starter recipe's val/test videos (seed 0): where the judge's settings were chosen."""
    held = _read_split(starter_phantom(), train=False)
    return held[:: max(1, len(held) // frames)][:frames]


def held_out_draw(seed: int, frames: int = 4) -> list:
    """`frames` frames of phantom seed `seed` at 960x540: one per video (videos 1..frames, frame index 3)."""
    from engine.phantom import VideoRenderer

    return [VideoRenderer(seed, v).render(3) for v in range(1, frames + 1)]


def train_judge(pairs, cs, size, cfg: JudgeConfig, log=print):
    """SmallUNet on random `cfg.crop` crops of the frames resized to `size` (W, H), class-weighted CE."""
    import cv2
    import torch
    import torch.nn.functional as F

    from engine.baselines.segmenters import class_weights, crop_batch
    from engine.baselines.small_unet import SmallUNet

    w, h = size
    xs = [cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA) for img, _ in pairs]
    ys = [cv2.resize(cs.remap(lab), (w, h), interpolation=cv2.INTER_NEAREST) for _, lab in pairs]
    weights = torch.from_numpy(class_weights(ys, cs.num_classes, cfg.power))
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    net = SmallUNet(cs.num_classes, cfg.width, cfg.levels)
    if cfg.init is not None:
        net.load_state_dict(get_judge(cs, _init_size(cfg, size), cfg.init, log)[0].state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.05)
    ch, cw = min(cfg.crop, h), min(cfg.crop, w)
    t0 = time.perf_counter()
    net.train()
    for step in range(cfg.steps):
        x, y = crop_batch(xs, ys, lambda: (int(rng.integers(len(xs))), None), (cw, ch), cfg.batch, rng)
        loss = F.cross_entropy(net(x), y, weight=weights, ignore_index=255)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 100 == 0:
            log(f"    judge step {step + 1}/{cfg.steps} loss {loss.item():.3f} ({time.perf_counter() - t0:.0f} s)")
    return net.eval(), time.perf_counter() - t0


def get_judge(cs, size, cfg: JudgeConfig, log=print):
    """The judge for `size` with settings `cfg`: from build/judges/ if trained before, else trained and cached."""
    from safetensors.torch import load_file, save_file

    from engine.baselines.small_unet import SmallUNet

    folder = ROOT / "build" / "judges"
    path = folder / f"{cfg.key(size)}.safetensors"
    if path.exists():
        net = SmallUNet(cs.num_classes, cfg.width, cfg.levels)
        net.load_state_dict(load_file(path))
        meta = json.loads(path.with_suffix(".json").read_text())
        log(f"  judge at {size[0]}x{size[1]}: cached {path.name} ({meta['train_seconds']:.0f} s to train)")
        return net.eval(), meta
    pairs = training_pairs(cfg)
    log(f"  judge at {size[0]}x{size[1]}: training on {len(pairs)} real phantom frames, {asdict(cfg)}")
    net, secs = train_judge(pairs, cs, size, cfg, log)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    if cfg.init is not None:  # the whole judge's cost: this run and the one it continued
        secs += json.loads((folder / f"{cfg.init.key(_init_size(cfg, size))}.json").read_text())["train_seconds"]
    meta = {"config": asdict(cfg), "size": list(size), "frames": len(pairs), "train_seconds": secs,
            "total_steps": total_steps(cfg)}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    log(f"  judge at {size[0]}x{size[1]}: {cfg.steps} steps in {secs:.0f} s -> {path.name}")
    return net.eval(), meta


def predict(net, image):
    """(label prediction HxW uint8, pooled bottleneck features: mean and std per channel) for one frame."""
    import torch

    feats = {}
    hook = net.bottom.register_forward_hook(lambda _m, _i, o: feats.setdefault("f", o))
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 127.5 - 1
        pred = net(x)[0].argmax(0).numpy().astype(np.uint8)
    hook.remove()
    f = feats["f"][0].flatten(1)
    return pred, np.concatenate([f.mean(1).numpy(), f.std(1).numpy()])


def confusion_of(preds, labels, n) -> np.ndarray:
    from engine.metrics import confusion

    conf = np.zeros((n, n), np.int64)
    for p, lab in zip(preds, labels):
        conf += confusion(p, lab, n)
    return conf


def per_class_iou(conf) -> np.ndarray:
    from engine.metrics import iou_from_confusion

    return np.asarray(iou_from_confusion(conf)[0], np.float64)


def resize_pair(img, lab, size):
    import cv2

    return (cv2.resize(img, size, interpolation=cv2.INTER_AREA), cv2.resize(lab, size, interpolation=cv2.INTER_NEAREST))


def main(argv: list[str] | None = None) -> None:
    import torch

    from engine.taxonomy import get_class_set

    p = argparse.ArgumentParser(prog="python -m benchmarks.synth_judge", description="tune the judge on the tuning draw")
    p.add_argument("--size", default="960x540")
    p.add_argument("--frames", type=int, default=8)
    fields = {k: v for k, v in asdict(JudgeConfig()).items() if k not in ("init", "init_size")}
    for name, value in fields.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    p.add_argument("--continue-default", action="store_true", help="continue from the default judge (trained first)")
    p.add_argument("--init-size", default="", help="with --continue-default: the default judge of this size")
    p.add_argument("--chosen", action="store_true", help="the judge the benchmark uses at this size (CHOSEN)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    cs = get_class_set(1)
    size = tuple(int(v) for v in args.size.split("x"))
    cfg = JudgeConfig(**{k: getattr(args, k) for k in fields}, init=JudgeConfig() if args.continue_default else None,
                      init_size=args.init_size if args.continue_default else "")
    cfg = chosen_config(size) if args.chosen else cfg
    net, meta = get_judge(cs, size, cfg)
    draw = [resize_pair(img, lab, size) for img, lab in tuning_draw(args.frames)]
    preds = [predict(net, img)[0] for img, _ in draw]
    per = per_class_iou(confusion_of(preds, [cs.remap(lab) for _, lab in draw], cs.num_classes))
    print(f"tuning draw ({len(draw)} frames, seed 0 val/test) at {args.size}, judge {cfg.key(size)}: "
          f"mIoU {np.nanmean(per):.3f}")
    print("  " + "  ".join(f"{n}={'-' if np.isnan(v) else f'{v:.2f}'}" for n, v in zip(cs.names, per)))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
