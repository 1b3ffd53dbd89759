"""A prompt's cost, the model's forward as transformers has it against the app's prompt path (engine.segment.fast),
in one process, same weights, same embedding, prompts interleaved so both see the same machine load.

For SAM ViT-B, SAM 2 Hiera-tiny / -small and SAM 3 (real configs, random weights; the embedding is random too,
of the shape the image encoder gives, which does not change the decoder's cost) at 960x540: median wall ms and
process CPU ms per click (clicks at different places, one after another) for
- `plain-2t`: `model(image_embeddings=...)` on 2 intra-op threads (the code before the fast path, default threads)
- `plain-1t`: the same on 1 thread
- `fast`: `SegmentModel.predict` (1 thread, positional embedding once, first layer's projections reused)
and whether `fast` gave exactly the masks `plain` gave.

    python -m benchmarks.bench_segment_prompt [--only sam-vit-b,...] [--repeats 8] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from benchmarks.bench_segment import _FAMILY, ARCHS, real_config


def _embedding(family: str):
    import torch

    from engine.segment.model import Embedding

    torch.manual_seed(1)
    if family == "sam":
        return Embedding(torch.randn(1, 256, 64, 64), 540, 960)
    g = 64 if family == "sam2" else 72
    return Embedding([torch.randn(1, 32, 4 * g, 4 * g), torch.randn(1, 64, 2 * g, 2 * g), torch.randn(1, 256, g, g)],
                     540, 960)


def compare(arch: str, repeats: int = 8) -> dict:
    import numpy as np
    import torch

    from engine.segment import Prompt
    from engine.segment.folder import SegmentFolder, model_class
    from engine.segment.model import SegmentModel

    config, proc = real_config(arch)
    family = _FAMILY[arch]
    torch.manual_seed(0)
    fast_model = model_class(family)(config).eval()
    plain_model = model_class(family)(config).eval()
    plain_model.load_state_dict(fast_model.state_dict())
    folder = SegmentFolder(Path(arch), family, config.to_dict(), proc)
    fast = SegmentModel(folder, fast_model, "cpu")
    plain = SegmentModel(folder, plain_model, "cpu", fast=False)
    emb = _embedding(family)

    def plain_predict(prompt, threads):
        old = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return plain.predict(emb, prompt)
        finally:
            torch.set_num_threads(old)

    runs = {"plain-2t": lambda p: plain_predict(p, 2), "plain-1t": lambda p: plain_predict(p, 1),
            "fast": lambda p: fast.predict(emb, p)}
    wall: dict[str, list] = {k: [] for k in runs}
    cpu: dict[str, list] = {k: [] for k in runs}
    same = True
    for fn in runs.values():
        fn(Prompt(points=((480, 270, True),)))  # warm-up
    for i in range(repeats):
        prompt = Prompt(points=((300 + 37 * i, 150 + 23 * i, True), (200, 100, False)))
        got = {}
        for name, fn in runs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            got[name] = fn(prompt)
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
        same = same and bool((got["fast"].masks == got["plain-1t"].masks).all())
    row = {"arch": arch, "repeats": repeats, "load": os.getloadavg()[0], "same_masks": same}
    for name in runs:
        row[f"{name}_ms"] = 1000 * float(np.median(wall[name]))
        row[f"{name}_cpu_ms"] = 1000 * float(np.median(cpu[name]))
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_segment_prompt", description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(ARCHS))
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--json")
    args, _ = ap.parse_known_args(argv)
    rows = []
    for arch in [a.strip() for a in args.only.split(",") if a.strip()]:
        if arch not in ARCHS:
            print(f"bench_segment_prompt: unknown architecture {arch!r}; use {', '.join(ARCHS)}", file=sys.stderr)
            return 2
        r = compare(arch, args.repeats)
        rows.append(r)
        print(f"{arch:17s} " + "  ".join(f"{k} {r[k + '_ms']:6.0f} ms (CPU {r[k + '_cpu_ms']:5.0f})"
                                         for k in ("plain-2t", "plain-1t", "fast"))
              + f"  same masks: {r['same_masks']}  load {r['load']:.1f}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
