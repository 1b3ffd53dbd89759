"""Layout variants: constraints hold, rare classes are favoured, results are deterministic."""
import numpy as np
import pytest

from engine.augment import (
    DonorPool, anatomy_under, find_instruments, layout_variants, point_over_eye, pupil_leaks,
    rare_classes_from_counts,
)
from engine.augment.instruments import anatomy_mask, instrument_mask
from engine.phantom import render_frame


@pytest.fixture(scope="module")
def labels():
    return [render_frame(s, 240, 136)[1] for s in range(10)]


def test_variants_respect_the_constraints(labels):
    for lab in labels[:4]:
        anat = anatomy_under(lab)
        variants = layout_variants(lab, 4, np.random.default_rng(1), donors=labels[4:])
        assert variants, "a phantom frame always leaves room for some variant"
        for new, ops in variants:
            assert new.shape == lab.shape and new.dtype == np.uint8
            assert not np.array_equal(new, lab)
            assert pupil_leaks(new) <= pupil_leaks(lab)
            # anatomy only changes where an instrument was before
            changed_anatomy = anatomy_mask(lab) & (new != lab)
            assert not (changed_anatomy & ~instrument_mask(new)).any()
            # the last op's instrument tip lies over the eye (cornea, iris or pupil) of the frame
            for inst in find_instruments(new):
                if inst.tip_class == ops[-1]["tip_class"] and not inst.handle_only:
                    break
            else:
                pytest.fail(f"the operated instrument {ops[-1]} is missing")
            assert ops and all(isinstance(o, dict) and o["op"] in {"move", "rotate", "scale", "mirror", "paste"}
                               for o in ops)
            assert any(point_over_eye(anat, i.tip) for i in find_instruments(new) if not i.handle_only)


def test_variants_are_deterministic_and_prefix_stable(labels):
    lab = labels[0]
    a = layout_variants(lab, 3, np.random.default_rng(7), donors=labels[5:])
    b = layout_variants(lab, 5, np.random.default_rng(7), donors=labels[5:])
    assert len(a) == 3
    for (la, oa), (lb, ob) in zip(a, b):
        assert np.array_equal(la, lb) and oa == ob
    c = layout_variants(lab, 3, np.random.default_rng(8), donors=labels[5:])
    assert any(not np.array_equal(x.label, y.label) for x, y in zip(a, c))
    keys = {v.label.tobytes() for v in b}
    assert len(keys) == len(b)  # distinct


def test_rare_classes_are_pasted_into_frames_without_them(labels):
    frame_counts = {}
    for lab in labels:
        for c in np.unique(lab):
            frame_counts[int(c)] = frame_counts.get(int(c), 0) + 1
    rare = rare_classes_from_counts(frame_counts, 0.3)
    assert rare and all(c >= 7 for c in rare)
    assert all(frame_counts[r] <= min(frame_counts[c] for c in frame_counts if c >= 7 and c not in rare)
               for r in rare)
    target = next(lab for lab in labels if not set(rare) & set(np.unique(lab).tolist()))
    donors = DonorPool([lab for lab in labels if set(rare) & set(np.unique(lab).tolist())])
    biased = layout_variants(target, 8, np.random.default_rng(3), rare_classes=rare, donors=donors)
    with_rare = sum(bool(set(rare) & set(np.unique(v.label).tolist())) for v in biased)
    plain = layout_variants(target, 8, np.random.default_rng(3), rare_classes=(), donors=donors)
    plain_rare = sum(bool(set(rare) & set(np.unique(v.label).tolist())) for v in plain)
    assert with_rare >= 4 and with_rare > plain_rare


def test_unknown_op_and_bad_k_are_refused(labels):
    with pytest.raises(ValueError, match="unknown layout operation"):
        layout_variants(labels[0], 1, np.random.default_rng(0), ops=("teleport",))
    with pytest.raises(ValueError):
        layout_variants(labels[0], -1, np.random.default_rng(0))
    # no instrument and no donor: nothing to vary
    empty = anatomy_under(labels[0])
    assert layout_variants(empty, 3, np.random.default_rng(0)) == []
