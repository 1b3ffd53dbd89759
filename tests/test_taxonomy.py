"""The class taxonomy and remap tables against shared/cadis_reference.md, typed in again here by hand."""
import numpy as np
import pytest

from engine import taxonomy as tx
from engine.imageio import ImageReadError, read_label

# Experiment tables re-typed from the reference: new_id -> original ids; everything else -> 255.
REF_EXP2 = {
    **{i: (i,) for i in range(7)},
    7: (7, 8, 10, 27, 20, 32), 8: (9, 22), 9: (11, 33), 10: (12, 28), 11: (13, 21), 12: (14, 24),
    13: (15, 18), 14: (16, 23), 15: (17,), 16: (19,),
}
REF_EXP2_IGNORED = (25, 26, 29, 30, 31, 34, 35)
REF_EXP1 = {**{i: (i,) for i in range(7)}, 7: tuple(range(7, 36))}
REF_EXP3 = {i: (i,) for i in range(25)}


def _expected_table(groups: dict[int, tuple[int, ...]]) -> dict[int, int]:
    table = {orig: 255 for orig in range(36)}
    for new, origs in groups.items():
        for o in origs:
            table[o] = new
    return table


@pytest.mark.parametrize("exp,groups,n", [(1, REF_EXP1, 8), (2, REF_EXP2, 17), (3, REF_EXP3, 25)])
def test_every_original_id_maps_as_in_the_reference(exp, groups, n):
    cs = tx.get_class_set(exp)
    assert cs.num_classes == n
    expected = _expected_table(groups)
    for orig in range(36):
        assert int(cs.lut[orig]) == expected[orig], f"experiment {exp}, original id {orig}"
    # ids that are no CaDIS class, and the ignore value itself, map to ignore
    assert all(int(cs.lut[i]) == 255 for i in range(36, 256))


def test_experiment2_ignores_exactly_the_reference_ids():
    lut = tx.get_class_set(2).lut
    assert tuple(i for i in range(36) if lut[i] == 255) == REF_EXP2_IGNORED


def test_experiment3_ignores_25_to_35_and_exp1_ignores_nothing():
    assert [i for i in range(36) if tx.get_class_set(3).lut[i] == 255] == list(range(25, 36))
    assert all(tx.get_class_set(1).lut[i] != 255 for i in range(36))


def test_class_names_and_palette_spot_checks():
    assert len(tx.CLASS_NAMES) == 36 and len(tx.PALETTE) == 36
    assert tx.CLASS_NAMES[0] == "Pupil" and tx.CLASS_NAMES[35] == "Iris Hooks"
    assert tx.CLASS_NAMES[21] == "Phacoemulsifier Handpiece Handle"
    assert tx.PALETTE[4] == (255, 0, 0) and tx.PALETTE[33] == (2, 0, 60)
    assert tx.get_class_set(1).names[7] == "Instrument"


def test_merged_class_takes_first_original_colour_and_ignore_is_black():
    pal = tx.get_class_set(2).palette
    assert tuple(pal[7]) == tx.PALETTE[7]  # Cannula = 7 8 10 27 20 32 -> colour of 7
    assert tuple(pal[8]) == tx.PALETTE[9]  # Cap. Cystotome = 9 22
    assert tuple(pal[255]) == (0, 0, 0)


def test_remap_is_a_table_lookup_on_a_full_label():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 36, size=(540, 960), dtype=np.uint8)
    for exp in (1, 2, 3):
        out = tx.remap(label, exp)
        assert out.shape == label.shape and out.dtype == np.uint8
        table = _expected_table({1: REF_EXP1, 2: REF_EXP2, 3: REF_EXP3}[exp])
        for orig in (0, 7, 22, 25, 35):
            assert np.all(out[label == orig] == table[orig])


def test_remap_refuses_non_uint8_and_unknown_sets():
    with pytest.raises(TypeError):
        tx.remap(np.zeros((2, 2), np.int32), 1)
    with pytest.raises(ValueError, match="unknown class set"):
        tx.get_class_set(4)


def test_colorize_uses_palette():
    label = np.array([[0, 4], [255, 33]], np.uint8)
    rgb = tx.colorize(label)
    assert rgb.shape == (2, 2, 3)
    assert tuple(rgb[0, 1]) == (255, 0, 0) and tuple(rgb[1, 1]) == (2, 0, 60)


def test_both_label_encodings_read_the_same_ids(tmp_path):
    import cv2

    ids = np.arange(36, dtype=np.uint8).reshape(6, 6)
    cv2.imwrite(str(tmp_path / "one.png"), ids)
    cv2.imwrite(str(tmp_path / "three.png"), np.dstack([ids, ids, ids]))
    assert np.array_equal(read_label(tmp_path / "one.png"), ids)
    assert np.array_equal(read_label(tmp_path / "three.png"), ids)
    bad = np.dstack([ids, ids, ids]).copy()
    bad[0, 0, 2] = 7
    cv2.imwrite(str(tmp_path / "colour.png"), bad)
    with pytest.raises(ImageReadError, match="channels differ"):
        read_label(tmp_path / "colour.png")
