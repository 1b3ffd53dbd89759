"""Region-restricted text edits (issue 28): seconds per edit and where pixels changed, per region mode.

On phantom frames at their own size (960x540) with the tiny random SD (CPU, one thread): for the whole frame,
only the pupil, keeping every instrument, and the prompt's auto region: seconds per edit and the share of
changed pixels inside the chosen classes, in the feathered margin, and outside the region (0 by construction).
The margin table measures the seam for several margins (in latent cells): the step at the region's outer
edge (mean |difference| between neighbouring pixels across it, output minus input) and how far the blended
edit spreads outside the class in the model's own output before compositing (mean |edit - VAE round trip|
by distance from the class). With CADIS_SD_DIR set, the same tables on those real weights (SDEdit and DDIM
inversion; CADIS_SD_DEVICE, CADIS_SD_DTYPE=fp16 for CUDA half precision).
Run: ``python -m benchmarks.bench_textedit`` (all text-edit tables) or ``python -m benchmarks.bench_textedit_region``.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks._timing import print_table

FRAMES = (3, 11, 29)   # phantom seeds
PROMPT = "a cataract surgery frame with a bright red pupil"
MODES = (("whole frame", dict()), ("only pupil", dict(region="only", region_classes="pupil")),
         ("keep instruments", dict(region="keep", region_classes="instruments")),
         ("auto region", dict(region="only", auto_region=True)))
BANDS = ((0, 4), (4, 8), (8, 16), (16, 32), (32, 64))


def main() -> None:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        from engine.textedit import build_tiny_sd, load_sd

        with tempfile.TemporaryDirectory() as tmp:
            sd = load_sd(build_tiny_sd(Path(tmp) / "sd"), device="cpu")
            run_tables(sd, "tiny random SD, CPU", methods=(("sdedit", dict(steps=10)),
                                                         ("imagic", dict(steps=10, opt_steps=10, tune_steps=10,
                                                                         tune="lora", alphas=[1.4]))))
    finally:
        torch.set_num_threads(threads)
    real = os.environ.get("CADIS_SD_DIR")
    if real:
        sd = load_sd(real, device=os.environ.get("CADIS_SD_DEVICE", "auto"),
                     dtype=os.environ.get("CADIS_SD_DTYPE", "fp32"))
        run_tables(sd, f"{Path(real).name}, {sd.device} {str(sd.dtype).replace('torch.', '')}",
                   methods=(("sdedit", dict(steps=30)), ("invert", dict(steps=30))))
    else:
        print("\n(CADIS_SD_DIR not set: no table on real weights)")


def _frames():
    from engine.phantom import render_frame

    return [render_frame(s) for s in FRAMES]


def run_tables(sd, what: str, methods) -> None:
    from engine.textedit import edit_frame

    frames = _frames()
    rows = []
    for method, kw in methods:
        for name, region in MODES:
            secs, inside, ring, outside, done = [], [], [], [], 0
            for image, label in frames:
                t0 = time.perf_counter()
                try:
                    (r,) = edit_frame(sd, image, PROMPT, method, label=label, **kw, **region)
                except ValueError as exc:   # e.g. the auto region covers no class of this frame
                    print(f"  {method} {name}: {exc}")
                    continue
                secs.append(time.perf_counter() - t0)
                done += 1
                changed = np.any(r.image != image, axis=2)
                core = r.region.core if r.region is not None else np.ones(label.shape, bool)
                ed = r.region.editable if r.region is not None else core
                inside.append(changed[core].mean())
                ring.append(changed[ed & ~core].mean() if (ed & ~core).any() else float("nan"))
                outside.append(changed[~ed].mean() if (~ed).any() else float("nan"))
            if done:
                rows.append((method, name, f"{done}/{len(frames)}", float(np.median(secs)), float(np.mean(inside)),
                             float(np.nanmean(ring)) if not np.all(np.isnan(ring)) else "-",
                             float(np.nanmean(outside)) if not np.all(np.isnan(outside)) else "-"))
    print_table(f"region modes on phantom frames 960x540 ({what})", rows,
                ("method", "region", "frames", "s per edit", "changed in classes", "changed in margin",
                 "changed outside"))
    margin_table(sd, what, frames)


def margin_table(sd, what: str, frames) -> None:
    """Seam step at the region's outer edge and the edit's spread outside the class, per margin."""
    from engine.textedit import edit_frame
    from engine.textedit.framing import plan_for_model
    from engine.textedit.region import default_margin

    image0 = frames[0][0]
    plan = plan_for_model((image0.shape[1], image0.shape[0]), None, "pad", sd.native_size, sd.size_multiple)
    cell = default_margin(image0.shape[1], plan.scaled_size[0], sd.vae_scale, cells=1.0)
    rows = []
    for cells in (0.0, 0.5, 1.0, 2.0, 4.0):
        margin = int(round(cells * cell))
        steps, ring_changed = [], []
        for image, label in frames:
            (r,) = edit_frame(sd, image, PROMPT, "sdedit", steps=10, label=label, region="only",
                              region_classes="pupil", region_margin=margin)
            steps.append(_edge_step(image, r.image, r.region.editable))
            ring = r.region.editable & ~r.region.core
            ring_changed.append(int(ring.sum()) / r.region.core.sum())
        rows.append((f"{cells:g} cell(s) = {margin} px", float(np.mean(steps)), float(np.mean(ring_changed))))
    print_table(f"feathered margin around an only-pupil edit ({what}; one latent cell = {cell} px)", rows,
                ("margin", "edge step (grey levels)", "margin px per class px"))
    spread = _spread(sd, frames)
    print_table(f"how far the blended edit reaches outside the pupil before compositing ({what})",
                [(f"{a}-{b} px", v) for (a, b), v in zip(BANDS, spread)],
                ("distance from the pupil", "mean |edit - VAE round trip|"))


def _edge_step(original: np.ndarray, edited: np.ndarray, editable: np.ndarray) -> float:
    """Mean |p - q| over neighbouring pixels p in the region, q outside it, in the output minus the input."""
    def steps(img):
        img = img.astype(np.float32)
        out = []
        for axis in (0, 1):
            a, b = np.moveaxis(img, axis, 0), np.moveaxis(editable, axis, 0)
            cross = b[1:] != b[:-1]
            out.append(np.abs(a[1:] - a[:-1]).mean(axis=-1)[cross])
        return np.concatenate(out)
    s_out, s_in = steps(edited), steps(original)
    return float(s_out.mean() - s_in.mean()) if s_out.size else 0.0


def _spread(sd, frames) -> list[float]:
    """The pre-composite edit (blended latents, decoded) against the VAE round trip, by distance band."""
    from engine.jobs import JobContext
    from engine.textedit.blend import latent_mask
    from engine.textedit.diffusion import decode, encode
    from engine.textedit.framing import plan_for_model, split_mask
    from engine.textedit.region import default_margin, make_region
    from engine.textedit.sdedit import sdedit

    sums = np.zeros(len(BANDS))
    for image, label in frames:
        plan = plan_for_model((image.shape[1], image.shape[0]), None, "pad", sd.native_size, sd.size_multiple)
        margin = default_margin(image.shape[1], plan.scaled_size[0], sd.vae_scale)
        region = make_region(label, "only", [0], margin)
        (canvas,), (cmask,) = plan.split(image), split_mask(plan, region.editable)
        lat0 = encode(sd, canvas)
        cells = latent_mask(cmask, tuple(lat0.shape[-2:]))
        cond, uncond = sd.encode_prompt(PROMPT), sd.encode_prompt("")
        lat = sdedit(sd, lat0, cond, uncond, strength=0.5, steps=10, guidance=3.0, seed=0, ctx=JobContext(),
                     cell_mask=cells)
        edit = plan.merge([decode(sd, lat)]).astype(np.float32)
        trip = plan.merge([decode(sd, lat0)]).astype(np.float32)
        diff = np.abs(edit - trip).mean(axis=2)
        dist = cv2.distanceTransform((~region.core).astype(np.uint8), cv2.DIST_L2, 5)
        for k, (a, b) in enumerate(BANDS):
            band = (dist > a) & (dist <= b)
            sums[k] += diff[band].mean() if band.any() else 0.0
    return list(sums / len(frames))


if __name__ == "__main__":  # pragma: no cover
    main()
