"""IoU against hand-computed values, the CaDIS-literature summing, PSNR and SSIM."""
import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.metrics import confusion, evaluate_dirs, iou_from_confusion, psnr, ssim


def test_confusion_and_iou_by_hand():
    gt = np.array([[0, 0, 1], [1, 2, 255]], np.uint8)
    pred = np.array([[0, 1, 1], [1, 2, 0]], np.uint8)
    conf = confusion(pred, gt, 4)
    assert conf.dtype == np.int64 and conf.shape == (4, 4)
    expected = np.zeros((4, 4), np.int64)
    expected[0, 0], expected[0, 1], expected[1, 1], expected[2, 2] = 1, 1, 2, 1
    assert np.array_equal(conf, expected)  # the gt=255 pixel is not counted
    per_class, miou = iou_from_confusion(conf)
    assert per_class[0] == pytest.approx(1 / 2)  # inter 1, union 2
    assert per_class[1] == pytest.approx(2 / 3)  # inter 2, union 3
    assert per_class[2] == pytest.approx(1.0)
    assert math.isnan(per_class[3])  # absent from both sides
    assert miou == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)


def test_confusion_rejects_out_of_range_ids_and_shape_mismatch():
    with pytest.raises(ValueError, match="prediction has class IDs outside"):
        confusion(np.array([5], np.uint8), np.array([0], np.uint8), 3)
    with pytest.raises(ValueError, match="ground truth"):
        confusion(np.array([0], np.uint8), np.array([7], np.uint8), 3)
    with pytest.raises(ValueError):
        confusion(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8), 3)


def test_iou_of_empty_confusion_is_nan():
    per_class, miou = iou_from_confusion(np.zeros((3, 3), np.int64))
    assert np.isnan(per_class).all() and math.isnan(miou)


def test_confusion_matches_a_naive_count_on_random_labels():
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 6, (30, 40)).astype(np.uint8)
    gt[rng.random((30, 40)) < 0.1] = 255
    pred = rng.integers(0, 6, (30, 40)).astype(np.uint8)
    naive = np.zeros((6, 6), np.int64)
    for g, p in zip(gt.ravel(), pred.ravel()):
        if g != 255:
            naive[g, p] += 1
    assert np.array_equal(confusion(pred, gt, 6), naive)


def _write(folder, name, arr):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.asarray(arr, np.uint8))


def test_evaluate_dirs_sums_over_the_whole_set(tmp_path):
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    _write(gt, "a.png", [[0, 0, 0, 0]])
    _write(pred, "a.png", [[0, 0, 0, 0]])
    _write(gt, "b.png", [[0, 0, 1, 1]])
    _write(pred, "b.png", [[0, 1, 1, 1]])
    _write(pred, "b.uncertainty.png", [[9, 9, 9, 9]])  # not a prediction
    res = evaluate_dirs(pred, gt)
    # class 0: inter 4+1, union 4+2; class 1: inter 2, union 3 (a per-frame mean would give 0.79)
    assert res["per_class"]["Pupil"] == pytest.approx(5 / 6)
    assert res["per_class"]["Surgical Tape"] == pytest.approx(2 / 3)
    assert res["per_class"]["Hand"] is None
    assert res["miou"] == pytest.approx((5 / 6 + 2 / 3) / 2)
    assert res["frames"] == 2 and res["unmatched_predictions"] == 0


def test_evaluate_dirs_with_experiment_remaps_both_sides(tmp_path):
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    _write(gt, "x.png", [[7, 8, 25, 0]])
    _write(pred, "x.png", [[8, 7, 0, 0]])
    full = evaluate_dirs(pred, gt)
    # 7: inter 0 union 2; 8: 0/2; 25: 0/1; 0: inter 1, union 2
    assert full["miou"] == pytest.approx(0.5 / 4)
    exp1 = evaluate_dirs(pred, gt, experiment=1)
    # gt -> [7, 7, 7, 0] (25 is an instrument too), pred -> [7, 7, 0, 0]
    assert exp1["per_class"]["Instrument"] == pytest.approx(2 / 3)
    assert exp1["per_class"]["Pupil"] == pytest.approx(1 / 2)
    exp3 = evaluate_dirs(pred, gt, experiment=3)  # 25 is ignored in experiment 3: that pixel drops out
    assert exp3["per_class"]["Hydro. Cannula"] == 0.0 and exp3["per_class"]["Visc. Cannula"] == 0.0
    assert exp3["per_class"]["Pupil"] == pytest.approx(1.0)
    assert len(exp3["per_class"]) == 25


def test_prediction_of_an_ignored_class_is_a_miss(tmp_path):
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    _write(gt, "x.png", [[7, 0]])
    _write(pred, "x.png", [[25, 0]])  # 25 is ignored in experiment 2
    res = evaluate_dirs(pred, gt, experiment=2)
    assert res["per_class"]["Cannula"] == 0.0 and res["per_class"]["Pupil"] == 1.0
    assert res["miou"] == pytest.approx(0.5)
    _write(pred, "x.png", [[7, 0]])
    already = evaluate_dirs(pred, gt, experiment=2, remap_pred=False)  # 7 is "Cannula" in exp-2 IDs
    assert already["miou"] == pytest.approx(1.0)


def test_matching_by_name_against_a_cadis_root(tmp_path):
    pred, root = tmp_path / "pred", tmp_path / "cadis"
    lab = [[1, 1], [2, 2]]
    _write(root, "Video01/Labels/Video1_frame000001.png", lab)
    _write(root, "Video01/Images/Video1_frame000001.png", np.zeros((2, 2, 3)))
    _write(root, "Video02/Labels/Video2_frame000001.png", lab)
    _write(root, "Video02/Images/Video2_frame000001.png", np.zeros((2, 2, 3)))
    _write(pred, "Video1_frame000001.png", lab)
    _write(pred, "Video9_frame000001.png", lab)  # no ground truth
    res = evaluate_dirs(pred, root)
    assert res["frames"] == 1 and res["miou"] == pytest.approx(1.0)
    assert res["unmatched_predictions"] == 1 and res["unmatched_ground_truth"] == 1


def test_matching_by_relative_path_wins_over_name(tmp_path):
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    _write(gt, "a/x.png", [[1, 1]])
    _write(gt, "b/x.png", [[2, 2]])
    _write(pred, "a/x.png", [[1, 1]])
    _write(pred, "b/x.png", [[2, 2]])
    assert evaluate_dirs(pred, gt)["miou"] == pytest.approx(1.0)
    flat = tmp_path / "flat"
    _write(flat, "x.png", [[1, 1]])
    with pytest.raises(ValueError, match="matches 2 ground-truth"):
        evaluate_dirs(flat, gt)


def test_evaluate_dirs_errors(tmp_path):
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    _write(gt, "x.png", [[1, 1]])
    _write(pred, "x.png", [[1, 1, 1]])
    with pytest.raises(ValueError, match="3x1"):
        evaluate_dirs(pred, gt)
    _write(pred, "x.png", [[1, 1]])
    _write(gt, "x.png", [[40, 1]])
    with pytest.raises(ValueError, match="outside 0..35"):
        evaluate_dirs(pred, gt)
    other = tmp_path / "other"
    _write(other, "y.png", [[1, 1]])
    with pytest.raises(ValueError, match="no prediction"):
        evaluate_dirs(other, gt)
    with pytest.raises(FileNotFoundError):
        evaluate_dirs(tmp_path / "missing", gt)


def test_psnr_by_hand():
    a = np.zeros((10, 10, 3), np.uint8)
    assert psnr(a, a) == math.inf
    assert psnr(a, a + 1) == pytest.approx(20 * math.log10(255))
    b = a.copy()
    b[:5] = 10  # half the pixels off by 10: MSE 50
    assert psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / 50))
    with pytest.raises(ValueError):
        psnr(a, np.zeros((10, 11, 3), np.uint8))


def _naive_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Wang et al. SSIM written out window by window (valid positions only)."""
    ax = np.arange(11) - 5
    g = np.exp(-(ax ** 2) / (2 * 1.5 ** 2))
    w = np.outer(g, g)
    w /= w.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            px, py = x[i:i + 11, j:j + 11], y[i:i + 11, j:j + 11]
            mx, my = (w * px).sum(), (w * py).sum()
            vx, vy = (w * (px - mx) ** 2).sum(), (w * (py - my) ** 2).sum()
            cxy = (w * (px - mx) * (py - my)).sum()
            vals.append((2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2)))
    return float(np.mean(vals))


def test_ssim_matches_a_window_by_window_reference():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 255, (20, 24, 3), np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    lum = lambda im: 0.299 * im[..., 0] + 0.587 * im[..., 1] + 0.114 * im[..., 2]  # noqa: E731
    assert ssim(a, b) == pytest.approx(_naive_ssim(lum(a.astype(float)), lum(b.astype(float))), abs=1e-9)
    per_channel = np.mean([_naive_ssim(a[..., c].astype(float), b[..., c].astype(float)) for c in range(3)])
    assert ssim(a, b, channels="rgb") == pytest.approx(per_channel, abs=1e-9)
    assert ssim(a[..., 0], b[..., 0]) == pytest.approx(_naive_ssim(a[..., 0].astype(float), b[..., 0].astype(float)),
                                                       abs=1e-9)


def test_ssim_properties():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 255, (32, 32, 3), np.uint8)
    assert ssim(a, a) == pytest.approx(1.0)
    small = np.clip(a.astype(int) + rng.integers(-5, 5, a.shape), 0, 255).astype(np.uint8)
    big = np.clip(a.astype(int) + rng.integers(-60, 60, a.shape), 0, 255).astype(np.uint8)
    assert 1.0 > ssim(a, small) > ssim(a, big)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(a[:8], a[:8])
    with pytest.raises(TypeError):
        ssim(a.astype(np.float32), a.astype(np.float32))
    with pytest.raises(ValueError, match="channels"):
        ssim(a, a, channels="hsv")


def test_relative_folder_arguments_and_cadis_predictions(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for root in ("gt", "pred"):
        _write(tmp_path / root, "Video01/Labels/Video1_frame000001.png", [[3, 3]])
        _write(tmp_path / root, "Video01/Images/Video1_frame000001.png", np.zeros((1, 2, 3)))  # not a label
    res = evaluate_dirs("pred", "gt")
    assert res["frames"] == 1 and res["miou"] == pytest.approx(1.0) and res["unmatched_predictions"] == 0


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8).flatmap(lambda n: st.tuples(
    st.just(n),
    arrays(np.uint8, (5, 7), elements=st.sampled_from(list(range(n)) + [255])),
    arrays(np.uint8, (5, 7), elements=st.integers(0, n - 1)),
)))
def test_confusion_margins_are_the_histograms(case):
    n, gt, pred = case
    conf = confusion(pred, gt, n)
    valid = gt != 255
    assert conf.sum() == valid.sum()
    assert np.array_equal(conf.sum(axis=1), np.bincount(gt[valid], minlength=n)[:n])
    assert np.array_equal(conf.sum(axis=0), np.bincount(pred[valid], minlength=n))
    per_class, miou = iou_from_confusion(conf)
    finite = per_class[~np.isnan(per_class)]
    assert ((finite >= 0) & (finite <= 1)).all()
    if valid.any():
        assert 0.0 <= miou <= 1.0
        assert (miou == 1.0) == bool(np.array_equal(gt[valid], pred[valid]))
