"""Text edits on the tiny random SD (CPU): what the Imagic cache and LoRA buy.

Side by side in the same run:
- a new α for a frame already optimised: our way loads the optimised embedding + tuned weights from the
  cache and runs ONE sampling; the naive way re-runs embedding optimisation and fine-tuning first;
- fine-tuning: LoRA (rank 4 on the attention projections) vs the full UNet: time per step and the bytes
  of a cache entry.
Measured on one CPU thread. The model is a ~1.4M-parameter random UNet at a 64x36 canvas, so absolute times are tiny; the ratios are
what carries over (on real SD the optimisation + fine-tuning dominate far more).
Then the region modes (benchmarks/bench_textedit_region.py).
Run: ``.venv/bin/python -m benchmarks -k textedit`` or ``python -m benchmarks.bench_textedit``
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from benchmarks._timing import median_ms, print_table

OPT, TUNE, STEPS = 10, 10, 10


def main() -> None:
    from benchmarks import bench_textedit_region

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: steadier on a shared CPU; the ratios are what matter
    try:
        _run()
    finally:
        torch.set_num_threads(threads)
    bench_textedit_region.main()  # the region modes (issue 28), and with CADIS_SD_DIR the same on real weights


def _run() -> None:
    from engine.jobs import JobContext
    from engine.phantom import render_frame
    from engine.textedit import build_tiny_sd, edit_frame, load_sd
    from engine.textedit.cache import tensor_bytes
    from engine.textedit.diffusion import encode
    from engine.textedit.imagic import prepare

    image, _ = render_frame(3, width=192, height=108)
    kw = dict(steps=STEPS, opt_steps=OPT, tune_steps=TUNE, tune="lora", guidance=3.0)
    with tempfile.TemporaryDirectory() as tmp:
        sd = load_sd(build_tiny_sd(Path(tmp) / "sd"), device="cpu")
        cache = Path(tmp) / "cache"
        edit_frame(sd, image, "bleeding", "imagic", alphas=[1.0], cache_dir=cache, **kw)  # fill the cache
        alpha = iter(range(10**6))
        cached = median_ms(lambda: edit_frame(sd, image, "bleeding", "imagic", alphas=[1.0 + next(alpha) / 100],
                                              cache_dir=cache, **kw), repeat=3, warmup=1)
        naive = median_ms(lambda: edit_frame(sd, image, "bleeding", "imagic", alphas=[1.3], cache_dir=None, **kw),
                          repeat=2, warmup=0)
        print_table(f"new alpha for an optimised frame ({OPT} opt + {TUNE} tune steps, {STEPS} DDIM steps)",
                    [("cached embedding + weights (ours)", cached, 1.0),
                     ("re-optimise + re-tune (naive)", naive, naive / cached)],
                    ("way", "ms per new alpha", "x slower"))

        lat = encode(sd, image[:36, :64].copy())
        e = sd.encode_prompt("bleeding")
        rows = []
        for mode in ("lora", "full"):
            t0 = time.perf_counter()
            st = prepare(sd, lat, e, opt_steps=0, opt_lr=1e-3, tune_steps=TUNE, tune_lr=1e-4, tune_mode=mode,
                         lora_rank=4, seed=0, ctx=JobContext())
            ms = (time.perf_counter() - t0) * 1000 / TUNE
            rows.append((mode, ms, sum(v.numel() for v in st.unet_weights.values()), tensor_bytes(st) / 1024))
        print_table("fine-tuning: LoRA vs full UNet", rows,
                    ("mode", "ms per step", "tuned parameters", "cache entry KiB"))


if __name__ == "__main__":  # pragma: no cover
    main()
