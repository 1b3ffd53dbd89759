"""Reproduce the shipped preview student of the starter model (resources/models/starter-synthesis/student).

Recipe: copy the starter pipeline folder (unet/, scheduler/, upsampler/, index and card) into WORK, render
the phantom sample it was trained on (as benchmarks.train_starter_models does), `cadis distill` it there
(consistency distillation, batch 8, bf16 autocast where the CPU has it, resumable: run again to continue;
each invocation's wall time and steps go to WORK/recipe_runs.jsonl), then with --publish copy the
student's files (fp16 weights, as the teacher's; the card lists the runs and their total time) into the
shipped model folder. Check it first with `CADIS_SYNTH_MODEL=WORK python -m benchmarks.preview_student`.

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
RUNS = "recipe_runs.jsonl"  # WORK/recipe_runs.jsonl: one line per invocation (start, seconds, steps, threads, load)


def _step(work: Path) -> int:
    from engine.distill import read_student_card

    return int(read_student_card(work).get("steps", 0) or 0)


def _run_recorded(work: Path, argv: list[str]) -> int:
    """`cadis distill ARGV`, with its wall time and steps appended to WORK/recipe_runs.jsonl (also when it is
    stopped by SIGTERM or Ctrl-C: the student then holds the last checkpoint's step)."""
    import os
    import signal
    import time
    from datetime import datetime, timezone

    import torch

    from engine.cli import main as cadis

    def stop(_sig, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    start, t0, first = datetime.now(timezone.utc), time.perf_counter(), _step(work)
    rc = 130
    try:
        rc = cadis(argv)
    finally:
        rec = {"started": start.isoformat(timespec="seconds"), "seconds": round(time.perf_counter() - t0),
               "from_step": first, "to_step": _step(work), "torch_threads": torch.get_num_threads(),
               "load_average_at_end": round(os.getloadavg()[0], 1), "completed": rc == 0}
        with open(work / RUNS, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")
    return rc


def _runs(work: Path) -> list[dict]:
    path = work / RUNS
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if path.exists() else []


def publish_student(work: Path, out: Path, note: str = "") -> Path:
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
                recipe="python -m benchmarks.distill_starter [--max-steps N], then --publish")
    runs = _runs(work)
    card.update(distill_runs=runs, distill_seconds=sum(int(r.get("seconds", 0)) for r in runs))
    if note:
        card["note"] = note
    card["distill_config"] = {k: v for k, v in card.get("distill_config", {}).items() if k != "device"}
    atomic_write_text(tmp / "student_card.json", json.dumps(card, indent=2))
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)
    return dst


def main(argv: list[str] | None = None) -> int:
    from benchmarks.train_starter_models import make_phantom

    parser = argparse.ArgumentParser(prog="distill_starter")
    parser.add_argument("--max-steps", type=int, default=1500)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "distill-starter")
    parser.add_argument("--data", type=Path, default=ROOT / "build" / "starter-models" / "phantom")
    parser.add_argument("--publish", action="store_true", help="only copy WORK's student into the starter model")
    parser.add_argument("--note", default="", help="with --publish: a note for the student card")
    args = parser.parse_args(argv)
    if args.publish:
        print(f"published {publish_student(args.work, STARTER, args.note)}")
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    for name in TEACHER_FILES:
        src, dst = STARTER / name, args.work / name
        if src.is_dir() and not dst.exists():
            shutil.copytree(src, dst)
        elif src.is_file() and not dst.exists():
            shutil.copyfile(src, dst)
    make_phantom(args.data, 20, 10)
    return _run_recorded(args.work, ["distill", "--model", str(args.work), "--data", str(args.data),
                                     "--max-steps", str(args.max_steps), "--checkpoint-every", "50"])


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
