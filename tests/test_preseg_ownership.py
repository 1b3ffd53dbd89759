"""Issue 22, item 1: a head belongs to the project (or dataset) it was trained from. Training, from the
engine or `cadis train-preseg`, never writes over a head of another project unless asked to replace it."""
from __future__ import annotations

import json
import shutil

import pytest

from engine.cli import main
from tests.test_preseg_cli import FAST, make_model_dir

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("own_model"))


@pytest.fixture(scope="module")
def two_projects(phantom_root, tmp_path_factory):
    """Projects A and B over two copies of the phantom sample, two frames of each marked done."""
    from engine.project import Project

    base = tmp_path_factory.mktemp("two")
    roots = []
    for name in ("A", "B"):
        data = base / f"data{name}"
        shutil.copytree(phantom_root, data)
        with Project.open_or_create(data, base / f"{name}.cadis-project") as p:
            for k in p.frame_keys()[:2]:
                p.set_status(k, "done")
            roots.append(p.root)
    return roots


def _train(model_dir, data, out, *extra):
    return main(["train-preseg", "--model", str(model_dir), "--data", str(data), "--out", str(out),
                 "--classes", "1"] + FAST + list(extra))


def test_cli_never_silently_replaces_another_projects_head(model_dir, two_projects, capsys):
    a, b = two_projects
    b_head = b / "preseg-head"
    assert _train(model_dir, b, b_head) == 0
    cfg = json.loads((b_head / "preseg_head.json").read_text())
    assert cfg["meta"]["owner"] == str(b.resolve())
    before = (b_head / "preseg_head.safetensors").read_bytes(), (b_head / "preseg_head.json").read_text()
    capsys.readouterr()

    assert _train(model_dir, a, b_head) != 0  # project A into B's head: refused before any work
    err = capsys.readouterr().err
    assert "holds a pre-segmentation head of" in err and "--replace" in err and "Traceback" not in err
    assert ((b_head / "preseg_head.safetensors").read_bytes(), (b_head / "preseg_head.json").read_text()) == before

    assert _train(model_dir, b, b_head) == 0  # B retraining its own head is fine
    assert _train(model_dir, a, a / "preseg-head") == 0  # A into its own folder: fine
    assert _train(model_dir, a, b_head, "--replace") == 0  # replacing on purpose
    assert json.loads((b_head / "preseg_head.json").read_text())["meta"]["owner"] == str(a.resolve())


def test_engine_refuses_before_training_and_infers_old_heads_owner(model_dir, two_projects, tmp_path):
    from engine.preseg import HeadOwnershipError, belongs_to, head_owner, train_preseg, training_frames

    a, b = two_projects
    old = b / "preseg-head"
    # a head saved before owners were recorded, in B's own folder, belongs to B
    cfg = json.loads((old / "preseg_head.json").read_text()) if (old / "preseg_head.json").is_file() else None
    if cfg is None:
        assert _train(model_dir, b, old) == 0
        cfg = json.loads((old / "preseg_head.json").read_text())
    cfg["meta"].pop("owner", None)
    (old / "preseg_head.json").write_text(json.dumps(cfg))
    assert head_owner(old) == str(b.resolve()) and not belongs_to(old, str(a))
    loads = []
    frames = training_frames(a)
    frames = [type(f)(f.key, lambda f=f: loads.append(f.key) or f.load()) for f in frames]
    with pytest.raises(HeadOwnershipError):
        train_preseg(model_dir, frames, "1", old, owner=a)
    assert loads == []  # refused before a frame was read or the model loaded
    stray = tmp_path / "stray"  # a head of unknown owner outside any project counts as someone else's
    shutil.copytree(old, stray)
    assert head_owner(stray) is None and not belongs_to(stray, str(a)) and belongs_to(tmp_path / "new", str(a))
