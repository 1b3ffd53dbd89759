"""Repaint section of the synthesis benchmark (called by `python -m benchmarks.bench_synthesis`).

Each measured frame of a held-out draw gets the instrument of the next frame's mask pasted onto its own mask;
the real frame is repainted with a 16 px margin (final preset). Reported: the pixels that changed outside the
changed region plus margin (must be 0), the judge's label consistency inside the changed pixels (pixel accuracy
against the edited mask, and the instrument's IoU), against the judge on the real frame's same pixels (pixel
accuracy against its own mask) and on the real frames' own instruments, and seconds per repaint.
"""
from __future__ import annotations

import time

import numpy as np


def _paste_instrument(parent: np.ndarray, donor: np.ndarray, cs) -> np.ndarray:
    inst = cs.remap(donor) == cs.num_classes - 1  # experiment-1: the last class is "Instrument"
    edited = parent.copy()
    edited[inst] = donor[inst]
    return edited


def bench_repaint(full, draws, net, size, cs, frames: int = 2, margin: int = 16) -> list:
    from benchmarks.synth_judge import confusion_of, per_class_iou, predict, resize_pair
    from engine.pipelines import preset

    n = cs.num_classes
    inst = n - 1
    outside, count, secs = 0, 0, []
    conf_rep, conf_real = np.zeros((n, n), np.int64), np.zeros((n, n), np.int64)
    conf_real_inst = np.zeros((n, n), np.int64)
    for d, draw in enumerate(draws):
        for i in range(min(frames, len(draw))):
            real, parent = resize_pair(*draw[i], size)
            donor = resize_pair(*draw[(i + 1) % len(draw)], size)[1]
            edited = _paste_instrument(parent, donor, cs)
            if not (edited != parent).any():
                continue
            t = time.perf_counter()
            res = full(edited, image=real, parent_mask=parent, margin=margin, settings=preset("final"), seed=100 * d + i)
            secs.append(time.perf_counter() - t)
            out, ch = res.images[0], res.changed
            outside += int((out != real).any(-1)[~res.region].sum())
            count += 1
            pred = predict(net, out)[0]
            conf_rep += confusion_of([pred[ch]], [cs.remap(edited)[ch]], n)
            real_pred = predict(net, real)[0]
            conf_real += confusion_of([real_pred[ch]], [cs.remap(parent)[ch]], n)
            conf_real_inst += confusion_of([real_pred], [cs.remap(parent)], n)
    rep, real_all = per_class_iou(conf_rep), per_class_iou(conf_real_inst)
    w, h = size
    acc_rep = np.trace(conf_rep) / max(1, conf_rep.sum())
    acc_real = np.trace(conf_real) / max(1, conf_real.sum())
    return [(f"{w}x{h}", count, outside, round(float(acc_rep), 3), round(float(acc_real), 3),
             round(float(rep[inst]), 3), round(float(real_all[inst]), 3),
             f"{np.mean(secs):.1f}" if secs else "")]
