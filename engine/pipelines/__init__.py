"""Pipelines: models + schedulers behind call-style entry points (device-agnostic, no Qt)."""
from engine.samplers import SAMPLERS
from engine.pipelines.repaint import DEFAULT_MARGIN, changed_region, composite, repaint_provenance
from engine.pipelines.synthesis import (
    PRESETS, SynthesisPipeline, SynthesisResult, SynthesisSettings, cpu_has_bf16, make_scheduler, preset,
)

__all__ = ["DEFAULT_MARGIN", "PRESETS", "SAMPLERS", "SynthesisPipeline", "SynthesisResult", "SynthesisSettings",
           "changed_region", "composite", "cpu_has_bf16", "make_scheduler", "preset", "repaint_provenance"]
