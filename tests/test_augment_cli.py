"""`cadis augment` with a tiny synthesis model, and `cadis eval-dist` (diffusion-feature distance)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from augment_helpers import make_project, save_tiny_model
from engine.cli import main


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


def test_cli_augment_stores_pairs_and_resumes(tmp_path, tiny_model_dir, capsys):
    project = make_project(tmp_path, videos=1, frames=2)
    root, keys = project.root, project.frame_keys()
    project.close()
    argv = ["augment", str(root), "--model", str(tiny_model_dir), "--layouts", "2", "--samples", "1",
            "--steps", "2", "--device", "cpu", "--no-progress", "--frames", ",".join(keys)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "pair(s) stored" in out
    from engine.project import Project

    with Project.open_or_create(root) as p:
        pairs = p.pairs(source="augment")
        assert 1 <= len(pairs) <= 4
        image, label = p.load_pair(pairs[0].id)
        prov = pairs[0].provenance
        parent = pairs[0].parent_key
        real = p.load_image(parent)
        assert image.shape == real.shape and label.shape == real.shape[:2]  # the frame's own size
        assert prov["mode"] == "repaint"  # the default: only what the layout variant changed is new
        from engine.pipelines.repaint import decode_region, grow

        changed = decode_region(prov["repaint"]["changed_region"])
        np.testing.assert_array_equal(changed, p.load_label(parent) != label)
        outside = ~grow(changed, prov["repaint"]["margin"])
        np.testing.assert_array_equal(image[outside], real[outside])
        assert prov["model_info"]["steps"] == 2 and len(prov["model"]) == 16
    assert main(argv) == 0
    assert "0 pair(s) stored" in capsys.readouterr().out
    with Project.open_or_create(root) as p:
        assert len(p.pairs(source="augment")) == len(pairs)


def test_cli_augment_refuses_filters_without_a_head(tmp_path, tiny_model_dir, capsys):
    project = make_project(tmp_path, videos=1, frames=1)
    root = project.root
    project.close()
    assert main(["augment", str(root), "--model", str(tiny_model_dir), "--min-consistency", "0.5",
                 "--no-progress"]) == 2
    assert "--head" in capsys.readouterr().err


def test_cli_eval_dist_names_its_distance(phantom_root, tmp_path, tiny_model_dir, capsys):
    out_json = tmp_path / "d.json"
    assert main(["eval-dist", str(phantom_root), str(phantom_root), "--model", str(tiny_model_dir),
                 "--device", "cpu", "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    assert "diffusion-feature distance" in text and "not FID" in text
    res = json.loads(out_json.read_text())
    assert res["name"] == "diffusion-feature distance" and res["n_real"] == 9
    assert res["frechet"] == pytest.approx(0.0, abs=1e-6)
    assert main(["eval-dist", str(phantom_root), str(phantom_root)]) == 2
    assert main(["eval-dist", str(phantom_root), str(tmp_path), "--model", str(tiny_model_dir)]) == 2
