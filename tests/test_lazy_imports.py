"""The app starts without importing diffusers (nor transformers): they load when a model is first used."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(statement: str) -> dict:
    code = f"{statement}; import sys, json; print(json.dumps({{m: m in sys.modules for m in ('diffusers', 'transformers')}}))"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_main_window_module_does_not_import_diffusers():
    assert _modules_after("import desktop.main_window") == {"diffusers": False, "transformers": False}


def test_the_lazy_packages_still_give_their_names():
    # the positive control: using a name of the package does import diffusers
    assert _modules_after("from engine.pipelines import SynthesisPipeline")["diffusers"] is True
    assert _modules_after("from engine.models import SpadeUNet2DModel")["diffusers"] is True
