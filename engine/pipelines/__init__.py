"""Pipelines: models + schedulers behind call-style entry points (device-agnostic, no Qt).

The names are looked up when first used (PEP 562), so importing a light module of this package
(`engine.pipelines.repaint`) does not import torch's model stack and diffusers: the app starts without them.
"""
from __future__ import annotations

import importlib

_HOMES = {
    "SAMPLERS": "engine.samplers",
    "DEFAULT_MARGIN": "engine.pipelines.repaint", "changed_region": "engine.pipelines.repaint",
    "composite": "engine.pipelines.repaint", "repaint_provenance": "engine.pipelines.repaint",
    **{name: "engine.pipelines.synthesis" for name in (
        "PRESETS", "SynthesisPipeline", "SynthesisResult", "SynthesisSettings", "cpu_has_bf16", "make_scheduler",
        "preset")},
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
