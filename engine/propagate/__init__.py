"""Whole-label-map propagation between the frames of a video (Qt-free; method and measurements: ADR 0013).

    result = propagate_frames(frames, {0: label0}, targets=range(1, 31), min_confidence=0.5, ctx=ctx)
    report = run_propagation(data, from_frames=["Video1_frame000000"], to="Video1_frame000030", out_dir=out, ctx=ctx)
    rec = accept_propagated(label, proposal, confidence, min_confidence=0.8, classes=None, policy=policy)

Every class at once, with a per-pixel confidence (forward-backward flow consistency, carried along the chain).
"""
from engine.propagate.chain import Propagated, PropagationResult, fuse, propagate_frames
from engine.propagate.flow import carry, consistency, grey_for_flow

__all__ = ["propagate_frames", "Propagated", "PropagationResult", "fuse", "carry", "consistency", "grey_for_flow"]
