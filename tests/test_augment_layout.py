"""Layout operations keep labels exact: moved pixels move, nothing else changes, vacated pixels get anatomy."""
import cv2
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine.augment import (
    anatomy_under, fill_vacated, find_instruments, mirror_instrument, move_instrument, paste_instrument,
    pupil_leaks, remove_instrument, rotate_instrument, scale_instrument,
)
from engine.augment.instruments import anatomy_mask
from engine.phantom import render_frame
from engine.taxonomy import ANATOMY_IDS

H, W = 120, 200


def eye_label() -> np.ndarray:
    """Skin, an elliptic cornea, iris ring and pupil; a primary knife (12) with its handle (28) entering from
    the left border, and a micromanipulator (17) entering from the right."""
    lab = np.full((H, W), 5, np.uint8)
    cv2.ellipse(lab, (100, 60), (80, 50), 0, 0, 360, 6, -1)
    cv2.circle(lab, (100, 60), 32, 4, -1)
    cv2.circle(lab, (100, 60), 18, 0, -1)
    cv2.line(lab, (0, 40), (40, 48), 28, 5)      # handle from the left border
    cv2.line(lab, (41, 48), (95, 58), 12, 3)     # knife tip into the pupil
    cv2.line(lab, (199, 95), (120, 66), 17, 2)   # micromanipulator from the right
    return lab


def _inst(lab, tip_class):
    return next(i for i in find_instruments(lab) if i.tip_class == tip_class)


def test_find_instruments_groups_tip_with_its_handle():
    lab = eye_label()
    insts = find_instruments(lab)
    assert sorted(i.tip_class for i in insts) == [12, 17]
    knife = _inst(lab, 12)
    assert set(knife.classes) == {12, 28}
    assert knife.area == int(np.isin(lab, [12, 28]).sum())
    assert knife.touches_border
    # the tip is the knife pixel farthest from where it enters: near the pupil centre
    assert abs(knife.tip[0] - 95) <= 2 and abs(knife.tip[1] - 58) <= 2


def test_find_instruments_on_phantom_frames_covers_every_instrument_pixel():
    for seed in range(4):
        _img, lab = render_frame(seed, 320, 180)
        insts = find_instruments(lab, min_area=1)
        union = np.zeros(lab.shape, bool)
        for i in insts:
            assert not (union & i.mask).any()  # disjoint
            union |= i.mask
        assert np.array_equal(union, ~anatomy_mask(lab) & (lab != 255))


def _check_only_instrument_changed(before, after, old_mask, new_mask):
    changed = before != after
    assert not (changed & ~(old_mask | new_mask)).any(), "pixels outside the instrument changed"
    vacated = old_mask & ~new_mask
    assert np.isin(after[vacated], ANATOMY_IDS).all(), "vacated pixels must become anatomy"


@settings(max_examples=25, deadline=None)
@given(dx=st.integers(-60, 60), dy=st.integers(-40, 40))
def test_move_moves_every_pixel_by_exactly_the_offset(dx, dy):
    lab = eye_label()
    knife = _inst(lab, 12)
    res = move_instrument(lab, knife, dx, dy)
    ys, xs = np.nonzero(knife.mask)
    inside = (ys + dy >= 0) & (ys + dy < H) & (xs + dx >= 0) & (xs + dx < W)
    assert np.array_equal(res.label[ys[inside] + dy, xs[inside] + dx], lab[ys[inside], xs[inside]])
    assert res.mask.sum() == inside.sum()
    _check_only_instrument_changed(lab, res.label, knife.mask, res.mask)
    assert res.op["op"] == "move" and (res.op["dx"], res.op["dy"]) == (dx, dy)
    assert lab is not res.label and np.array_equal(lab, eye_label())  # input untouched


def test_rotate_keeps_classes_and_pixel_count():
    lab = eye_label()
    knife = _inst(lab, 12)
    res = rotate_instrument(lab, knife, 25.0, pivot=(100.0, 60.0))
    assert set(np.unique(res.label[res.mask]).tolist()) == {12, 28}
    for c in (12, 28):
        before, after = int((lab == c).sum()), int((res.label[res.mask] == c).sum())
        assert abs(after - before) <= 0.08 * before + 4
    _check_only_instrument_changed(lab, res.label, knife.mask, res.mask)
    # the tip follows the rotation (counter-clockwise on screen about the pivot)
    ang = np.deg2rad(25.0)
    tx, ty = knife.tip[0] - 100, knife.tip[1] - 60
    exp = (100 + tx * np.cos(ang) + ty * np.sin(ang), 60 - tx * np.sin(ang) + ty * np.cos(ang))
    assert np.allclose(res.tip, exp, atol=1e-6)
    ty, tx = int(round(res.tip[1])), int(round(res.tip[0]))
    assert (res.label[ty - 1:ty + 2, tx - 1:tx + 2] == 12).any()


@pytest.mark.parametrize("factor", [0.7, 1.4])
def test_scale_changes_area_by_factor_squared(factor):
    lab = eye_label()
    mm = _inst(lab, 17)
    res = scale_instrument(lab, mm, factor, pivot=(150.0, 80.0))
    assert set(np.unique(res.label[res.mask]).tolist()) == {17}
    # a thin line scales about linearly in length and in width
    assert res.mask.sum() == pytest.approx(mm.area * factor ** 2, rel=0.35)
    _check_only_instrument_changed(lab, res.label, mm.mask, res.mask)


def test_mirror_is_one_to_one_and_an_involution():
    lab = eye_label()
    knife = _inst(lab, 12)
    res = mirror_instrument(lab, knife, "vertical")
    assert res.mask.sum() == knife.area
    ys, xs = np.nonzero(knife.mask)
    assert np.array_equal(res.label[ys, W - 1 - xs], lab[ys, xs])
    _check_only_instrument_changed(lab, res.label, knife.mask, res.mask)
    back = mirror_instrument(res.label, _inst(res.label, 12), "vertical")
    assert np.array_equal(back.mask, knife.mask)
    assert np.array_equal(back.label[knife.mask], lab[knife.mask])


def test_paste_brings_the_donor_class_and_replace_removes_the_old_one():
    lab = eye_label()
    donor = np.full((H, W), 6, np.uint8)
    cv2.line(donor, (100, 119), (100, 70), 24, 5)   # lens injector handle from the bottom border
    cv2.line(donor, (100, 69), (100, 55), 14, 4)    # lens injector tip
    inj = _inst(donor, 14)
    res = paste_instrument(lab, donor, inj, dx=5, dy=-3, replace=_inst(lab, 17))
    assert (res.label == 14).sum() == (donor == 14).sum()
    assert (res.label == 24).sum() > 0
    assert not (res.label == 17).any()
    ys, xs = np.nonzero(inj.mask)
    assert np.array_equal(res.label[ys - 3, xs + 5], donor[ys, xs])
    with pytest.raises(ValueError, match="resize the donor"):
        paste_instrument(lab, donor[:50], inj)


def test_fill_keeps_pupil_inside_iris_and_removes_nothing_else():
    lab = eye_label()
    # a thick bar across pupil, iris ring and cornea, as if a big instrument lay there
    bar = np.zeros((H, W), np.uint8)
    cv2.line(bar, (100, 60), (180, 60), 1, 9)
    lab[bar.astype(bool)] = 13
    inst = _inst(lab, 13)
    out = remove_instrument(lab, inst)
    assert not (out == 13).any()
    assert pupil_leaks(out) == 0
    # pixels of the vacated bar within the iris circle (r 18..32) became iris, within 18 pupil
    yy, xx = np.mgrid[:H, :W]
    r = np.hypot(xx - 100, yy - 60)
    vac = bar.astype(bool)
    assert (out[vac & (r < 16)] == 0).all()
    assert (out[vac & (r > 20) & (r < 30)] == 4).all()
    assert (out[vac & (r > 35) & (xx < 175)] == 6).all()
    assert np.array_equal(out[~vac], lab[~vac])


def test_fill_without_anatomy_gives_ignore_and_anatomy_under_hides_instruments():
    lab = np.full((10, 10), 13, np.uint8)
    assert (fill_vacated(lab, lab == 13) == 255).all()
    _img, ph = render_frame(3, 320, 180)
    anat = anatomy_under(ph)
    assert np.isin(anat, ANATOMY_IDS).all()
    keep = anatomy_mask(ph)
    assert np.array_equal(anat[keep], ph[keep])
