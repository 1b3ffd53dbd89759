"""The PyInstaller bundle (dist/cadis-studio, built by `make installer`) starts and shows a real window.

Skipped unless a built bundle exists: building takes minutes, so CI runs `make installer` as its own step
(see docs/reliability.md). The smoke script makes a phantom sample with the bundled `cadis`, opens it with
the bundled `cadis-studio` offscreen and takes a screenshot; this test then checks the picture itself.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "dist" / "cadis-studio"
SCRIPT = ROOT / "scripts" / "smoke_installer.sh"

pytestmark = [
    pytest.mark.skipif(not (BUNDLE / "cadis-studio").exists(), reason="no bundle in dist/: run `make installer` first"),
    pytest.mark.skipif(sys.platform == "win32", reason="the smoke script is a bash script"),
]


def _run_smoke(out_png: Path, xvfb: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHON=sys.executable, XVFB="1" if xvfb else "0")
    return subprocess.run(["bash", str(SCRIPT), str(BUNDLE), str(out_png)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def _check_screenshot(path: Path) -> None:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert img is not None
    h, w = img.shape[:2]
    assert (w, h) == (1600, 960)  # desktop.app.SCREENSHOT_SIZE
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 200
    # the canvas (centre) shows the phantom frame with its label overlay: many colours, not one flat fill
    centre = img[h // 4: 3 * h // 4, w // 4: 3 * w // 4]
    assert centre.std() > 10


def test_bundle_starts_offscreen_and_screenshot_is_not_blank(tmp_path):
    out = tmp_path / "bundle.png"
    proc = _run_smoke(out)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "smoke_installer: OK" in proc.stdout
    _check_screenshot(out)


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed")
def test_bundle_starts_under_xvfb(tmp_path):
    out = tmp_path / "bundle-xvfb.png"
    proc = _run_smoke(out, xvfb=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    _check_screenshot(out)
