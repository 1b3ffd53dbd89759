"""Pipelines: models + schedulers behind call-style entry points (device-agnostic, no Qt).

The names are looked up when first used (PEP 562), so importing a light module of this package
(`engine.pipelines.repaint`) does not import torch's model stack and diffusers: the app starts without them.
"""
from __future__ import annotations

from engine.lazy import lazy_names

_HOMES = {
    "SAMPLERS": "engine.samplers",
    "DEFAULT_MARGIN": "engine.pipelines.repaint", "changed_region": "engine.pipelines.repaint",
    "composite": "engine.pipelines.repaint", "repaint_provenance": "engine.pipelines.repaint",
    **{name: "engine.pipelines.synthesis" for name in (
        "PRESETS", "SynthesisPipeline", "SynthesisResult", "SynthesisSettings", "cpu_has_bf16", "make_scheduler",
        "preset")},
}
__all__ = sorted(_HOMES)
__getattr__, __dir__ = lazy_names(__name__, _HOMES)
