"""Interpolating prompt embeddings: linear (lerp) and spherical (slerp).

Imagic samples with an embedding between the optimised one `e_opt` (which reconstructs the frame) and the
target text's `e_text`:

    lerp:  e(α) = α·e_text + (1 − α)·e_opt
    slerp: e(α) = sin((1 − α)θ)/sin θ · e_opt + sin(αθ)/sin θ · e_text,   cos θ = <e_opt, e_text>/(|e_opt||e_text|)

α = 0 gives `e_opt`, α = 1 gives `e_text`, and α > 1 extrapolates past the text (1.4–1.7 often keeps the
layout while changing the style). The whole tensor is treated as one vector. Slerp falls back to lerp when
the two vectors are nearly parallel (|cos θ| above `PARALLEL_DOT`), where sin θ ≈ 0 makes it unstable.
"""
from __future__ import annotations

import torch

PARALLEL_DOT = 0.9995
INTERPOLATIONS = ("lerp", "slerp")


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """(1 − t)·a + t·b."""
    _check(a, b)
    t = float(t)
    return a * (1.0 - t) + b * t  # exact at both ends: t = 0 gives a, t = 1 gives b


def slerp(a: torch.Tensor, b: torch.Tensor, t: float, parallel_dot: float = PARALLEL_DOT) -> torch.Tensor:
    """Spherical interpolation from `a` (t = 0) to `b` (t = 1) treating each tensor as one flat vector.

    Falls back to `lerp` when |cos θ| > `parallel_dot` (nearly parallel or anti-parallel vectors) or when
    either vector is zero. Computed in float64 and returned in `a`'s dtype.
    """
    _check(a, b)
    a64, b64 = a.double().flatten(), b.double().flatten()
    na, nb = a64.norm(), b64.norm()
    if na == 0 or nb == 0:
        return lerp(a, b, t)
    dot = float(torch.dot(a64, b64) / (na * nb))
    if abs(dot) > parallel_dot:
        return lerp(a, b, t)
    theta = torch.arccos(torch.tensor(dot, dtype=torch.float64))
    s = torch.sin(theta)
    wa = torch.sin((1.0 - t) * theta) / s
    wb = torch.sin(t * theta) / s
    return (wa * a64 + wb * b64).reshape(a.shape).to(a.dtype)


def interpolate(e_opt: torch.Tensor, e_text: torch.Tensor, alpha: float, mode: str = "lerp") -> torch.Tensor:
    """The Imagic sampling embedding for `alpha` (0 = optimised embedding, 1 = target text)."""
    if mode == "lerp":
        return lerp(e_opt, e_text, alpha)
    if mode == "slerp":
        return slerp(e_opt, e_text, alpha)
    raise ValueError(f"unknown interpolation {mode!r}: use lerp or slerp")


def _check(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"embeddings differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
