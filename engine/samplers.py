"""The sampler registry: every sampler of the synthesis pipeline, one entry each (torch-free to import).

    register_sampler(Sampler("ddim", "DDIM", build_ddim))

`SAMPLERS` (name -> `Sampler`) is what `engine.pipelines.make_scheduler` builds from, what `cadis synth
--sampler` offers and what the app's sampler box lists; adding a sampler is one `register_sampler` call.
A builder gets the model's noise-schedule fields (`common`), the x0 clipping a pixel-space model needs
(`clip`) and the whole scheduler config (`base`), and returns a fresh diffusers scheduler.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

Builder = Callable[[dict, dict, dict], Any]


@dataclass(frozen=True)
class Sampler:
    name: str        # what a command line, a preset and provenance say
    label: str       # what the app shows
    build: Builder


SAMPLERS: dict[str, Sampler] = {}


def register_sampler(sampler: Sampler) -> Sampler:
    """Add `sampler` (or replace the one of that name); returns it."""
    SAMPLERS[sampler.name] = sampler
    return sampler


def sampler_names() -> tuple[str, ...]:
    return tuple(SAMPLERS)


def get_sampler(name: str) -> Sampler:
    try:
        return SAMPLERS[name]
    except KeyError:
        raise ValueError(f"unknown sampler {name!r}: use {', '.join(SAMPLERS)}") from None


def _ddim(common: dict, _clip: dict, base: dict):
    from diffusers import DDIMScheduler

    return DDIMScheduler(**common, clip_sample=bool(base.get("clip_sample", True)), set_alpha_to_one=True)


def _dpm(common: dict, clip: dict, _base: dict):
    from diffusers import DPMSolverMultistepScheduler

    return DPMSolverMultistepScheduler(**common, **clip, algorithm_type="dpmsolver++", solver_order=2,
                                       lower_order_final=True)


def _unipc(common: dict, clip: dict, _base: dict):
    from diffusers import UniPCMultistepScheduler

    return UniPCMultistepScheduler(**common, **clip, solver_order=2, lower_order_final=True)


register_sampler(Sampler("ddim", "DDIM", _ddim))
register_sampler(Sampler("dpm", "DPM-Solver++", _dpm))
register_sampler(Sampler("unipc", "UniPC", _unipc))
