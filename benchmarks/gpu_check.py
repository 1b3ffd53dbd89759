"""`make gpu-check`: run every CUDA path once and print one table. The first thing to run on a GPU machine.

    python -m benchmarks.gpu_check                 # on a machine with CUDA: every check at real sizes (< 5 min)
    python -m benchmarks.gpu_check --dry-run       # every check on the CPU at tiny sizes (what the tests run)
    python -m benchmarks.gpu_check --json out.json --only train,synth

Without CUDA (and without --dry-run) it says so in one line and exits 0. Each check is independent: a failure
is a FAIL row with its error, the others still run, and the exit status is 1 when any check failed.

Checks: synthesis training steps/s and peak memory with bf16 and fp16 autocast; synthesis ms/frame for each
sampling preset at full resolution (960x540); distillation steps/s (when `cadis distill` exists);
pre-segmentation head training and ms/frame; a tiny Stable Diffusion edit; an 8-pair augment;
`accelerate launch --num_processes 1 ... train-model`; a model trained on CUDA loaded on the CPU and the
reverse (same outputs within tolerance); SAM ViT-B, SAM 2 Hiera-tiny/-small and SAM 3 embedding s, prompt ms, peak memory;
SAM 2 (Hiera-tiny) video propagation s/frame.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

from benchmarks.gpu_checks import (Check, Env, Sizes, check_accelerate_launch, check_augment, check_distill,
                                   check_edit, check_preseg, check_preview, check_synthesis, check_training)
from benchmarks.gpu_checks_models import check_cross_device, check_segment

CHECKS: dict[str, Callable[[Env], object]] = {
    "train": lambda env: [check_training(env, "bf16"), check_training(env, "fp16")],
    "synth": check_synthesis,
    "distill": check_distill,
    "preview": check_preview,
    "preseg": check_preseg,
    "edit": check_edit,
    "augment": check_augment,
    "launch": check_accelerate_launch,
    "cross": check_cross_device,
    "segment": check_segment,
}


def run_checks(env: Env, only: list[str] | None = None, echo: Callable[[str], None] = print) -> list[Check]:
    rows: list[Check] = []
    for key, fn in CHECKS.items():
        if only and key not in only:
            continue
        t0 = time.perf_counter()
        try:
            got = fn(env)
            rows += got if isinstance(got, list) else [got]
        except Exception as exc:  # noqa: BLE001 - one failing path must not hide the others
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            rows.append(Check(key, ok=False, result="error", detail=f"{type(exc).__name__}: {msg}"[:300],
                              values={"traceback": traceback.format_exc()[-2000:]}))
        echo(f"  {key}: {time.perf_counter() - t0:.1f} s")
    return rows


def table(rows: list[Check], header: str) -> str:
    lines = [header, "", "| check | result | status | detail |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.name} | {r.result} | {'ok' if r.ok else 'FAIL'} | {r.detail} |")
    return "\n".join(lines)


def describe_machine(device: str) -> str:
    import torch

    from engine.device import describe_device

    return (f"{describe_device(device)}; torch {torch.__version__}, CUDA {torch.version.cuda or 'none'}, "
            f"{os.cpu_count()} CPU cores")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu-check", description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="run every check on the CPU at tiny sizes")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda",
                        help="cpu: the real sizes on the CPU (slow; to debug the checks themselves)")
    parser.add_argument("--only", default=None, help=f"comma-separated subset of {','.join(CHECKS)}")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--work", default=None, metavar="DIR", help="keep the outputs here (default: a temp dir)")
    args = parser.parse_args(argv)
    import torch

    if not args.dry_run and args.device == "cuda" and not torch.cuda.is_available():
        print(f"gpu-check: no CUDA GPU on this machine (torch {torch.__version__}, CUDA build "
              f"{torch.version.cuda or 'none'}); nothing to check here. Run it where a GPU is (see README).")
        return 0
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    if only and set(only) - set(CHECKS):
        parser.error(f"--only: unknown check(s) {', '.join(sorted(set(only) - set(CHECKS)))}")
    device = "cpu" if args.dry_run else args.device
    sizes = Sizes.tiny() if args.dry_run else Sizes.real()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        mode = " (CPU dry run, tiny sizes)" if args.dry_run else " (real sizes on the CPU)" if device == "cpu" else ""
        print(f"gpu-check{mode} on {describe_machine(device)}")
        rows = run_checks(Env(work, device, sizes, args.dry_run), only)
    total = time.perf_counter() - t0
    print()
    print(table(rows, f"gpu-check: {sum(r.ok for r in rows)}/{len(rows)} ok in {total:.0f} s"))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": describe_machine(device), "dry_run": args.dry_run,
                                               "seconds": total, "checks": [r.__dict__ for r in rows]}, indent=2))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
