"""Soak: thousands of random edit operations with undo and redo, replayed from the same seed.

Checked after every step: undo returns exactly the previous state (by content hash), redo the next one,
locked classes are never overwritten, every undo record survives its compact byte form, and the journal
of records (what the desktop writes for crash recovery: each edit, the inverse of each undo, each redo)
replayed onto the original rebuilds the current mask. At the end: the same seed gives a byte-identical
mask and history, undo-all returns the original, redo-all the final mask.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pytest

from engine import edits
from engine.edits import PaintPolicy, StrokeBuilder, UndoRecord, UndoStack
from tests.reliability import tally

H, W = 72, 120
CLASSES = (0, 1, 3, 4, 5, 6, 7, 13, 34, 35, 255)


def _digest(label: np.ndarray) -> bytes:
    return hashlib.blake2b(label.tobytes(), digest_size=16).digest()


def _start_label(rng: np.random.Generator) -> np.ndarray:
    """A blocky label with islands and holes, so every repair op has work to do."""
    label = np.kron(rng.choice(CLASSES, (H // 6, W // 6)), np.ones((6, 6), np.uint8)).astype(np.uint8)
    ys, xs = rng.integers(0, H, 80), rng.integers(0, W, 80)
    label[ys, xs] = rng.choice(CLASSES, 80)
    return label


def _policy(rng: np.random.Generator) -> PaintPolicy:
    locked = frozenset(int(c) for c in rng.choice(CLASSES[:-1], rng.integers(0, 3), replace=False))
    mode = rng.choice(["everywhere", "everywhere", "over_class", "over_unlabelled"])
    target = int(rng.choice(CLASSES)) if mode == "over_class" else None
    return PaintPolicy(str(mode), target, locked)


def _points(rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
    # some points fall outside the frame: ops must clip, never fail
    return [(float(rng.uniform(-6, W + 6)), float(rng.uniform(-6, H + 6))) for _ in range(n)]


def random_edit(label: np.ndarray, rng: np.random.Generator) -> tuple[str, PaintPolicy, UndoRecord | None]:
    """Apply one random op in place; returns (name, policy, record)."""
    policy = _policy(rng)
    value = int(rng.choice(CLASSES))
    cls = int(rng.choice(CLASSES[:-1]))
    op = rng.choice(["brush", "erase", "stroke", "fill", "polygon", "islands", "holes", "smooth", "replace"],
                    p=[.22, .1, .14, .14, .12, .07, .07, .07, .07])
    if op == "brush":
        return op, policy, edits.brush_stroke(label, _points(rng, int(rng.integers(1, 6))), float(rng.uniform(0.3, 7)),
                                              value, policy)
    if op == "erase":
        return op, policy, edits.erase_stroke(label, _points(rng, int(rng.integers(1, 6))), float(rng.uniform(0.3, 7)),
                                              policy=policy)
    if op == "stroke":  # the way the canvas paints: segment by segment, one undo step at the end
        builder = StrokeBuilder(label, float(rng.uniform(0.5, 5)), value, policy, erase=bool(rng.integers(0, 2)))
        for x, y in _points(rng, int(rng.integers(1, 12))):
            builder.add_point(x, y)
        return op, policy, builder.finish()
    if op == "fill":
        seed = (float(rng.integers(0, W)), float(rng.integers(0, H)))
        return op, policy, edits.flood_fill(label, seed, value, int(rng.choice([4, 8])), policy)
    if op == "polygon":
        return op, policy, edits.fill_polygon(label, _points(rng, int(rng.integers(3, 8))), value, policy)
    if op == "islands":
        return op, policy, edits.remove_islands(label, int(rng.integers(1, 40)), cls if rng.integers(0, 2) else None,
                                                int(rng.choice([4, 8])), policy)
    if op == "holes":
        return op, policy, edits.fill_holes(label, cls, policy, int(rng.integers(1, 200)) if rng.integers(0, 2) else None)
    if op == "smooth":
        return op, policy, edits.smooth_class(label, cls, int(rng.integers(1, 4)), policy)
    return op, policy, edits.replace_class(label, cls, value, policy)


def inverse(rec: UndoRecord) -> UndoRecord:
    """The record that reverts `rec` when applied with redo (how an undo is journalled)."""
    return UndoRecord(rec.y0, rec.x0, rec.after.copy(), rec.before.copy(), rec.description, rec.mask)


@dataclass
class SoakResult:
    final: np.ndarray
    trace: list[bytes] = field(default_factory=list)  # state hash after every step
    ops: int = 0
    undo_redo: int = 0


def soak(seed: int, steps: int, compress_over: int = 64 * 1024, check_journal_every: int = 97) -> SoakResult:
    """Run `steps` random edits / undos / redos from `seed`, checking every invariant on the way."""
    rng = np.random.default_rng(seed)
    original = _start_label(rng)
    label = original.copy()
    stack = UndoStack(max_steps=10 * steps, max_bytes=2**31, compress_over=compress_over)
    done: list[bytes] = [_digest(label)]  # hashes of the states undo can go back to, newest last
    undone: list[bytes] = []               # hashes redo will restore, next one last
    journal: list[bytes] = []              # what a crash would replay
    result = SoakResult(final=label)
    for step in range(steps):
        r = rng.random()
        if r < 0.15 and stack.can_undo:
            rec = stack.undo(label)
            undone.append(done.pop())
            assert _digest(label) == done[-1], f"step {step}: undo did not restore the previous state"
            journal.append(inverse(rec).to_bytes())
            result.undo_redo += 1
        elif r < 0.25 and stack.can_redo:
            rec = stack.redo(label)
            done.append(undone.pop())
            assert _digest(label) == done[-1], f"step {step}: redo did not restore the undone state"
            journal.append(rec.to_bytes())
            result.undo_redo += 1
        else:
            before = label.copy()
            name, policy, rec = random_edit(label, rng)
            result.ops += 1
            if policy.locked:
                was_locked = np.isin(before, list(policy.locked))
                assert np.array_equal(label[was_locked], before[was_locked]), f"step {step}: {name} overwrote a locked class"
            if rec is None:
                assert np.array_equal(label, before), f"step {step}: {name} changed pixels but returned no record"
            else:
                back = UndoRecord.from_bytes(rec.to_bytes())
                assert np.array_equal(back.before, rec.before) and np.array_equal(back.after, rec.after)
                outside = np.ones(label.shape, bool)
                x0, y0, x1, y1 = rec.bbox
                outside[y0:y1, x0:x1] = False
                assert np.array_equal(label[outside], before[outside]), f"step {step}: {name} wrote outside its box"
                stack.push(rec)
                done.append(_digest(label))
                undone.clear()
                journal.append(rec.to_bytes())
        result.trace.append(_digest(label))
        if step % check_journal_every == 0 or step == steps - 1:
            replay = original.copy()
            for blob in journal:
                UndoRecord.from_bytes(blob).redo(replay)
            assert np.array_equal(replay, label), f"step {step}: the journal does not rebuild the mask"
    # undo everything: back to the original, byte for byte; then redo everything
    final = label.copy()
    while stack.can_undo:
        stack.undo(label)
        result.undo_redo += 1
    assert np.array_equal(label, original), "undo-all did not return the original mask"
    while stack.can_redo:
        stack.redo(label)
        result.undo_redo += 1
    assert np.array_equal(label, final), "redo-all did not return the final mask"
    result.final = final
    return result


@pytest.mark.parametrize("seed,compress_over", [(1, 64 * 1024), (2, 256)])
def test_soak_is_exact_and_replays_identically(seed, compress_over):
    first = soak(seed, 1500, compress_over)
    again = soak(seed, 1500, compress_over)
    assert np.array_equal(first.final, again.final) and first.final.tobytes() == again.final.tobytes()
    assert first.trace == again.trace, "the same seed must give the same mask after every step"
    assert len(set(first.trace)) > 50, "the soak should visit many different masks"
    other = soak(seed + 100, 200, compress_over)
    assert other.trace != first.trace[:200]
    tally.add("soak_ops", first.ops + again.ops + other.ops)
    tally.add("soak_undo_redo", first.undo_redo + again.undo_redo + other.undo_redo)


@pytest.mark.slow
def test_soak_long():
    res = soak(7, 30_000, compress_over=1024, check_journal_every=1000)
    assert res.final.tobytes() == soak(7, 30_000, compress_over=1024, check_journal_every=1000).final.tobytes()
    tally.add("soak_ops", 2 * res.ops)
    tally.add("soak_undo_redo", 2 * res.undo_redo)
