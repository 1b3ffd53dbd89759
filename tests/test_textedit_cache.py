"""The Imagic cache (a new α or seed costs one sampling run) and cancelling without partial files."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.jobs import JobCancelled, JobContext
from engine.textedit import edit_frame
from tests.textedit_helpers import _one_torch_thread, make_frame, tiny_sd, tiny_sd_dir  # noqa: F401

KW = dict(opt_steps=4, tune_steps=3, steps=4, guidance=3.0, tune="lora")


def _recorder():
    msgs = []
    return msgs, JobContext(lambda f, m: msgs.append(m))


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_second_alpha_and_seed_skip_optimisation(tiny_sd, tmp_path):
    cache = tmp_path / "cache" / "textedit"
    img = make_frame()
    msgs1, ctx1 = _recorder()
    first = edit_frame(tiny_sd, img, "heavy bleeding", "imagic", alphas=[0.5, 1.5], seed=1, cache_dir=cache,
                       ctx=ctx1, **KW)
    assert first[0].settings["cache"] == "miss"
    assert first[0].settings["optimiser_steps_run"] == 4 and first[0].settings["fine_tuning_steps_run"] == 3
    assert sum(m.startswith("optimising embedding") for m in msgs1) == 4
    (entry,) = [p for p in cache.iterdir()]
    assert _files(entry) == ["embedding.safetensors", "meta.json", "unet.safetensors"]

    msgs2, ctx2 = _recorder()
    (again,) = edit_frame(tiny_sd, img, "heavy bleeding", "imagic", alphas=[1.5], seed=1, cache_dir=cache,
                          ctx=ctx2, **KW)
    assert again.settings["cache"] == "hit"
    assert again.settings["optimiser_steps_run"] == 0 and again.settings["fine_tuning_steps_run"] == 0
    assert not any(m.startswith(("optimising embedding", "fine-tuning")) for m in msgs2)
    assert sum(m.startswith("sampling") for m in msgs2) == 4  # exactly one sampling run
    # the cached embedding + weights reproduce the uncached edit bit for bit
    np.testing.assert_array_equal(again.image, first[1].image)

    _, ctx3 = _recorder()
    (new_seed,) = edit_frame(tiny_sd, img, "heavy bleeding", "imagic", alphas=[1.5], seed=2, cache_dir=cache,
                             ctx=ctx3, **KW)
    assert new_seed.settings["cache"] == "hit" and not np.array_equal(new_seed.image, again.image)


def test_cache_key_follows_frame_prompt_and_settings(tiny_sd, tmp_path):
    cache = tmp_path / "c"
    img = make_frame()
    kw = dict(alphas=[1.0], cache_dir=cache, opt_steps=2, tune_steps=0, steps=2)
    assert edit_frame(tiny_sd, img, "bleeding", "imagic", **kw)[0].settings["cache"] == "miss"
    assert edit_frame(tiny_sd, img, "blur", "imagic", **kw)[0].settings["cache"] == "miss"
    other = img.copy()
    other[0, 0] ^= 1
    assert edit_frame(tiny_sd, other, "bleeding", "imagic", **kw)[0].settings["cache"] == "miss"
    assert edit_frame(tiny_sd, img, "bleeding", "imagic", **{**kw, "opt_steps": 3})[0].settings["cache"] == "miss"
    assert edit_frame(tiny_sd, img, "bleeding", "imagic", **{**kw, "interp": "slerp"})[0].settings["cache"] == "hit"
    assert len(list(cache.iterdir())) == 4
    # no fine-tuning: no weights file
    assert all(not (d / "unet.safetensors").exists() for d in cache.iterdir())


def test_an_entry_without_meta_is_ignored(tiny_sd, tmp_path):
    cache = tmp_path / "c"
    kw = dict(alphas=[1.0], cache_dir=cache, opt_steps=2, tune_steps=1, steps=2, tune="lora")
    edit_frame(tiny_sd, make_frame(), "bleeding", "imagic", **kw)
    (entry,) = list(cache.iterdir())
    (entry / "meta.json").unlink()  # as if the process died before the entry was complete
    assert edit_frame(tiny_sd, make_frame(), "bleeding", "imagic", **kw)[0].settings["cache"] == "miss"


@pytest.mark.parametrize("stage,at", [("optimising embedding", 2), ("fine-tuning", 1), ("sampling", 2)])
def test_cancel_stops_between_steps_and_leaves_no_files(tiny_sd, tmp_path, stage, at):
    cache = tmp_path / "cache"
    msgs = []
    flag = {"cancel": False}

    def progress(f, m):
        msgs.append(m)
        if m.startswith(f"{stage} {at}/"):
            flag["cancel"] = True

    ctx = JobContext(progress, lambda: flag["cancel"])
    before = {k: v.clone() for k, v in tiny_sd.unet.state_dict().items()}
    with pytest.raises(JobCancelled):
        edit_frame(tiny_sd, make_frame(), "heavy bleeding", "imagic", alphas=[1.0], cache_dir=cache, ctx=ctx,
                   **{**KW, "tune": "full"})
    # the job stopped right after the step that saw the cancel: no further step of any stage ran
    assert msgs[-1].startswith(f"{stage} {at}/")
    if stage == "sampling":
        # cancelled after steps 1 and 2 had finished: the cache entry is complete and usable, nothing else
        (entry,) = list(cache.iterdir())
        assert (entry / "meta.json").exists()
    else:
        assert not cache.exists() or _files(cache) == []
    # the shared UNet is as before (full fine-tuning restored its weights even though it was cancelled)
    assert not getattr(tiny_sd.unet, "peft_config", {})
    after = tiny_sd.unet.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items())


def test_edit_stored_in_a_project_keeps_the_label(tiny_sd, phantom_root, tmp_path):
    from engine.project import Project
    from engine.textedit.outputs import project_cache_dir, store_pair

    with Project.open_or_create(phantom_root, project_dir=tmp_path / "proj") as project:
        key = project.dataset.frames[0].key
        image, label = project.load_image(key), project.load_label(key)
        (r,) = edit_frame(tiny_sd, image, "dim light", "imagic", alphas=[1.4], opt_steps=1, tune_steps=0, steps=2,
                          cache_dir=project_cache_dir(project))
        assert r.image.shape == image.shape  # full 960x540 back from the 64x36 canvas
        pair_id = store_pair(project, key, label, r)
        stored_image, stored_label = project.load_pair(pair_id)
        rec = project.pair(pair_id)
    np.testing.assert_array_equal(stored_label, label)
    np.testing.assert_array_equal(stored_image, r.image)
    assert rec.source == "text_edit" and rec.parent_key == key
    assert rec.provenance["alpha"] == 1.4 and rec.provenance["settings"]["prompt"] == "dim light"
    assert any((tmp_path / "proj" / "cache" / "textedit").iterdir())
