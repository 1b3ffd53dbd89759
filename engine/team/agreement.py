"""How well a team agrees, measured on the frames that two or more annotators labelled (the overlap set).

Per class and per annotator pair: IoU, boundary F-score (engine.team.measures, tolerance `tol` pixels) and the
share of the class's pixels in dispute (labelled the class by one version and not by another). Per annotator,
on frames with three or more versions: the classes where they depart from the per-pixel majority, with the
class they put there instead. Counts are pooled over frames before any ratio is taken.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.jobs import JobContext
from engine.project import Project, ProjectError
from engine.taxonomy import CLASS_NAMES
from engine.team.measures import IGNORE, boundary_f, iou, pair_counts
from engine.team.proposal import majority_vote

N_CLASSES = len(CLASS_NAMES)


def class_name(c: int) -> str:
    if c == IGNORE:
        return "unlabelled"
    return CLASS_NAMES[c] if 0 <= c < N_CLASSES else f"class {c}"


@dataclass
class AgreementReport:
    frames: list[str]
    authors: list[str]
    tol: int
    classes: dict = field(default_factory=dict)  # class id -> {"iou", "boundary_f", "disputed", "pixels"}
    pairs: dict = field(default_factory=dict)  # "a|b" -> {"frames", "miou", "boundary_f", "disputed", "classes"}
    departures: dict = field(default_factory=dict)  # author -> [{"class", "iou", "others_iou", "instead", ...}]

    def most_disputed(self, below: float = 0.5, at_least: int = 3) -> list[int]:
        """Classes whose mean pairwise IoU is under `below` (at least the `at_least` lowest), lowest first
        (ties: more pixels in dispute first)."""
        ranked = sorted(self.classes, key=lambda c: (self.classes[c]["iou"], -self.classes[c]["disputed"]))
        return [c for i, c in enumerate(ranked) if i < at_least or self.classes[c]["iou"] < below]

    def to_dict(self) -> dict:
        return {
            "frames": self.frames, "annotators": self.authors, "boundary_tolerance_px": self.tol,
            "classes": {class_name(c): {"id": c, **v} for c, v in sorted(self.classes.items())},
            "pairs": {k: {**v, "classes": {class_name(int(c)): x for c, x in v["classes"].items()}}
                      for k, v in self.pairs.items()},
            "most_disputed": [class_name(c) for c in self.most_disputed()],
            "departures": {a: [{**d, "class": class_name(d["class"]), "instead": class_name(d["instead"])
                                if d["instead"] is not None else None} for d in ds]
                           for a, ds in self.departures.items()},
        }

    def table(self) -> str:
        if not self.frames:
            return "no frame was labelled by two or more annotators: nothing to compare"
        lines = [f"agreement on {len(self.frames)} frames labelled by two or more of {', '.join(self.authors)} "
                 f"(boundary tolerance {self.tol} px)", "",
                 f"{'class':<28}{'IoU':>7}{'BF':>7}{'disputed':>10}{'pixels':>10}"]
        for c in sorted(self.classes, key=lambda c: self.classes[c]["iou"]):
            v = self.classes[c]
            lines.append(f"{class_name(c)[:27]:<28}{v['iou']:>7.3f}{v['boundary_f']:>7.3f}"
                         f"{100 * v['disputed']:>9.1f}%{v['pixels']:>10d}")
        lines += ["", f"{'pair':<28}{'mIoU':>7}{'BF':>7}{'disputed':>10}{'frames':>10}"]
        for k, v in self.pairs.items():
            lines.append(f"{k.replace('|', ' / ')[:27]:<28}{v['miou']:>7.3f}{v['boundary_f']:>7.3f}"
                         f"{100 * v['disputed']:>9.1f}%{v['frames']:>10d}")
        lines += ["", "most disagreement (mean pairwise IoU under 0.5): "
                  + ", ".join(class_name(c) for c in self.most_disputed())]
        for a in self.authors:
            ds = self.departures.get(a, [])
            if not ds:
                lines.append(f"{a}: no class departs from the majority")
                continue
            parts = []
            for d in ds:
                text = f"{class_name(d['class'])} (IoU {d['iou']:.2f} vs {d['others_iou']:.2f} for the others"
                if d["instead"] is not None and d["direction"] == "left as":
                    text += f"; {100 * d['instead_share']:.0f}% of the majority's labelled {class_name(d['instead'])}"
                elif d["instead"] is not None:
                    text += f"; {100 * d['instead_share']:.0f}% of theirs is {class_name(d['instead'])} for the majority"
                parts.append(text + ")")
            lines.append(f"{a} departs from the majority on: " + "; ".join(parts))
        return "\n".join(lines)


def _versions_by_frame(project: Project) -> dict[str, list[str]]:
    by: dict[str, list[str]] = {}
    for v in project.versions():
        by.setdefault(v.key, []).append(v.author)
    return {k: a for k, a in by.items() if len(a) >= 2}


def measure_agreement(project: Project, tol: int = 2, min_pixels: int = 50, margin: float = 0.1,
                      ctx: JobContext | None = None) -> AgreementReport:
    """The team's agreement on `project` (a merged project: engine.team.merge); see the module doc."""
    ctx = ctx or JobContext()
    if not 0 <= int(tol) <= 50:
        raise ProjectError(f"the boundary tolerance must be 0..50 pixels, got {tol}")
    frames = _versions_by_frame(project)
    order = {k: i for i, k in enumerate(project.dataset_keys())}
    keys = sorted(frames, key=lambda k: order.get(k, len(order)))
    authors = sorted({a for a_list in frames.values() for a in a_list})
    classes = list(range(N_CLASSES))
    pair_sums: dict[tuple[str, str], np.ndarray] = {}
    pair_frames: dict[tuple[str, str], int] = {}
    pair_diff: dict[tuple[str, str], list[int]] = {}
    any_c = np.zeros(N_CLASSES, np.int64)
    disputed_c = np.zeros(N_CLASSES, np.int64)
    vs_major: dict[str, np.ndarray] = {a: np.zeros((N_CLASSES, 6), np.int64) for a in authors}
    confusion: dict[str, np.ndarray] = {a: np.zeros((256, 256), np.int64) for a in authors}
    for i, key in enumerate(keys):
        ctx.check()
        ctx.report(i / max(1, len(keys)), key)
        labels = {a: project.load_version(key, a) for a in sorted(frames[key])}
        names = sorted(labels)
        stack = np.stack([labels[a] for a in names])
        same = (stack == stack[0]).all(axis=0)
        for c in classes:
            has = (stack == c).any(axis=0)
            any_c[c] += np.count_nonzero(has)
            disputed_c[c] += np.count_nonzero(has & ~same)
        for x, a in enumerate(names):
            for b in names[x + 1:]:
                k = (a, b)
                pair_sums[k] = pair_sums.get(k, 0) + pair_counts(labels[a], labels[b], classes, tol)
                pair_frames[k] = pair_frames.get(k, 0) + 1
                d = pair_diff.setdefault(k, [0, 0])
                d[0] += int(np.count_nonzero(labels[a] != labels[b]))
                d[1] += labels[a].size
        if len(names) >= 3:
            majority = majority_vote([labels[a] for a in names])
            for a in names:
                vs_major[a] += pair_counts(labels[a], majority, classes, tol=0)
                np.add.at(confusion[a], (majority.ravel(), labels[a].ravel()), 1)
    report = AgreementReport(keys, authors, int(tol))
    for k in sorted(pair_sums):
        counts = pair_sums[k]
        ious, bfs = iou(counts), boundary_f(counts)
        present = [c for c in classes if counts[c, 1] >= min_pixels]
        report.pairs[f"{k[0]}|{k[1]}"] = {
            "frames": pair_frames[k],
            "miou": float(np.mean([ious[c] for c in present])) if present else float("nan"),
            "boundary_f": float(np.mean([bfs[c] for c in present])) if present else float("nan"),
            "disputed": pair_diff[k][0] / max(1, pair_diff[k][1]),
            "classes": {c: {"iou": float(ious[c]), "boundary_f": float(bfs[c]), "disputed": float(1 - ious[c])}
                        for c in present},
        }
    for c in classes:
        if any_c[c] < min_pixels:
            continue
        per_pair = [(iou(s)[c], boundary_f(s)[c]) for s in pair_sums.values() if s[c, 1] > 0]
        report.classes[c] = {"iou": float(np.mean([p[0] for p in per_pair])),
                             "boundary_f": float(np.mean([p[1] for p in per_pair])),
                             "disputed": float(disputed_c[c] / any_c[c]), "pixels": int(any_c[c])}
    report.departures = _departures(authors, vs_major, confusion, min_pixels, margin)
    ctx.report(1.0, "agreement measured")
    return report


def _departures(authors, vs_major, confusion, min_pixels: int, margin: float) -> dict:
    """Per annotator, the classes whose IoU with the majority lies `margin` below the other annotators' mean."""
    out: dict[str, list[dict]] = {}
    ious = {a: iou(vs_major[a]) for a in authors}
    for a in authors:
        found = []
        for c in range(N_CLASSES):
            if vs_major[a][c, 1] < min_pixels or np.isnan(ious[a][c]):
                continue
            others = [ious[b][c] for b in authors if b != a and vs_major[b][c, 1] >= min_pixels]
            others = [x for x in others if not np.isnan(x)]
            if not others or ious[a][c] > float(np.mean(others)) - margin:
                continue
            row = confusion[a][c].copy()  # where the majority says c: what this annotator put there
            row[c] = 0
            col = confusion[a][:, c].copy()  # where this annotator says c: what the majority put there
            col[c] = 0
            if row.sum() >= col.sum():
                instead = int(row.argmax()) if row.sum() else None
                share = float(row.max() / max(1, confusion[a][c].sum()))
            else:  # the annotator paints c over another class
                instead = int(col.argmax())
                share = float(col.max() / max(1, confusion[a][:, c].sum()))
            found.append({"class": c, "iou": float(ious[a][c]), "others_iou": float(np.mean(others)),
                          "instead": instead, "instead_share": share,
                          "direction": "left as" if row.sum() >= col.sum() else "painted over"})
        out[a] = sorted(found, key=lambda d: d["iou"] - d["others_iou"])
    return out
