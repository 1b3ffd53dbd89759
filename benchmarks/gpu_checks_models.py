"""The `benchmarks.gpu_check` rows on models loaded across devices and on the SAM family (split from
`benchmarks.gpu_checks`, which holds the `Check` and `Env` they use)."""
from __future__ import annotations

from pathlib import Path

from benchmarks.gpu_checks import Check, Env


def _outputs(model_dir: Path, device: str):
    import torch

    from engine.models import load_synthesis_model
    from engine.models.segmap import one_hot

    model, _, _ = load_synthesis_model(model_dir, device=device)
    g = torch.Generator().manual_seed(0)
    h, w = model.config.sample_size
    x = torch.randn(2, 3, h, w, generator=g)
    labels = torch.randint(0, model.config.num_classes, (2, h, w), generator=g)
    segmap = one_hot(labels, model.config.num_classes)
    t = torch.tensor([10, 500])
    with torch.no_grad():
        return model(x.to(device), t.to(device), segmap=segmap.to(device)).float().cpu()


def check_cross_device(env: Env) -> list[Check]:
    import torch

    gpu = env.device
    out = []
    for src, dst in ((gpu, "cpu"), ("cpu", gpu)):
        c = Check(f"trained on {src}, loaded on {dst}" + (" (no GPU)" if gpu == "cpu" else ""))
        model_dir, _ = env._train(f"cross-{src}-{len(out)}", "no", 3, device=src)
        tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        try:
            a, b = _outputs(model_dir, src), _outputs(model_dir, dst)
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
        diff = float((a - b).abs().max())
        c.values["max_abs_diff"] = diff
        c.ok = diff < 1e-3
        c.result = f"max |diff| {diff:.1e}"
        c.detail = "same weights, same input, fp32 (TF32 off); tolerance 1e-3"
        out.append(c)
    return out


def check_segment(env: Env) -> list[Check]:
    """SAM ViT-B, SAM 2 Hiera-tiny / -small, SAM 3 at 960x540 (half precision on CUDA; tiny configs in the
    dry run): embedding seconds, prompt-to-mask ms, peak memory; SAM 2 video propagation s/frame
    (benchmarks.bench_segment)."""
    from benchmarks.bench_segment import ARCHS, measure, measure_video

    rows = []
    for arch in ARCHS:
        r = measure(arch, env.device, tiny=env.dry_run, repeats=env.sizes.repeats)
        rows.append(Check(f"segment {arch}", result=f"{r['embed_s']:.2f} s embed, {r['prompt_ms']:.0f} ms/prompt",
                          detail=f"{r['params_m']:.1f} M params, peak {r['peak_mb']:.0f} MB, masks 960x540",
                          values=r))
    r = measure_video("sam2-video-tiny", env.device, tiny=env.dry_run)
    rows.append(Check("segment sam2 video propagation", result=f"{r['seconds_per_frame']:.2f} s/frame",
                      detail=f"{r['classes']} classes tracked as objects, {r['frames']} frames, 960x540, "
                             f"peak {r['peak_mb']:.0f} MB", values=r))
    return rows
