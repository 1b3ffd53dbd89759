"""The realistic phantom style: deterministic, same labels as plain, visibly different images."""
from __future__ import annotations

import json

import numpy as np

from engine.phantom import VideoRenderer, generate_dataset, render_frame
from engine.phantom.realistic import sample_look

SMALL = dict(width=240, height=135)


def test_realistic_is_deterministic_and_keeps_the_label():
    a_img, a_lab = render_frame(5, style="realistic", **SMALL)
    b_img, b_lab = render_frame(5, style="realistic", **SMALL)
    p_img, p_lab = render_frame(5, **SMALL)
    assert np.array_equal(a_img, b_img) and np.array_equal(a_lab, b_lab)
    assert np.array_equal(a_lab, p_lab)  # the style changes pixels, never the label
    diff = np.abs(a_img.astype(int) - p_img.astype(int))
    assert diff.mean() > 8  # more than noise: exposure, cast and tissue colour moved


def test_videos_get_different_looks_and_colour_no_longer_names_the_class():
    """The mean colour of skin differs more between realistic videos than between plain ones."""
    def skin_means(style):
        out = []
        for video in range(1, 5):
            img, lab = VideoRenderer(2, video, style=style, **SMALL).render(0)
            out.append(img[lab == 5].mean(axis=0))
        return np.array(out)

    assert skin_means("realistic").std(axis=0).mean() > skin_means("plain").std(axis=0).mean()
    assert sample_look(2, 1) != sample_look(2, 2)
    assert sample_look(2, 1) == sample_look(2, 1)


def test_generate_dataset_records_the_style(tmp_path):
    generate_dataset(tmp_path / "r", videos=1, frames_per_video=2, seed=1, style="realistic", **SMALL)
    manifest = json.loads((tmp_path / "r" / "phantom.json").read_text())
    assert manifest["style"] == "realistic"


def test_cli_style_option(tmp_path):
    from engine.cli import main
    from engine.imageio import read_image

    for style in ("plain", "realistic"):
        assert main(["phantom", str(tmp_path / style), "--videos", "1", "--frames-per-video", "1", "--width", "240",
                     "--height", "135", "--style", style, "--quiet"]) == 0
    name = "Video01/Images/Video1_frame000000.png"
    assert not np.array_equal(read_image(tmp_path / "plain" / name), read_image(tmp_path / "realistic" / name))
