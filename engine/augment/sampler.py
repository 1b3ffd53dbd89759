"""Random, constrained layout variants of a mask, biased toward rare instrument classes.

    variants = layout_variants(label, k=4, rng=np.random.default_rng(0), rare_classes={14, 24},
                               donors=DonorPool([other_label, ...]))
    for new_label, ops in variants: ...

Each variant applies one layout operation (sometimes two) drawn at random and keeps it only if the
constraints hold: the moved instrument's tip lies over cornea, iris or pupil; the pupil leaks out of the
iris no more than before; the instrument barely covers another one (tips may meet); most of it stays in the frame;
an instrument that entered from the frame border still does (relaxed in the second half of the tries).
Instruments holding a rare class are picked more often, and pasting a rare instrument from a donor frame
is preferred while the frame shows none. Fully deterministic for a given generator state.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, NamedTuple, Sequence

import numpy as np

from engine.augment.instruments import (
    IRIS, PUPIL, Instrument, anatomy_mask, anatomy_under, border_pixels, find_instruments, instrument_mask,
    point_over_eye, pupil_leaks,
)
from engine.augment.layout import (
    Placed, default_pivot, mirror_instrument, move_instrument, paste_instrument, rotate_instrument, scale_instrument,
)
from engine.labels import resize_label
from engine.taxonomy import INSTRUMENT_IDS

OPS = ("move", "rotate", "scale", "mirror", "paste")
MAX_OVERLAP = 0.05  # at most this share of a placed instrument may cover another one (tips meet at the pupil)


class LayoutVariant(NamedTuple):
    """A new label and the list of operations (JSON-ready dicts) that made it."""

    label: np.ndarray
    ops: list


def eye_center(anatomy: np.ndarray) -> tuple[float, float] | None:
    """Centroid of the pupil (else pupil + iris) of an anatomy layer, or None without either."""
    for ids in ((PUPIL,), (PUPIL, IRIS)):
        ys, xs = np.nonzero(np.isin(anatomy, ids))
        if len(xs):
            return float(xs.mean()), float(ys.mean())
    return None


def rare_classes_from_counts(frame_counts: dict[int, int] | Sequence[int], fraction: float = 0.5) -> tuple[int, ...]:
    """Instrument classes counted in the fewest frames: the `fraction` of the present instrument classes
    with the lowest frame counts (at least one when any is present). `frame_counts` maps class ID -> frames
    (or is indexed by class ID)."""
    counts = dict(frame_counts) if isinstance(frame_counts, dict) else dict(enumerate(frame_counts))
    present = sorted((int(n), c) for c, n in counts.items() if c in INSTRUMENT_IDS and n > 0)
    if not present:
        return ()
    n = max(1, int(round(len(present) * fraction)))
    return tuple(sorted(c for _n, c in present[:n]))


@dataclass
class _Donor:
    label: np.ndarray
    instruments: list[Instrument]
    center: tuple[float, float] | None


@dataclass
class DonorPool:
    """Labels of other frames whose instruments may be pasted; analysed lazily, resized to the target size."""

    labels: list[np.ndarray]
    _cache: dict = field(default_factory=dict, repr=False)

    def donor(self, index: int, shape: tuple[int, int]) -> _Donor:
        key = (index, shape)
        if key not in self._cache:
            lab = resize_label(self.labels[index], shape)
            insts = [i for i in find_instruments(lab) if not i.handle_only]
            self._cache[key] = _Donor(lab, insts, eye_center(anatomy_under(lab)))
        return self._cache[key]

    def __len__(self) -> int:
        return len(self.labels)


class _Context:
    """What every candidate of one input label is checked against."""

    def __init__(self, label: np.ndarray, rare: frozenset[int]):
        self.label = label
        self.instruments = find_instruments(label)
        self.anatomy = anatomy_under(label)
        self.all_instruments = instrument_mask(label)
        self.leaks = pupil_leaks(label)
        self.center = eye_center(self.anatomy)
        self.rare = rare

    def has_rare(self, inst: Instrument) -> bool:
        return bool(self.rare.intersection(inst.classes))


def _weights(items: Sequence[Instrument], ctx: _Context, rare_weight: float) -> np.ndarray:
    w = np.array([1.0 + rare_weight * ctx.has_rare(i) for i in items])
    return w / w.sum()


def _ok(placed: Placed, moved_from: Instrument | None, ctx: _Context, strict_border: bool,
        replaced: Instrument | None = None, from_border: bool = False) -> bool:
    area_before = moved_from.area if moved_from is not None else int(placed.mask.sum())
    if placed.mask.sum() < 0.5 * area_before or not placed.mask.any():
        return False
    if not point_over_eye(ctx.anatomy, placed.tip):
        return False
    others = ctx.all_instruments.copy()
    for inst in (moved_from, replaced):
        if inst is not None:
            others &= ~inst.mask
    if (placed.mask & others).sum() > MAX_OVERLAP * placed.mask.sum():
        return False
    if pupil_leaks(placed.label) > ctx.leaks:
        return False
    if strict_border and from_border and not border_pixels(placed.mask, 2).any():
        return False
    return True


def _candidate(op: str, ctx: _Context, rng: np.random.Generator, donors: DonorPool | None, rare_weight: float,
               strict_border: bool) -> Placed | None:
    label = ctx.label
    h, w = label.shape
    movable = [i for i in ctx.instruments if not i.handle_only]
    if op == "paste":
        if not donors:
            return None
        d = donors.donor(int(rng.integers(len(donors))), label.shape)
        if not d.instruments:
            return None
        donor = d.instruments[int(rng.choice(len(d.instruments), p=_weights(d.instruments, ctx, rare_weight)))]
        dx, dy = 0.0, 0.0
        if d.center is not None and ctx.center is not None:
            dx, dy = ctx.center[0] - d.center[0], ctx.center[1] - d.center[1]
        dx += rng.normal(0, 0.04 * w)
        dy += rng.normal(0, 0.04 * h)
        replace = None
        common = [i for i in movable if not ctx.has_rare(i)]
        if common and (len(movable) >= 2 or rng.random() < 0.5):
            replace = common[int(rng.integers(len(common)))]
        placed = paste_instrument(label, d.label, donor, int(round(dx)), int(round(dy)), replace=replace)
        return placed if _ok(placed, None, ctx, strict_border, replace, donor.touches_border) else None
    if not movable:
        return None
    inst = movable[int(rng.choice(len(movable), p=_weights(movable, ctx, rare_weight)))]
    if op == "move":
        r = rng.uniform(0.04, 0.2) * min(w, h)
        a = rng.uniform(0, 2 * np.pi)
        placed = move_instrument(label, inst, int(round(r * np.cos(a))), int(round(r * np.sin(a))))
    elif op == "rotate":
        angle = rng.uniform(10, 40) * rng.choice([-1, 1])
        placed = rotate_instrument(label, inst, angle, default_pivot(inst))
    elif op == "scale":
        placed = scale_instrument(label, inst, float(rng.uniform(0.75, 1.3)), default_pivot(inst))
    elif op == "mirror":
        axis = "vertical" if rng.random() < 0.7 else "horizontal"
        placed = mirror_instrument(label, inst, axis)
    else:
        raise ValueError(f"unknown layout operation {op!r}: use {', '.join(OPS)}")
    return placed if _ok(placed, inst, ctx, strict_border, None, inst.touches_border) else None


def _pick_op(ops: Sequence[str], ctx: _Context, donors: DonorPool | None, rng: np.random.Generator) -> str:
    weights = {"move": 1.0, "rotate": 1.0, "scale": 0.6, "mirror": 0.6, "paste": 1.0 if donors else 0.0}
    if donors and ctx.rare and not any(ctx.has_rare(i) for i in ctx.instruments):
        weights["paste"] = 10.0  # the frame shows no rare instrument: bring one in
    if not any(not i.handle_only for i in ctx.instruments):
        weights = {k: (v if k == "paste" else 0.0) for k, v in weights.items()}
    w = np.array([weights.get(o, 0.0) for o in ops])
    if w.sum() == 0:
        return ""
    return str(ops[int(rng.choice(len(ops), p=w / w.sum()))])


def one_variant(label: np.ndarray, rng: np.random.Generator, rare_classes: Iterable[int] = (),
                donors: DonorPool | None = None, ops: Sequence[str] = OPS, max_tries: int = 40,
                rare_weight: float = 4.0, second_op: float = 0.3, context: _Context | None = None
                ) -> LayoutVariant | None:
    """One constrained variant of `label`, or None when no candidate passed in `max_tries` tries."""
    bad = [o for o in ops if o not in OPS]
    if bad:
        raise ValueError(f"unknown layout operation(s) {bad}: use {', '.join(OPS)}")
    ctx = context if context is not None else _Context(label, frozenset(int(c) for c in rare_classes))
    for attempt in range(max_tries):
        op = _pick_op(ops, ctx, donors, rng)
        if not op:
            return None
        placed = _candidate(op, ctx, rng, donors, rare_weight, strict_border=attempt < max_tries // 2)
        if placed is None or np.array_equal(placed.label, label):
            continue
        result = LayoutVariant(placed.label, [placed.op])
        if rng.random() < second_op:
            again = one_variant(placed.label, rng, rare_classes, donors, ops, max_tries // 4, rare_weight, 0.0)
            if again is not None:
                # pixels that were anatomy before both ops keep their original class (no re-guessing)
                keep = anatomy_mask(label) & anatomy_mask(again.label)
                merged = np.where(keep, label, again.label)
                if pupil_leaks(merged) <= ctx.leaks:
                    result = LayoutVariant(merged, result.ops + again.ops)
        return result
    return None


def layout_variants(label: np.ndarray, k: int, rng: np.random.Generator, rare_classes: Iterable[int] = (),
                    donors: DonorPool | Sequence[np.ndarray] | None = None, ops: Sequence[str] = OPS,
                    max_tries: int = 40, rare_weight: float = 4.0) -> list[LayoutVariant]:
    """Up to `k` distinct layout variants of `label` (fewer when the constraints leave too little room).

    Variant i depends only on the state of `rng` and i (each variant draws from its own spawned generator),
    so asking for more variants later repeats the first ones exactly."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if donors is not None and not isinstance(donors, DonorPool):
        donors = DonorPool(list(donors))
    rare = tuple(rare_classes)
    out: list[LayoutVariant] = []
    seen = {label.tobytes()}
    ctx = _Context(label, frozenset(int(c) for c in rare))
    for child in rng.spawn(k):
        for _retry in range(3):
            v = one_variant(label, child, rare, donors, ops, max_tries, rare_weight, context=ctx)
            if v is None:
                break
            if v.label.tobytes() not in seen:
                seen.add(v.label.tobytes())
                out.append(v)
                break
    return out
