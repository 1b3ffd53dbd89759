"""Reproduce the shipped preview student of the starter model (resources/models/starter-synthesis/student).

Recipe: copy the starter model folder into WORK, render the phantom sample it was trained on (as
benchmarks.train_starter_models does), `cadis distill` it there (consistency distillation, batch 8, bf16
autocast where the CPU has it, resumable: run again to continue), then with --publish copy the student's
files (fp16 weights, as the teacher's) into the shipped model folder. Check it first with
`CADIS_SYNTH_MODEL=WORK python -m benchmarks.preview_student`.

    python -m benchmarks.distill_starter [--max-steps N] [--work build/distill-starter] [--publish]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STARTER = ROOT / "resources" / "models" / "starter-synthesis"
STUDENT_FILES = ("config.json", "scheduler_config.json")
TEACHER_FILES = ("model_index.json", "model_card.json", "unet", "scheduler", "upsampler")  # the pipeline folder


def publish_student(work: Path, out: Path) -> Path:
    """Write WORK/student into OUT/student with fp16 weights (the teacher in OUT must be WORK's teacher)."""
    import torch

    from engine.atomic import atomic_write_text
    from engine.distill import load_student
    from engine.distill.student import teacher_sha256
    from engine.models.model_dir import file_sha256

    if teacher_sha256(work) != teacher_sha256(out):
        raise SystemExit(f"{work} and {out} hold different teachers; distil the model you publish to")
    student, _sched, card = load_student(work, device="cpu")
    dst = out / "student"
    tmp = out / "student.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    torch.nn.Module.to(student, torch.float16).save_pretrained(str(tmp), safe_serialization=True)
    for name in STUDENT_FILES[1:]:
        shutil.copyfile(work / "student" / name, tmp / name)
    card = dict(card, weights_dtype="float16", weights_sha256=file_sha256(tmp / "diffusion_pytorch_model.safetensors"),
                recipe="python -m benchmarks.distill_starter --publish")
    card["distill_config"] = {k: v for k, v in card.get("distill_config", {}).items() if k != "device"}
    atomic_write_text(tmp / "student_card.json", json.dumps(card, indent=2))
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)
    return dst


def main(argv: list[str] | None = None) -> int:
    from benchmarks.train_starter_models import make_phantom
    from engine.cli import main as cadis

    parser = argparse.ArgumentParser(prog="distill_starter")
    parser.add_argument("--max-steps", type=int, default=1500)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "distill-starter")
    parser.add_argument("--data", type=Path, default=ROOT / "build" / "starter-models" / "phantom")
    parser.add_argument("--publish", action="store_true", help="only copy WORK's student into the starter model")
    args = parser.parse_args(argv)
    if args.publish:
        print(f"published {publish_student(args.work, STARTER)}")
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    for name in TEACHER_FILES:
        src, dst = STARTER / name, args.work / name
        if src.is_dir() and not dst.exists():
            shutil.copytree(src, dst)
        elif src.is_file() and not dst.exists():
            shutil.copyfile(src, dst)
    make_phantom(args.data, 20, 10)
    return cadis(["distill", "--model", str(args.work), "--data", str(args.data), "--max-steps", str(args.max_steps),
                  "--checkpoint-every", "50"])


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
