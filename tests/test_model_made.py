"""Issue 22, item 2: every pixel accepted from a model's proposal is recorded as model-made in the project
store until a person edits or reviews it; training and Suspicious labels leave such pixels out (never as
evidence that the model agrees with itself) and exports say per frame how much is model-made."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from engine.edits import PaintPolicy, brush_stroke
from engine.project import Project
from engine.session import ProjectSession

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def session(phantom_root, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(phantom_root, data)
    s = ProjectSession()
    s.open_project(Project.open_or_create(data, tmp_path / "p.cadis-project"))
    yield s
    s.close_project()


def _accept_left_half(s: ProjectSession) -> tuple[np.ndarray, np.ndarray]:
    """Erase the left half (as if unlabelled), then accept a proposal of class 34 there."""
    label = s.label
    h, w = label.shape
    label[:, : w // 2] = 255
    s.save()
    proposal = np.full((h, w), 34, np.uint8)
    rec = s.accept_model_output(proposal, np.ones((h, w), bool), PaintPolicy(), "accept proposal (all)")
    assert rec is not None
    region = np.zeros((h, w), bool)
    region[:, : w // 2] = True
    return proposal, region


def test_accepted_pixels_are_model_made_until_edited_or_reviewed(session):
    s = session
    key = s.keys()[0]
    assert s.set_frame(key)
    _, region = _accept_left_half(s)
    p = s.project
    np.testing.assert_array_equal(p.model_made_mask(key, s.label), region)
    assert p.model_made_pixels()[key] == region.sum()  # recorded at once, before any save
    assert (p.root / "model-made").is_dir()

    # a person's brush over part of it: those pixels are the person's now
    h, w = s.label.shape
    rec = s.apply(brush_stroke, [(w // 4, h // 2)], 20, 3, PaintPolicy())
    assert rec is not None
    edited = rec.changed()
    s.save()
    mask = p.model_made_mask(key)
    assert not mask[h // 2, w // 4] and mask.sum() == region.sum() - edited.sum()
    assert p.model_made_pixels()[key] == mask.sum()  # the saved count follows
    human = p.human_label(key)
    assert (human[mask] == 255).all() and (human[~mask] == p.load_label(key)[~mask]).all()

    # undo the brush, then the accept: nothing the model made is left in the label
    s.undo()
    s.undo()
    assert not p.model_made_mask(key, s.label).any()
    s.redo()  # the accept again: the model's pixels again
    np.testing.assert_array_equal(p.model_made_mask(key, s.label), region)
    s.save()

    # marking Done is not a review; "Reviewed" is
    s.set_status("done")
    assert p.model_made_pixels()[key] > 0
    assert s.review_model_made() == region.sum()
    assert key not in p.model_made_pixels() and not p.model_made_mask(key).any()
    assert not (p.root / "model-made" / key).exists()


def test_model_made_record_survives_reopen_and_crash_recovery(session, tmp_path):
    s = session
    key = s.keys()[1]
    s.set_frame(key)
    _, region = _accept_left_half(s)
    root, data = s.project.root, s.project.dataset.root
    s.project._journal.close()  # a "crash": the accept is in the journal, the label was not saved
    s.project.close()
    s.project = None
    p = Project.open_or_create(data, root)
    s2 = ProjectSession()
    s2.open_project(p)
    assert key in s2.recover()
    s2.set_frame(key)
    np.testing.assert_array_equal(p.model_made_mask(key, s2.label), region)
    s2.save()
    rows = dict(p._conn.execute("SELECT key, mask_path FROM model_made"))
    assert rows[key] == f"model-made/{key}"  # a table row and a PNG beside the label: rebuild can salvage it
    s2.close_project()


def test_export_says_per_frame_how_much_is_model_made(session, tmp_path):
    from engine.export import export_cadis

    s = session
    key = s.keys()[0]
    s.set_frame(key)
    _, region = _accept_left_half(s)
    s.set_status("done")
    s.set_frame(s.keys()[1])
    s.set_status("done")
    s.save()
    out = tmp_path / "export"
    export_cadis(s.project, out)
    frames = {f["key"]: f for f in json.loads((out / "manifest.json").read_text())["frames"]}
    assert frames[key]["model_made_pixels"] == region.sum()
    assert frames[key]["model_made_fraction"] == round(region.sum() / region.size, 4)
    assert frames[s.keys()[1]]["model_made_pixels"] == 0


def test_suspicious_labels_never_trust_model_made_frames(session, tmp_path):
    """A frame filled by the model ranks as most suspicious, not least (the issue's 0.001)."""
    from engine.preseg import EnsembleSettings, PresegSettings, open_extractor, rank_suspicious
    from engine.preseg.data import model_made_shares, project_frames
    from tests.test_preseg_cli import make_model_dir

    s = session
    keys = s.keys()[:3]
    filled = keys[0]
    s.set_frame(filled)
    label = s.label
    truth = label.copy()
    label[:] = 255
    s.save()
    s.accept_model_output(truth, np.ones(label.shape, bool), PaintPolicy(), "accept proposal (all)")
    s.save()
    for k in keys:
        s.project.set_status(k, "done")
    shares = model_made_shares(s.project, keys)
    assert shares == {filled: 1.0}
    frames = project_frames(s.project, keys)
    assert (frames[0].load()[1] == 255).all()  # training never sees the model's own output
    settings = PresegSettings(pixels_per_frame=300, augment_copies=0,
                              ensemble=EnsembleSettings(members=2, hidden=(16,), max_epochs=2))
    ex = open_extractor(make_model_dir(tmp_path / "m"), settings.features)
    ranked = rank_suspicious(ex, frames, "1", settings, folds=3, model_made=shares)
    assert ranked[0].key == filled and ranked[0].score == pytest.approx(1.0)


def test_a_rebuilt_database_gets_the_model_made_rows_back_from_the_pngs(session):
    s = session
    key = s.keys()[0]
    s.set_frame(key)
    _, region = _accept_left_half(s)
    s.save()
    p = s.project
    with p._lock:
        p._conn.execute("DELETE FROM model_made")  # as if the database had been rebuilt without the table's rows
    assert p.model_made_pixels() == {}
    assert p.salvage_model_made() == 1
    assert p.model_made_pixels() == {key: int(region.sum())}
