"""Structural rules: the engine stays Qt-free and never unpickles; the docs' module map shows the layers."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import importlib, pkgutil, sys
import engine
for info in pkgutil.walk_packages(engine.__path__, "engine."):
    if info.name.endswith("__main__"):
        continue
    importlib.import_module(info.name)
bad = sorted(m for m in sys.modules if m.split(".")[0] in {"PySide6", "qtawesome", "desktop", "shiboken6"})
print("QT:" + ",".join(bad))
"""


def test_importing_every_engine_module_loads_no_qt():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    line = [l for l in out.stdout.splitlines() if l.startswith("QT:")][-1]
    assert line == "QT:", f"engine pulled in Qt modules: {line[3:]}"


def test_no_unsafe_deserialisation_in_app_code():
    pattern = re.compile(r"torch\.load\(|pickle\.loads?\(|joblib\.load\(")
    offenders = []
    for folder in ("engine", "desktop"):
        for path in (ROOT / folder).rglob("*.py"):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line) and "weights_only=True" not in line:
                    offenders.append(f"{path.relative_to(ROOT)}:{n}")
    assert not offenders, offenders


def test_the_module_map_in_the_docs_names_every_layer_of_the_contracts():
    import pytest

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    picture = doc.split("```\n", 2)[1]  # the first code block: the module map
    layered = [c for c in contracts if c["type"] == "layers"]
    assert len(layered) >= 3, "expected layers contracts for the engine, the desktop and its panels"
    for contract in layered:
        for name in (n.strip() for layer in contract["layers"] for n in layer.split("|")):
            assert re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", picture), \
                f"{name} ({contract['name']}) is not in the module map of docs/architecture.md"
