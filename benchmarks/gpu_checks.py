"""The checks `benchmarks.gpu_check` runs: each takes an `Env` and returns one or more `Check` rows."""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL_W, FULL_H = 960, 540


@dataclass
class Sizes:
    """How big each check runs: `real` on a GPU, `tiny` in the CPU dry run."""

    frame: tuple[int, int]           # (W, H) of the phantom frames and masks
    resolution: tuple[int, int]      # (H, W) of the trained synthesis model
    channels: tuple[int, ...]
    batch: int
    train_steps: int
    repeats: int
    steps_override: int | None       # sampling steps per preset (None = the preset's own)
    preseg_members: int
    preseg_epochs: int
    edit_steps: int
    distill_steps: int

    @classmethod
    def real(cls) -> "Sizes":
        return cls((FULL_W, FULL_H), (144, 256), (32, 64, 96, 128), 8, 60, 5, None, 3, 5, 20, 20)

    @classmethod
    def tiny(cls) -> "Sizes":
        return cls((96, 54), (16, 32), (8, 16), 2, 3, 1, 2, 1, 1, 2, 2)


@dataclass
class Check:
    name: str
    ok: bool = True
    result: str = ""
    detail: str = ""
    values: dict = field(default_factory=dict)


class Env:
    """Shared inputs of the checks: the device, sizes, a phantom dataset and the model trained first."""

    def __init__(self, work: Path, device: str, sizes: Sizes, dry_run: bool):
        self.work, self.device, self.sizes, self.dry_run = work, device, sizes, dry_run
        self.model_dir: Path | None = None
        self._data: Path | None = None

    @property
    def data(self) -> Path:
        if self._data is None:
            from engine.phantom import generate_dataset

            self._data = self.work / "phantom"
            w, h = self.sizes.frame
            generate_dataset(self._data, videos=2, frames_per_video=4, seed=0, width=w, height=h)
        return self._data

    def first_frame(self):
        from engine.dataset import open_dataset
        from engine.imageio import read_image, read_label

        rec = open_dataset(self.data).labelled()[0]
        return rec, read_image(rec.image_path), read_label(rec.label_path)

    def model(self) -> Path:
        """A synthesis model trained here (by the training check, or now with a few steps)."""
        if self.model_dir is None:
            self.model_dir = self._train("model", "no", self.sizes.train_steps)[0]
        return self.model_dir

    def _train(self, name: str, precision: str, steps: int, device: str | None = None):
        from engine.training import TrainConfig, train_synthesis

        cfg = TrainConfig(resolution=self.sizes.resolution, class_set="full", block_out_channels=self.sizes.channels,
                          max_steps=steps, batch_size=self.sizes.batch, checkpoint_every=steps, sample_every=0,
                          log_every=max(1, steps // 3), warmup_steps=min(10, steps), mixed_precision=precision,
                          device=device or self.device, num_holdout=1)
        out = self.work / name
        res = train_synthesis(self.data, out, cfg)
        return out, res

    def resume(self, out: Path, steps: int) -> int:
        """Continue the run in `out` to `steps` (its own settings); the step reached."""
        from engine.training import TrainConfig, train_synthesis

        cfg = TrainConfig(max_steps=steps, checkpoint_every=steps, sample_every=0, device=self.device,
                          log_every=max(1, steps // 3))
        return train_synthesis(self.data, out, cfg, resume=True).step


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


@contextlib.contextmanager
def peak_memory(device: str, into: dict):
    import torch

    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    yield
    into["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20 if cuda else float("nan")


def cli(argv: list[str]) -> None:
    from engine.cli import main
    from engine.training.processes import reset_accelerate_state

    reset_accelerate_state()  # each command may choose its own precision, as in a process of its own

    rc = main(argv)
    if rc != 0:
        raise RuntimeError(f"cadis {argv[0]} exited with {rc}")


# ---- the checks ---------------------------------------------------------------------------------------------

def check_training(env: Env, precision: str) -> Check:
    c = Check(f"train-model {precision} autocast")
    use = precision if env.device != "cpu" else "no"   # on the CPU the same loop in fp32 (fp16 autocast needs CUDA)
    with peak_memory(env.device, c.values):
        out, res = env._train(f"train-{precision}", use, env.sizes.train_steps)
    log = [json.loads(x) for x in (out / "training" / "log.jsonl").read_text().splitlines()]
    steps_s = log[-1]["images_per_s"] / env.sizes.batch   # the last window: after start-up
    resumed = env.resume(out, res.step + 2)                # checkpoint (with the fp16 loss scaler) loads back
    c.values.update(steps_per_s=steps_s, loss=res.last_loss)
    h, w = env.sizes.resolution
    peak = c.values["peak_mib"]
    c.result = f"{steps_s:.2f} steps/s, peak " + (f"{peak:.0f} MiB" if peak == peak else "n/a (CPU)")
    c.detail = (f"{w}x{h}, batch {env.sizes.batch}, {res.step} steps, loss {res.last_loss:.3f}, "
                f"resumed to {resumed}")
    if env.device == "cpu":
        c.detail += " (CPU: fp32)"
    elif precision == "fp16":
        from engine.training.checkpoint import latest_checkpoint

        c.ok = (latest_checkpoint(out / "training") / "grad_scaler.json").is_file()
        c.detail += "" if c.ok else " (the checkpoint lacks grad_scaler.json)"
    if env.model_dir is None:
        env.model_dir = out
    return c


def check_synthesis(env: Env) -> list[Check]:
    from engine.pipelines import SynthesisPipeline
    from engine.pipelines.synthesis import PRESETS, preset

    pipe = SynthesisPipeline.from_pretrained(env.model(), device=env.device)
    _, _, label = env.first_frame()
    out = []
    for name in PRESETS:
        c = Check(f"synth preset {name}")
        settings = preset(name) if env.sizes.steps_override is None else preset(name, steps=env.sizes.steps_override)
        result = pipe(label, settings=settings, seed=0)     # warm-up (and the output size)
        times = []
        for r in range(env.sizes.repeats):
            sync(env.device)
            t0 = time.perf_counter()
            pipe(label, settings=settings, seed=r + 1)
            sync(env.device)
            times.append(time.perf_counter() - t0)
        times.sort()
        ms = 1000 * times[len(times) // 2]
        shape = result.images[0].shape
        c.values.update(ms_per_frame=ms, output=list(shape))
        c.result = f"{ms:.0f} ms/frame"
        c.detail = f"mask {label.shape[1]}x{label.shape[0]} -> image {shape[1]}x{shape[0]}, {settings.steps} steps"
        out.append(c)
    return out


def check_distill(env: Env) -> Check:
    c = Check("distill")
    if importlib.util.find_spec("engine.cli.commands.distill") is None:
        c.result, c.detail = "not available", "this version has no `cadis distill`"
        return c
    model = env.work / "distill-teacher"
    if not model.exists():
        import shutil

        shutil.copytree(env.model(), model)
    base = ["distill", "--model", str(model), "--data", str(env.data), "--device", env.device, "--quiet",
            "--batch-size", str(env.sizes.batch)]
    cli(base + ["--max-steps", "1"])                       # start-up, data and the first step
    t0 = time.perf_counter()
    cli(base + ["--max-steps", str(1 + env.sizes.distill_steps)])
    dt = time.perf_counter() - t0
    rate = env.sizes.distill_steps / dt
    c.values.update(steps_per_s=rate)
    c.result, c.detail = f"{rate:.2f} steps/s", f"{env.sizes.distill_steps} steps incl. resume and saving"
    return c


def check_preview(env: Env) -> list[Check]:
    """The full-size preview (the preview preset of `engine.services.synthesis.synthesize`, what `cadis synth
    --preset preview` and the live preview call) against the seed recipe (40 DDIM steps, guidance, fp32 full
    lift), interleaved on one mask. The preview is timed through that service call itself."""
    from engine.jobs import JobContext
    from engine.pipelines import SynthesisPipeline, preset
    from engine.services.pipelines import Pipelines
    from engine.services.synthesis import SynthesisRequest, synthesize

    model = env.work / "distill-teacher"
    if not (model / "student").is_dir():
        check_distill(env)
    pipelines = Pipelines()
    why = "distilled student" if getattr(pipelines.preview(str(model), env.device), "kind", "") == "student" else \
        "no fresh student: the teacher's preview preset"
    teacher = SynthesisPipeline.from_pretrained(model, device=env.device)
    _, _, label = env.first_frame()
    seed_recipe = preset("final", sampler="ddim", steps=2 if env.dry_run else 40)
    calls = {"preview": lambda r: synthesize(JobContext(), pipelines, SynthesisRequest(
                 label, str(model), preset="preview", seed=r, device=env.device)),
             "seed recipe": lambda r: teacher(label, settings=seed_recipe, seed=r)}
    times = {k: [] for k in calls}
    for r in range(1 + env.sizes.repeats):   # the first round warms up
        for key, fn in calls.items():
            sync(env.device)
            t0 = time.perf_counter()
            fn(r)
            sync(env.device)
            if r:
                times[key].append(time.perf_counter() - t0)
    ms = {k: 1000 * sorted(v)[len(v) // 2] for k, v in times.items()}
    out = []
    for key in calls:
        c = Check(f"preview path: {key}")
        c.values.update(ms_per_frame=ms[key], ratio=ms["seed recipe"] / ms[key])
        c.result = f"{ms[key]:.0f} ms/frame"
        c.detail = (f"mask {label.shape[1]}x{label.shape[0]}; {why}" if key == "preview" else
                    f"{seed_recipe.steps} DDIM steps; {ms['seed recipe'] / ms['preview']:.1f}x the preview's time")
        out.append(c)
    return out


def check_preseg(env: Env) -> list[Check]:
    from engine.preseg import Presegmenter

    train = Check("preseg train head")
    head = env.work / "head"
    t0 = time.perf_counter()
    cli(["train-preseg", "--model", str(env.model()), "--data", str(env.data), "--out", str(head), "--quiet",
         "--members", str(env.sizes.preseg_members), "--max-epochs", str(env.sizes.preseg_epochs),
         "--device", env.device])
    train.values["seconds"] = time.perf_counter() - t0
    train.result = f"{train.values['seconds']:.1f} s"
    train.detail = f"{env.sizes.preseg_members} member(s), <= {env.sizes.preseg_epochs} epochs, 8 frames"
    run = Check("preseg ms/frame")
    pre = Presegmenter.open(env.model(), head, device=env.device, cache_size=0)
    _, image, _ = env.first_frame()
    res = pre.presegment(image)
    times = []
    for _ in range(env.sizes.repeats):
        sync(env.device)
        t0 = time.perf_counter()
        pre.presegment(image)
        sync(env.device)
        times.append(time.perf_counter() - t0)
    ms = 1000 * sorted(times)[len(times) // 2]
    run.values["ms_per_frame"] = ms
    run.result = f"{ms:.0f} ms/frame"
    run.detail = f"frame {image.shape[1]}x{image.shape[0]} -> label {res.label.shape[1]}x{res.label.shape[0]}"
    if res.label.shape != image.shape[:2]:
        run.ok, run.detail = False, run.detail + " (not the frame's size)"
    return [train, run]


def check_edit(env: Env) -> list[Check]:
    from engine.imageio import read_image
    from engine.textedit import build_tiny_sd

    c = Check("tiny-SD edit (sdedit)")
    sd = build_tiny_sd(env.work / "tiny_sd", form="save_pretrained")
    rec, image, _ = env.first_frame()
    out = env.work / "edit" / "out.png"
    t0 = time.perf_counter()
    cli(["edit", "--sd", str(sd), str(rec.image_path), "--prompt", "a bright phaco handpiece", "--out", str(out),
         "--steps", str(env.sizes.edit_steps), "--device", env.device, "--quiet"])
    dt = time.perf_counter() - t0
    edited = read_image(out)
    c.values["seconds"] = dt
    c.result = f"{dt:.1f} s"
    c.detail = f"{env.sizes.edit_steps} steps, output {edited.shape[1]}x{edited.shape[0]} (random tiny weights)"
    c.ok = edited.shape == image.shape
    return [c, check_region_edit(env, sd)]


def check_region_edit(env: Env, sd_dir: Path) -> Check:
    """Issue 28: an edit of the pupil only, in half precision on CUDA; outside it the frame's own bytes."""
    import numpy as np

    from engine.textedit import edit_frame, load_sd

    c = Check("tiny-SD region edit (pupil only" + (", fp16)" if env.device == "cuda" else ")"))
    sd = load_sd(sd_dir, device=env.device, dtype="fp16" if env.device == "cuda" else None)
    _rec, image, label = env.first_frame()
    t0 = time.perf_counter()
    (r,) = edit_frame(sd, image, "a bright red pupil", "sdedit", steps=env.sizes.edit_steps, label=label,
                      region="only", region_classes="pupil")
    dt = time.perf_counter() - t0
    outside = ~r.region.editable
    c.values.update(seconds=dt, changed_inside=r.scores["changed_inside"], dtype=str(sd.dtype))
    c.result = f"{dt:.1f} s"
    c.detail = (f"{str(sd.dtype).replace('torch.', '')}, changed inside {r.scores['changed_inside']:.3f}, "
                f"outside identical {bool(np.array_equal(r.image[outside], image[outside]))}")
    c.ok = bool(np.array_equal(r.image[outside], image[outside])) and r.scores["changed_inside"] > 0
    return c


def check_augment(env: Env) -> Check:
    from engine.augment.plan import DoneLog
    from engine.project import Project

    c = Check("augment 8 pairs")
    project = Project.open_or_create(env.data, project_dir=env.work / "project")
    keys = project.frame_keys()[:4]
    for k in keys:
        project.set_status(k, "done")
    root = project.root
    project.close()
    t0 = time.perf_counter()
    cli(["augment", str(root), "--model", str(env.model()), "--frames", ",".join(keys), "--layouts", "2",
         "--samples", "1", "--device", env.device, "--no-progress"]
        + (["--steps", str(env.sizes.steps_override)] if env.sizes.steps_override else []))
    dt = time.perf_counter() - t0
    done = DoneLog(root).read_all()
    stored = sum(1 for r in done.values() if r.get("result") == "stored")
    c.values.update(seconds=dt, items=len(done), stored=stored)
    c.result = f"{dt / 8:.2f} s/pair"
    c.detail = f"{len(done)} items done, {stored} stored (preview preset)"
    c.ok = len(done) == 8
    return c


def check_accelerate_launch(env: Env) -> Check:
    c = Check("accelerate launch --num_processes 1")
    out = env.work / "launched"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no"] + (["--cpu"] if env.device == "cpu" else []) + [
        "-m", "engine.cli", "train-model", str(env.data), "--out", str(out), "--resolution",
        f"{env.sizes.resolution[1]}x{env.sizes.resolution[0]}", "--channels", ",".join(map(str, env.sizes.channels)),
        "--max-steps", "4", "--batch-size", "2", "--sample-every", "0", "--device", env.device, "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)   # the launcher and the process it started
        stdout, stderr = proc.communicate()
    dt = time.perf_counter() - t0
    card = out / "model_card.json"
    c.ok = proc.returncode == 0 and card.exists()
    c.values["seconds"] = dt
    c.result = f"{'ok' if c.ok else 'exit ' + str(proc.returncode)} in {dt:.0f} s"
    c.detail = "4 steps" if c.ok else (stderr or stdout)[-300:].replace("\n", " ")
    return c
