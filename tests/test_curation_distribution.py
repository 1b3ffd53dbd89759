"""FID / KID formulas on known Gaussians, and the diffusion-feature distance (never called FID)."""
import numpy as np
import pytest

from engine.metrics.distribution import (
    DIFFUSION_NAME, DiffusionFeatures, distribution_distance, feature_stats, frechet_distance, kid, mmd2_unbiased,
)


def test_frechet_distance_of_known_gaussians():
    assert frechet_distance([0.0], [[1.0]], [3.0], [[4.0]]) == pytest.approx(9 + 1 + 4 - 2 * 2)
    mu1, mu2 = np.array([1.0, 2.0, 0.0]), np.array([0.0, 0.0, 1.0])
    d1, d2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = ((mu1 - mu2) ** 2).sum() + (d1 + d2 - 2 * np.sqrt(d1 * d2)).sum()
    assert frechet_distance(mu1, np.diag(d1), mu2, np.diag(d2)) == pytest.approx(expected)
    # invariant under a rotation of both Gaussians (non-diagonal covariances)
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    rot = frechet_distance(q @ mu1, q @ np.diag(d1) @ q.T, q @ mu2, q @ np.diag(d2) @ q.T)
    assert rot == pytest.approx(expected, rel=1e-9)
    s = np.cov(np.random.default_rng(1).normal(size=(50, 4)), rowvar=False)
    assert frechet_distance(np.ones(4), s, np.ones(4), s) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_sample_estimates_match_the_formula():
    rng = np.random.default_rng(2)
    a = rng.normal(0, 1, (20000, 2))
    b = rng.normal(0, 1, (20000, 2)) * [1.0, 2.0] + [1.0, 0.0]
    fd = frechet_distance(*feature_stats(a), *feature_stats(b))
    assert fd == pytest.approx(1 + (1 + 4 - 2 * 2), abs=0.1)


def test_sample_space_shortcut_equals_the_formula():
    from engine.metrics.distribution import frechet_distance_of_features

    rng = np.random.default_rng(5)
    for n1, n2, d in ((6, 9, 20), (40, 30, 5)):
        x, y = rng.normal(size=(n1, d)), rng.normal(1.0, 2.0, size=(n2, d))
        direct = frechet_distance(*feature_stats(x), *feature_stats(y))
        assert frechet_distance_of_features(x, y) == pytest.approx(direct, rel=1e-6)
    with pytest.raises(ValueError):
        frechet_distance_of_features(x[:1], y)


def test_kid_is_about_zero_for_identical_sets_and_positive_otherwise():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 8))
    same, _ = kid(x, x.copy(), subset_size=300)
    assert abs(same) < 0.1  # the unbiased estimate is off zero by O(1/n) for identical sets
    y = rng.normal(size=(300, 8))
    assert abs(mmd2_unbiased(x, y)) < 0.05
    far, std = kid(x, y + 1.5, subsets=5, subset_size=100)
    assert far > 0.5 and far > 10 * abs(same) and std >= 0
    with pytest.raises(ValueError):
        mmd2_unbiased(x[:1], y)


@pytest.fixture(scope="module")
def tiny_model():
    import torch

    from engine.models import SpadeUNet2DModel

    torch.manual_seed(0)
    return SpadeUNet2DModel(sample_size=(16, 32), block_out_channels=(8, 16), layers_per_block=1, spade_hidden=8,
                            head_dim=8)


def test_diffusion_feature_distance(tiny_model):
    feats = DiffusionFeatures(tiny_model)
    rng = np.random.default_rng(4)
    real = [rng.integers(0, 255, (40, 60, 3), dtype=np.uint8) for _ in range(6)]
    f = feats(real)
    assert f.shape == (6, 16 + 8)  # one mean-pooled vector per frame: decoder blocks of 16 and 8 channels
    assert np.array_equal(f, feats(real))  # deterministic
    same = distribution_distance(real, [r.copy() for r in real], feats)
    assert same.name == DIFFUSION_NAME and "FID" not in same.name
    assert same.frechet == pytest.approx(0.0, abs=1e-6)
    dark = [np.zeros_like(r) + 20 for r in real]
    other = distribution_distance(real, dark, feats, batch=4)
    assert other.frechet > same.frechet + 1e-4 and other.n_real == other.n_synthetic == 6
    with pytest.raises(ValueError, match="Inception"):
        distribution_distance(real, dark, feats, name="FID", feature_info="diffusion decoder")
