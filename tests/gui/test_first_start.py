"""The first start makes the phantom sample under a progress window that ends at 100 %, not behind a black one;
a sample already there opens without it."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QProgressDialog

from desktop.app import make_sample

pytestmark = pytest.mark.gui


def test_first_start_shows_progress_until_the_sample_is_made(qtbot, tmp_path, monkeypatch):
    seen = []
    real = QProgressDialog.setValue

    def spy(self, value):
        real(self, value)
        seen.append((value, self.maximum(), self.isVisible()))

    monkeypatch.setattr(QProgressDialog, "setValue", spy)
    root = make_sample(tmp_path / "sample")
    assert (root / "phantom.json").is_file() and (root / ".complete").exists()
    assert len(seen) > 10 and any(visible for _v, _m, visible in seen)  # a window that moved while it worked
    assert seen[-1][0] == seen[-1][1] == 1000  # and finished at 100 %

    seen.clear()
    assert make_sample(root) == root
    assert not any(visible for _v, _m, visible in seen)  # already there: no window
