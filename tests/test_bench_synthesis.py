"""The synthesis benchmark's own pieces: judge class weights, cache keys, the repaint edit, the RSS reset."""
import numpy as np

from benchmarks._timing import peak_rss_mb, reset_peak_rss
from benchmarks.bench_repaint import _paste_instrument
from benchmarks.synth_judge import JudgeConfig
from engine.baselines.segmenters import class_weights
from engine.taxonomy import get_class_set


def test_class_weights_favour_rare_classes_and_skip_absent_ones():
    y = np.zeros((10, 10), np.uint8)
    y[0, :2] = 1          # class 1: 2 px, class 0: 98 px, class 2: absent
    y[5, 5] = 255         # ignored
    w = class_weights([y], 3, power=0.5)
    assert w[1] > 5 * w[0]
    assert w[2] == 0
    assert np.isclose(w[:2].mean(), 1.0)
    assert np.allclose(class_weights([y], 3, power=0.0)[:2], 1.0)


def test_judge_cache_key_depends_on_size_and_settings():
    a = JudgeConfig()
    assert a.key((960, 540)) != a.key((480, 270))
    assert a.key((960, 540)) != JudgeConfig(power=0.0).key((960, 540))
    assert a.key((960, 540)) == JudgeConfig().key((960, 540))


def test_pasted_instrument_changes_only_the_donors_instrument_pixels():
    cs = get_class_set(1)
    inst_id = next(i for i in range(36) if cs.remap(np.array([[i]], np.uint8))[0, 0] == cs.num_classes - 1)
    parent = np.full((8, 8), 4, np.uint8)
    donor = np.full((8, 8), 5, np.uint8)
    donor[2, 3:6] = inst_id
    edited = _paste_instrument(parent, donor, cs)
    assert (edited != parent).sum() == 3
    assert (edited[2, 3:6] == inst_id).all()


def test_reset_peak_rss_forgets_an_earlier_peak():
    big = np.ones(200_000_000 // 8)
    before = peak_rss_mb()
    del big
    if reset_peak_rss():
        assert peak_rss_mb() < before - 100
