"""lerp / slerp on known vectors, and the framing of 16:9 frames at the model resolution."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.textedit.embeddings import interpolate, lerp, slerp
from engine.resolution import parse_width_height
from engine.textedit.framing import check_resolution, default_resolution, plan_framing


def test_lerp_matches_formula_including_extrapolation():
    a = torch.tensor([1.0, 2.0, -3.0])
    b = torch.tensor([0.5, -1.0, 4.0])
    for t in (0.0, 0.25, 1.0, 1.5, -0.5):
        assert torch.allclose(lerp(a, b, t), (1 - t) * a + t * b)
    # the Imagic form α·e_text + (1 − α)·e_opt
    assert torch.allclose(interpolate(a, b, 1.6, "lerp"), 1.6 * b + (1 - 1.6) * a)


def test_slerp_of_orthogonal_unit_vectors():
    a = torch.tensor([1.0, 0.0, 0.0])
    b = torch.tensor([0.0, 1.0, 0.0])
    mid = slerp(a, b, 0.5)
    assert torch.allclose(mid, (a + b) / torch.linalg.norm(a + b), atol=1e-7)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-7) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-7)
    # stays on the unit circle, at angle t·90°
    for t in (0.1, 1 / 3, 0.9, 1.5):
        v = slerp(a, b, t)
        assert torch.allclose(v, torch.tensor([math.cos(t * math.pi / 2), math.sin(t * math.pi / 2), 0.0]),
                              atol=1e-6)


def test_slerp_general_formula_on_non_unit_vectors():
    a = torch.tensor([[2.0, 1.0], [0.0, -1.0]])  # treated as one flat vector
    b = torch.tensor([[-1.0, 3.0], [1.0, 0.5]])
    fa, fb = a.flatten().double(), b.flatten().double()
    theta = torch.arccos(torch.dot(fa, fb) / (fa.norm() * fb.norm()))
    t = 0.3
    expect = (torch.sin((1 - t) * theta) * fa + torch.sin(t * theta) * fb) / torch.sin(theta)
    assert torch.allclose(slerp(a, b, t).double().flatten(), expect, atol=1e-6)
    assert slerp(a, b, t).shape == a.shape


def test_slerp_falls_back_to_lerp_for_nearly_parallel_vectors():
    a = torch.tensor([1.0, 0.0, 0.0])
    b = torch.tensor([2.0, 1e-3, 0.0])  # cos θ ≈ 0.99999987
    for t in (0.3, 1.4):
        assert torch.equal(slerp(a, b, t), lerp(a, b, t))
    # and anti-parallel, and a zero vector
    assert torch.equal(slerp(a, -a, 0.5), lerp(a, -a, 0.5))
    assert torch.equal(slerp(torch.zeros(3), a, 0.5), lerp(torch.zeros(3), a, 0.5))


def test_alpha_zero_lerp_is_the_optimised_embedding_exactly():
    g = torch.Generator().manual_seed(0)
    e_opt, e_text = torch.randn(1, 77, 32, generator=g), torch.randn(1, 77, 32, generator=g)
    assert torch.equal(interpolate(e_opt, e_text, 0.0, "lerp"), e_opt)
    assert torch.equal(interpolate(e_opt, e_text, 1.0, "lerp"), e_text)
    with pytest.raises(ValueError, match="lerp or slerp"):
        interpolate(e_opt, e_text, 0.5, "cubic")
    with pytest.raises(ValueError, match="differ in shape"):
        lerp(e_opt, e_text[:, :10], 0.5)


def test_default_resolution_keeps_the_frame_aspect():
    assert default_resolution((960, 540), 512, 64) == (512, 320)   # SD 1.5: 288 rounded up to 320
    assert default_resolution((960, 540), 768, 64) == (768, 448)
    assert default_resolution((96, 54), 64, 4) == (64, 36)          # tiny model: exact 16:9
    assert default_resolution((540, 960), 512, 64) == (320, 512)


def test_resolution_parsing_and_checking():
    assert parse_width_height("512x320") == (512, 320)
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_width_height("512")
    with pytest.raises(ValueError, match="multiples of 64.*512x320"):
        check_resolution((500, 300), 64)


def test_pad_framing_round_trip_and_mirrored_border():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (54, 96, 3), dtype=np.uint8)
    plan = plan_framing((96, 54), (96, 64), "pad")
    (canvas,) = plan.split(img)
    assert canvas.shape == (64, 96, 3)
    ox, oy = plan.offsets[0]
    assert (ox, oy) == (0, 5)
    np.testing.assert_array_equal(canvas[oy:oy + 54], img)
    np.testing.assert_array_equal(canvas[oy - 1], img[1])  # mirrored, not black
    np.testing.assert_array_equal(plan.merge([canvas]), img)


def test_tile_framing_covers_the_frame_and_merges_back_exactly():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (72, 128, 3), dtype=np.uint8)
    plan = plan_framing((128, 72), (72, 72), "tile")  # short side fills the tile: scale 1
    tiles = plan.split(img)
    assert plan.num_tiles == len(tiles) == 2
    assert [o[0] for o in plan.offsets] == [0, 56]
    np.testing.assert_array_equal(tiles[1], img[:, 56:])
    np.testing.assert_array_equal(plan.merge(tiles), img)
    # an edit of one tile shows up only where that tile reaches
    t0 = tiles[0].copy()
    t0[:] = 0
    merged = plan.merge([t0, tiles[1]])
    assert (merged[:, :56] == 0).all() and np.array_equal(merged[:, 72:], img[:, 72:])


def test_framing_refuses_the_wrong_frame():
    plan = plan_framing((96, 54), (64, 36))
    with pytest.raises(ValueError, match="planned for 96x54"):
        plan.split(np.zeros((50, 96, 3), np.uint8))
    with pytest.raises(ValueError, match="pad or tile"):
        plan_framing((96, 54), (64, 36), "crop")
