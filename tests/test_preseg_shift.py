"""Distribution shift: held-out phantom frames mostly pass; frames unlike the training data are flagged."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.phantom import VideoRenderer
from engine.preseg import (
    EnsembleSettings,
    FrameSource,
    Presegmenter,
    PresegSettings,
    load_head,
    open_extractor,
    save_head,
    train_head,
)

#: the shipped starter model (trained on the phantom): a random tiny model's features say little about colour
STARTER = Path(__file__).resolve().parents[1] / "resources" / "models" / "starter-synthesis"
SETTINGS = PresegSettings(ensemble=EnsembleSettings(members=2, hidden=(32, 16), max_epochs=3, batch_size=256),
                          pixels_per_frame=500)

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SIZE = dict(width=960, height=540)


def _frames(seed, videos, n, style="plain"):
    return [VideoRenderer(seed, v, style=style, **SIZE).render(i) for v in videos for i in range(n)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    ex = open_extractor(STARTER, SETTINGS.features)
    train = _frames(4, (1, 2, 3, 4), 2)
    head = train_head(ex, [FrameSource(str(i), (lambda p=p: p)) for i, p in enumerate(train)], 1, SETTINGS)
    return Presegmenter(ex, head, cache_size=0)


def test_training_frames_and_held_out_videos_mostly_pass(trained):
    shift = trained.head.shift
    assert shift is not None and max(shift.training_scores) < shift.threshold
    held_out = _frames(4, (5, 6, 7, 8), 5)
    flagged = [trained.presegment(img).out_of_distribution for img, _ in held_out]
    assert sum(flagged) <= 0.05 * len(flagged)


def test_unlike_frames_are_flagged(trained):
    img = _frames(4, (5,), 1)[0][0]
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + 60) % 180
    unlike = {
        "recoloured": cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB),
        "blurred": cv2.GaussianBlur(img, (0, 0), 3),
        "noise": np.random.default_rng(1).integers(0, 256, img.shape, dtype=np.uint8),
    }
    base = trained.presegment(img).shift
    for name, frame in unlike.items():
        res = trained.presegment(frame)
        assert res.out_of_distribution and res.shift > base, name
    # another phantom style than the head was trained on: further from the training frames than the plain
    # style's new videos, and flagged where its look is far off (a video whose random look is mild passes:
    # each part has its own limit, docs/adr/0011)
    realistic = [trained.presegment(im) for im, _ in _frames(4, (5, 6, 7, 8), 1, style="realistic")]
    plain = [trained.presegment(im) for im, _ in _frames(4, (5, 6, 7, 8), 1)]
    assert sum(r.out_of_distribution for r in realistic) >= 1
    assert not any(r.out_of_distribution for r in plain)
    assert np.mean([r.shift for r in realistic]) > np.mean([r.shift for r in plain]) + 0.15


def test_each_part_has_its_own_limit(trained):
    """A frame a little off in features and colour at once is not flagged; one far off in one part is, and
    the result names that part."""
    shift = trained.head.shift
    assert shift.limits is not None and shift.threshold == 1.0
    img = _frames(4, (5,), 1)[0][0]
    feats = trained.extractor.extract(img).tensor
    parts = shift.parts(feats, img)
    assert trained.presegment(img).shift == pytest.approx(max(parts[k] / shift.limits[k] for k in parts), abs=1e-3)
    blurred = trained.presegment(cv2.GaussianBlur(img, (0, 0), 3))
    assert blurred.out_of_distribution and blurred.shift_part == "sharpness"
    swapped = trained.presegment(np.ascontiguousarray(img[..., ::-1]))
    assert swapped.out_of_distribution and swapped.shift_part in ("colour", "balance")
    # a hue rotation keeps every pixel's brightness; its overall balance gives it away
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + 60) % 180
    rotated = trained.presegment(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))
    assert rotated.out_of_distribution and rotated.shift_part in ("colour", "balance")


def test_another_cameras_white_balance_is_not_news(trained):
    """The colour prototypes include camera copies of the training frames: a held-out frame with a milder
    white-balance and exposure change than CAMERA_VARIATION stays in distribution."""
    img = _frames(4, (6,), 1)[0][0]
    cast = np.clip(img.astype(np.float32) * np.array([1.18, 1.0, 0.85]) * 1.3, 0, 255).astype(np.uint8)
    shift = trained.head.shift
    colour = shift.parts(trained.extractor.extract(cast).tensor, cast)["colour"] / shift.limits["colour"]
    assert colour < 0.8  # 1.14 of the limit (flagged) with prototypes of the training frames alone
    assert not trained.presegment(cast).out_of_distribution


def test_shift_statistics_survive_save_and_load(trained, tmp_path):
    save_head(trained.head, tmp_path / "h")
    back = load_head(tmp_path / "h")
    img = _frames(4, (6,), 1)[0][0]
    feats = trained.extractor.extract(img).tensor
    assert back.shift.score(feats, img) == pytest.approx(trained.head.shift.score(feats, img))
    assert back.shift.threshold == trained.head.shift.threshold


def test_heads_saved_before_the_limits_keep_the_sum_rule(trained):
    """A head saved with shift statistics but without limits (2026-12-01) scores the sum of its three parts
    against its own threshold, with the mean colour distance."""
    shift = trained.head.shift
    cfg = {k: v for k, v in shift.to_dict().items() if k != "limits"}
    cfg["threshold"] = 2.6
    tensors = {k: v for k, v in shift.tensors().items() if k != "shift.balances"}
    old = type(shift).from_parts(cfg, tensors, trained.head.ensemble.in_channels)
    assert old.limits is None and old.balances is None and old.threshold == 2.6
    img = _frames(4, (6,), 1)[0][0]
    feats = trained.extractor.extract(img).tensor
    parts = old.parts(feats, img)
    assert set(parts) == {"features", "colour", "sharpness"}
    assert parts["colour"] == pytest.approx(float(old.colour_distances(img, tuple(feats.shape[-2:])).mean()))
    assert old.score(feats, img) == pytest.approx(sum(parts.values()))
    with pytest.raises(ValueError, match="limits"):
        type(shift).from_parts({**cfg, "limits": {"features": 1.0}}, tensors, trained.head.ensemble.in_channels)
