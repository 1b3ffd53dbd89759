"""Segment-anything speed at the real architectures' sizes, random weights, on a 960x540 frame.

For SAM ViT-B, SAM 2 Hiera-tiny and Hiera-small and SAM 3 (the tracker's image encoder and prompt decoder):
parameters, the image embedding in seconds (once per frame, made in the app's background lane), a prompt to a
mask at the frame's size in milliseconds (median over clicks at different places, each after the previous one
as an annotator's clicks come; what a click costs once the embedding is there: wall-clock, and on the CPU also
the process's CPU time over the prompt, which the machine's other load does not inflate) and the peak memory (CPU:
the process's peak resident size, each architecture in its own process; CUDA: peak allocated). The 1-minute
load average at the start is printed with each row. On CUDA the model runs in half precision, as the app runs it.

    python -m benchmarks.bench_segment                          # all four on this machine's device
    python -m benchmarks.bench_segment --only sam-vit-b --device cpu --json out.json
    python -m benchmarks.bench_segment --tiny                   # the tiny test configs (a smoke run)
    python -m benchmarks.bench_segment --only sam2-video-tiny   # SAM 2 video propagation: seconds per frame

`sam2-video-tiny` (not in the default run: minutes on a CPU) tracks every class of a phantom frame's label as an
object through the next frames at 960x540 (engine.segment.video) and reports seconds per tracked frame.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ARCHS = ("sam-vit-b", "sam2-hiera-tiny", "sam2-hiera-small", "sam3")
VIDEO_ARCHS = ("sam2-video-tiny",)
_FAMILY = {"sam-vit-b": "sam", "sam2-hiera-tiny": "sam2", "sam2-hiera-small": "sam2", "sam3": "sam3_tracker"}


def real_config(arch: str):
    """The architecture's config as the published checkpoints have it (transformers' defaults are these)."""
    import transformers

    if arch == "sam-vit-b":
        return transformers.SamConfig(), {"size": {"longest_edge": 1024}, "pad_size": {"height": 1024, "width": 1024}}
    if arch == "sam3":
        return transformers.Sam3TrackerConfig(), {"size": {"height": 1008, "width": 1008}}
    hiera = {"model_type": "sam2_hiera_det_model"}
    if arch == "sam2-hiera-small":
        hiera.update(blocks_per_stage=[1, 2, 11, 2], global_attention_blocks=[7, 10, 13])
    return transformers.Sam2Config(vision_config={"backbone_config": hiera}), {"size": {"height": 1024, "width": 1024}}


def tiny_config(arch: str):
    from tests.segment_helpers import SIZE, tiny_config as tiny

    family = _FAMILY[arch]
    size = SIZE[family]
    proc = ({"size": {"longest_edge": size}, "pad_size": {"height": size, "width": size}} if family == "sam"
            else {"size": {"height": size, "width": size}})
    return tiny(family), proc


def measure(arch: str, device: str = "cpu", tiny: bool = False, repeats: int = 10) -> dict:
    """One architecture: parameters, embedding seconds, prompt-to-mask ms, peak memory MB."""
    import numpy as np
    import torch

    from engine.phantom import render_frame
    from engine.segment import Prompt
    from engine.segment.folder import SegmentFolder, model_class
    from engine.segment.model import SegmentModel

    config, proc = (tiny_config if tiny else real_config)(arch)
    family = _FAMILY[arch]
    torch.manual_seed(0)
    model = model_class(family)(config).eval().to(device)
    if device.startswith("cuda"):
        model = model.half()
        torch.cuda.reset_peak_memory_stats()
    seg = SegmentModel(SegmentFolder(Path(arch), family, config.to_dict(), proc), model, device)
    image, _ = render_frame(0, width=960, height=540)
    seg.embed(image)                      # warm-up (allocations, kernels)
    _sync(device)
    t0 = time.perf_counter()
    emb = seg.embed(image)
    _sync(device)
    embed_s = time.perf_counter() - t0
    seg.predict(emb, Prompt(points=((480, 270, True), (200, 100, False))))
    times, cpu = [], []
    for i in range(repeats):
        prompt = Prompt(points=((300 + 37 * i, 150 + 23 * i, True), (200, 100, False)))
        _sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        cands = seg.predict(emb, prompt)
        _sync(device)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    assert cands.masks.shape[1:] == (540, 960)
    return {"arch": arch, "device": device, "tiny": tiny, "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
            "embed_s": embed_s, "prompt_ms": 1000 * float(np.median(times)), "prompt_cpu_ms": 1000 * float(np.median(cpu)),
            "peak_mb": _peak_mb(device), "embedding_mb": emb.nbytes() / 2 ** 20, "threads": torch.get_num_threads(),
            "load": os.getloadavg()[0]}


def measure_video(arch: str = "sam2-video-tiny", device: str = "cpu", tiny: bool = False, frames: int = 3) -> dict:
    """SAM 2 video propagation of a phantom label (all its classes) to `frames` next frames: seconds per frame."""
    import torch
    import transformers

    from engine.phantom import VideoRenderer
    from engine.segment.folder import SegmentFolder
    from engine.segment.video import Sam2Propagator

    if tiny:
        from tests.segment_helpers import SIZE, tiny_video_config

        config, size = tiny_video_config(), SIZE["sam2"]
    else:
        config, size = transformers.Sam2VideoConfig(vision_config={"backbone_config": {"model_type": "sam2_hiera_det_model"}}), 1024
    torch.manual_seed(0)
    model = transformers.Sam2VideoModel(config).eval().to(device)
    if device.startswith("cuda"):
        model = model.half()
        torch.cuda.reset_peak_memory_stats()
    folder = SegmentFolder(Path(arch), "sam2_video", config.to_dict(), {"size": {"height": size, "width": size}})
    prop = Sam2Propagator(folder, model, device)
    shots = VideoRenderer(0, 1, 960, 540)
    images = [shots.render_video_frame(i)[0] for i in range(frames + 1)]
    label = shots.render_video_frame(0)[1]
    classes = len(set(label.ravel().tolist()) - {255})
    _sync(device)
    t0 = time.perf_counter()
    result = prop(images, {0: label}, list(range(1, frames + 1)), min_confidence=0.0)
    _sync(device)
    seconds = time.perf_counter() - t0
    assert all(f.label.shape == (540, 960) for f in result.frames.values())
    return {"arch": arch, "device": device, "tiny": tiny, "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
            "classes": classes, "frames": frames, "seconds_per_frame": seconds / (frames + 1), "peak_mb": _peak_mb(device),
            "threads": torch.get_num_threads(), "load": os.getloadavg()[0]}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _peak_mb(device: str) -> float:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.max_memory_allocated() / 2 ** 20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_segment", description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(ARCHS), help=f"comma-separated of {', '.join(ARCHS)}")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    ap.add_argument("--tiny", action="store_true", help="the tiny test configs instead of the real ones")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--json", help="also write the rows here")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one architecture in this process
    args, _ = ap.parse_known_args(argv)  # `python -m benchmarks -k segment` calls main() with its own argv
    from engine.device import pick_device

    device = str(pick_device(args.device))
    if args.one:
        row = (measure_video(args.one, device, args.tiny) if args.one in VIDEO_ARCHS
               else measure(args.one, device, args.tiny, args.repeats))
        print(json.dumps(row))
        return 0
    rows = []
    for arch in [a.strip() for a in args.only.split(",") if a.strip()]:
        if arch not in ARCHS + VIDEO_ARCHS:
            print(f"bench_segment: unknown architecture {arch!r}; use {', '.join(ARCHS + VIDEO_ARCHS)}", file=sys.stderr)
            return 2
        cmd = [sys.executable, "-m", "benchmarks.bench_segment", "--one", arch, "--device", device,
               "--repeats", str(args.repeats)] + (["--tiny"] if args.tiny else [])
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            rows.append({"arch": arch, "error": (done.stderr.strip().splitlines() or ["failed"])[-1]})
        else:
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        if "seconds_per_frame" in r:
            print(f"{arch:17s} {r['params_m']:7.1f} M params  {r['classes']} classes tracked  "
                  f"{r['seconds_per_frame']:.2f} s per frame (key frame included, {r['frames']} frames)  "
                  f"peak {r['peak_mb']:7.0f} MB  ({r['device']}, {r['threads']} threads, 960x540, load {r['load']:.1f})",
                  flush=True)
            continue
        print(f"{arch:17s} " + (f"error: {r['error']}" if "error" in r else
              f"{r['params_m']:7.1f} M params  embedding {r['embed_s']:7.2f} s  prompt {r['prompt_ms']:7.1f} ms "
              f"(CPU {r.get('prompt_cpu_ms', float('nan')):6.1f} ms)  peak {r['peak_mb']:7.0f} MB  "
              f"({r['device']}, {r['threads']} threads, 960x540, load {r.get('load', float('nan')):.1f})"), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
