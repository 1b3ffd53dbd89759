"""Curation's captions and details in plain words: a repaint is called repaint, encoded blobs are not printed,
a pair flagged as unlike the model's training frames says so first, and an unscored pair is "not scored yet"."""
from __future__ import annotations

from pathlib import Path

import pytest

from desktop.panels.curation.pair_model import PairItem
from engine.project.pairs import PairRecord

pytestmark = pytest.mark.gui


def _item(provenance: dict) -> PairItem:
    rec = PairRecord(3, "synthesis", provenance, "Video01/Images/Video1_frame000030.png", "pending",
                     Path("/p/i.png"), Path("/p/l.png"), 960, 540, 0.0)
    return PairItem(rec, {"consistency": None, "uncertainty": None, "psnr": None}, frozenset({0, 4}))


def test_repaint_pair_reads_as_a_repaint_without_blobs():
    blob = "iVBORw0KGgoAAAANSUhEUgAAA" * 20
    item = _item({"seed": 5, "repaint": {"changed_mask_png": blob, "margin": 16},
                  "warning": "This frame is unlike the phantom frames the model was trained on (grain and noise)"})
    caption, details = item.caption(), item.details()
    assert caption.startswith("⚠ #3 repaint") and "not scored yet" in caption and "no scores" not in caption
    assert details.startswith("⚠ This frame is unlike") and "pair 3 · repaint · pending" in details
    assert blob not in details and "(stored data, 500 characters)" in details and "margin: 16" in details


def test_plain_synthesis_pair_keeps_its_source_name():
    item = _item({"seed": 5})
    assert item.caption().startswith("#3 synthesis") and "⚠" not in item.details()
