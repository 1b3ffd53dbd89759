"""Training the synthesis model: data preparation, exact resume, sample grids, cancel, train-model CLI."""
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from engine.imageio import read_image, write_image, write_label
from engine.jobs import JobCancelled, JobContext
from engine.models import load_synthesis_model
from engine.training import SynthesisDataset, TrainingPair, collect_pairs, train_synthesis
from tests.synthesis_helpers import train_config as _cfg, training_pairs as _pairs, model_weights as _weights


def test_resume_continues_exactly_where_it_stopped(tmp_path):
    pairs = _pairs()
    train_synthesis(pairs, tmp_path / "a", _cfg(max_steps=4))  # four steps straight through
    first = train_synthesis(pairs, tmp_path / "b", _cfg(max_steps=2))
    assert first.step == 2 and first.start_step == 0
    resumed = train_synthesis(pairs, tmp_path / "b", _cfg(max_steps=4), resume=True)
    assert resumed.start_step == 2 and resumed.step == 4
    wa, wb = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)   # EMA weights: identical to the uninterrupted run
    ma = load_file(str(tmp_path / "a" / "training" / "checkpoint-000004" / "model.safetensors"))
    mb = load_file(str(tmp_path / "b" / "training" / "checkpoint-000004" / "model.safetensors"))
    assert all(torch.equal(ma[k], mb[k]) for k in ma)    # raw weights too (optimizer state was restored)
    log = [json.loads(line)["step"] for line in (tmp_path / "b" / "training" / "log.jsonl").read_text().splitlines()]
    assert log == [1, 2, 3, 4]
    _, _, card = load_synthesis_model(tmp_path / "b", device="cpu")
    assert card["steps"] == 4 and card["training_frames"] == 8 and len(card["training_data_fingerprint"]) == 16


def test_training_reduces_the_loss_and_samples_a_grid(tmp_path):
    events = []
    cfg = _cfg(max_steps=30, batch_size=4, sample_every=30, sample_steps=2, checkpoint_every=30, log_every=5,
               learning_rate=1e-3)
    res = train_synthesis(_pairs(12), tmp_path / "m", cfg, on_event=events.append)
    losses = [e["loss"] for e in events if e["kind"] == "log"]
    assert len(losses) == 6 and np.mean(losses[-2:]) < np.mean(losses[:2])
    grid = read_image(res.sample_grids[-1])
    assert grid.shape == (2 * 16, 3 * 32, 3)        # 2 held-out rows: mask | real | sample
    assert any(e["kind"] == "samples" for e in events)


def test_existing_run_needs_resume_and_cancel_saves_a_checkpoint(tmp_path):
    pairs = _pairs()
    steps = []

    with pytest.raises(JobCancelled, match="resume"):  # the user presses cancel after step 2
        train_synthesis(pairs, tmp_path / "c", _cfg(max_steps=50, checkpoint_every=100),
                        ctx=JobContext(cancelled=lambda: len(steps) >= 2),
                        on_event=lambda e: steps.append(e["step"]) if e["kind"] == "log" else None)
    assert (tmp_path / "c" / "training" / "checkpoint-000002").is_dir()
    with pytest.raises(ValueError, match="--resume"):
        train_synthesis(pairs, tmp_path / "c", _cfg(max_steps=3))
    assert train_synthesis(pairs, tmp_path / "c", _cfg(max_steps=3), resume=True).start_step == 2


def test_dataset_resizes_labels_nearest_and_images_by_area():
    img = np.zeros((36, 64, 3), np.uint8)
    img[:, ::2] = 255                          # stripes: area-resize averages them to grey
    lab = np.zeros((36, 64), np.uint8)
    lab[:, 32:] = 20                           # -> Instrument (7) in experiment 1
    ds = SynthesisDataset([TrainingPair(img, lab, "x")], (18, 32), "1")
    assert ds.images.shape == (1, 18, 32, 3) and 100 < ds.images.mean() < 155
    assert set(np.unique(ds.labels)) == {0, 7}
    x, y = ds.batch(torch.tensor([0, 0]), torch.tensor([False, True]))
    assert x.shape == (2, 3, 18, 32) and -1 <= x.min() and x.max() <= 1
    assert y[0, 0, 0] == 0 and y[1, 0, 0] == 7  # the second one is mirrored


def test_class_weights_favour_rare_classes():
    lab = np.zeros((40, 40), np.uint8)
    lab[:2, :2] = 20
    ds = SynthesisDataset([TrainingPair(np.zeros((40, 40, 3), np.uint8), lab, "x")], (40, 40), "1")
    w = ds.class_weights(0.5)
    assert w[7] > 5 * w[0] and w[3] == 1.0   # rare instrument up-weighted, absent class neutral


def test_collect_pairs_from_a_folder_of_synth_outputs(tmp_path):
    for i, (img, lab) in enumerate(_pairs(3)):
        write_image(tmp_path / f"s{i}.png", img)
        write_label(tmp_path / f"s{i}.mask.png", lab)
    pairs = collect_pairs(tmp_path)
    assert [p.name for p in pairs] == ["s0.png", "s1.png", "s2.png"]
    with pytest.raises(ValueError, match="no labelled frames"):
        collect_pairs(tmp_path / "empty") if (tmp_path / "empty").mkdir() is None else None


def test_train_model_cli_on_a_tiny_phantom_set(phantom_root, tmp_path):
    from engine.cli import main

    out = tmp_path / "model"
    rc = main(["train-model", str(phantom_root), "--out", str(out), "--resolution", "32x16", "--classes", "1",
               "--channels", "8,16", "--max-steps", "2", "--batch-size", "2", "--sample-every", "0", "--device", "cpu",
               "--quiet"])
    assert rc == 0
    model, _, card = load_synthesis_model(out, device="cpu", class_set="1", resolution="32x16")
    assert card["steps"] == 2 and card["training_frames"] > 0
    known = card["trained_on_data"]  # what the model knows, for the Synthesize dock's warnings
    assert known["source"] == "phantom" and known["frames"] == card["training_frames"]
    assert known["resolution"] == "32x16" and known["frame_size"] == "960x540" and known["stats"]["mean"]
    rc = main(["train-model", str(phantom_root), "--out", str(out), "--max-steps", "3", "--resume", "--quiet",
               "--device", "cpu", "--channels", "8,16", "--resolution", "32x16", "--classes", "1"])
    assert rc == 0 and load_synthesis_model(out, device="cpu")[2]["steps"] == 3


def test_train_model_cli_refuses_bad_resolution(tmp_path, capsys):
    from engine.cli import main

    rc = main(["train-model", str(tmp_path), "--out", str(tmp_path / "m"), "--resolution", "100x60"])
    assert rc == 2 and "divide by 8" in capsys.readouterr().err


def test_x0_prediction_training_writes_its_scheduler_config(tmp_path):
    from engine.pipelines import SynthesisPipeline, SynthesisSettings

    res = train_synthesis(_pairs(6), tmp_path / "x0", _cfg(max_steps=2, prediction_type="sample"))
    pipe = SynthesisPipeline.from_pretrained(res.model_dir, device="cpu")
    assert pipe.scheduler_config["prediction_type"] == "sample"
    mask = _pairs(1)[0][1]
    assert pipe(mask, settings=SynthesisSettings(steps=2)).images[0].shape == (*mask.shape, 3)  # the mask's size
    with pytest.raises(ValueError, match="prediction_type"):
        train_synthesis(_pairs(6), tmp_path / "bad", _cfg(prediction_type="velocity"))
