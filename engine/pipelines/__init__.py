"""Pipelines: models + schedulers behind call-style entry points (device-agnostic, no Qt)."""
from engine.pipelines.synthesis import (
    PRESETS, SAMPLERS, SynthesisPipeline, SynthesisResult, SynthesisSettings, cpu_has_bf16, make_scheduler, preset,
)

__all__ = ["PRESETS", "SAMPLERS", "SynthesisPipeline", "SynthesisResult", "SynthesisSettings", "cpu_has_bf16",
           "make_scheduler", "preset"]
