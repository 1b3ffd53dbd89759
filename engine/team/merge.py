"""Merge the projects of a labelling team into one project of the same dataset.

Every annotator's saved label is kept as a version (engine.project.store_team). A frame whose versions are
identical gets that label; a frame with different versions gets a proposed label (engine.team.proposal), the
status "flagged" and an open dispute: nothing is overwritten silently. Review statuses and notes are carried
over (notes prefixed with their author), synthetic pairs copied once (their provenance names where they came
from). A frame whose kept versions did not change since the last merge is left alone, so merging again gives
the same project and keeps the reviewer's decisions. Projects of another dataset are refused before anything
is written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.jobs import JobContext
from engine.project import Project, ProjectError, is_project_dir
from engine.project.locate import open_source
from engine.project.store_team import check_person, label_sha256
from engine.team.measures import mean_iou
from engine.team.proposal import propose

STATUS_RANK = {"flagged": 4, "rejected": 3, "done": 2, "in_progress": 1, "unlabelled": 0}


@dataclass
class MergeResult:
    out: Path
    authors: list[str]
    labels: int = 0  # frames whose label came from one version (or identical ones)
    disputed: list[str] = field(default_factory=list)  # frames given a proposal and an open dispute
    unchanged: int = 0  # frames whose versions were already merged
    statuses: int = 0
    notes: int = 0
    pairs: int = 0

    def summary(self) -> str:
        return (f"merged {len(self.authors)} projects ({', '.join(self.authors)}) into {self.out}: "
                f"{self.labels} labels taken, {len(self.disputed)} frames disputed (flagged, with a proposal), "
                f"{self.unchanged} already merged, {self.statuses} statuses, {self.notes} notes, {self.pairs} pairs")


def _author_of(project: Project) -> str:
    name = project.annotator
    if name:
        return name
    stem = project.root.name.split(".")[0]
    try:
        return check_person(stem)
    except ProjectError:
        raise ProjectError(f"{project.root} names no annotator; set one before merging") from None


def _open_inputs(paths) -> list[Project]:
    projects: list[Project] = []
    try:
        for p in paths:
            p = Path(p).expanduser()
            if not is_project_dir(p):
                raise ProjectError(f"{p} is not a project folder (no project.sqlite); merge takes project folders")
            projects.append(Project.open_or_create(p, read_only=True))
    except BaseException:
        for pr in projects:
            pr.close()
        raise
    return projects


def _check_datasets(projects: list[Project], target_root: Path) -> None:
    for p in projects:
        if Path(p.dataset.root).resolve() != target_root:
            raise ProjectError(f"{p.root} belongs to another dataset ({p.dataset.root}, not {target_root}); "
                               "nothing was merged")


def merge_projects(inputs, out, dataset=None, ctx: JobContext | None = None) -> MergeResult:
    """Merge the project folders `inputs` into the project `out` (created for their dataset if new)."""
    ctx = ctx or JobContext()
    if not inputs:
        raise ProjectError("name at least one project to merge")
    out = Path(out).expanduser()
    if any(Path(p).expanduser().resolve() == out.resolve() for p in inputs):
        raise ProjectError(f"{out} is one of the projects to merge; choose another folder for the merged project")
    projects = _open_inputs(inputs)
    try:
        authors = [_author_of(p) for p in projects]
        if len(set(authors)) != len(authors):
            raise ProjectError(f"two projects name the same annotator ({', '.join(authors)}); each package "
                               "must belong to one annotator")
        root = Path(projects[0].dataset.root).resolve()
        if dataset is not None:
            root = Path(open_source(Path(dataset).expanduser()).root).resolve()
        _check_datasets(projects, root)
        if is_project_dir(out):
            with Project.open_or_create(out, read_only=True) as existing:
                _check_datasets([existing], root)  # refused before the merged project is opened for writing
        with Project.open_or_create(root, project_dir=out, app="cadis merge") as merged:
            _check_datasets([merged], root)
            result = MergeResult(merged.root, authors)
            _merge_frames(merged, projects, authors, result, ctx.sub(0.0, 0.9))
            _merge_pairs(merged, projects, authors, result, ctx.sub(0.9, 1.0))
        return result
    finally:
        for p in projects:
            p.close()


def _incoming(projects, authors):
    """key -> {author: (status, note, has_label, project)} for every frame some project touched."""
    frames: dict[str, dict] = {}
    for p, a in zip(projects, authors):
        statuses = p.statuses()
        for key in p.frame_keys():
            has = p.has_saved_label(key)
            status, note = statuses.get(key, "unlabelled"), p.note(key)
            if has or status != "unlabelled" or note:
                frames.setdefault(key, {})[a] = (status, note, has, p)
    return frames


def _merge_frames(merged: Project, projects, authors, result: MergeResult, ctx: JobContext) -> None:
    frames = _incoming(projects, authors)
    order = {k: i for i, k in enumerate(merged.dataset_keys())}
    keys = sorted(frames, key=lambda k: order.get(k, len(order)))
    package_of = {a: (p.package() or {}).get("id", str(p.root)) for p, a in zip(projects, authors)}
    weights = _weights(merged, projects, authors, frames)
    reviewers: dict[str, set] = {}
    for p in projects:
        for key, (_lab, rev) in p.people().items():
            reviewers.setdefault(key, set()).update(rev)
    for i, key in enumerate(keys):
        if i % 8 == 0:
            ctx.check()
            ctx.report(i / max(1, len(keys)), key)
        entries = frames[key]
        changed = False
        prior = merged.versions(key)
        if not prior and merged.has_saved_label(key):  # a label already in the merged project is a version too
            current = merged.load_label(key)
            if any(e[2] and label_sha256(e[3].load_label(key)) != label_sha256(current) for e in entries.values()):
                owner = (merged.people().get(key, ([], []))[0] or [merged.annotator or "existing"])[0]
                merged.put_version(key, owner, current, merged.status(key), "merged project")
        for a, (status, _note, has, p) in sorted(entries.items()):
            if has:
                changed |= merged.put_version(key, a, p.load_label(key), status, package_of[a])
        _merge_status_note(merged, key, entries, result, labelled=bool(merged.versions(key)))
        if not changed:
            if merged.versions(key):
                result.unchanged += 1
            continue
        _settle(merged, key, weights, result, sorted(reviewers.get(key, ())))


def _settle(merged: Project, key: str, weights: dict, result: MergeResult, reviewers: list[str]) -> None:
    kept = merged.versions(key)
    labels = {v.author: merged.load_version(key, v.author) for v in kept}
    people = sorted(labels)
    if len({v.sha256 for v in kept}) == 1:
        label = labels[people[0]]
        if not merged.has_saved_label(key) or label_sha256(merged.load_label(key)) != kept[0].sha256:
            merged.save_label(key, label)
        merged.set_people(key, people, reviewers)  # who reviewed it in the packages
        result.labels += 1
        return
    reviewed = {v.author for v in kept if v.status == "done"}
    proposal, method = propose(labels, reviewed, weights)
    pairs = [(a, b) for i, a in enumerate(people) for b in people[i + 1:]]
    agreement = float(np.mean([mean_iou(labels[a], labels[b]) for a, b in pairs]))
    merged.save_label(key, proposal)
    merged.set_people(key, people, [])
    listing = ", ".join(people)
    merged.set_status(key, "flagged", _with_line(merged.note(key), f"disputed: versions by {listing}; "
                                                 f"the label is a proposal ({method})"))
    merged.set_dispute(key, people, method, agreement)
    result.disputed.append(key)


def _with_line(note: str, line: str) -> str:
    lines = [x for x in note.splitlines() if x and not x.startswith("disputed: ")]
    return "\n".join(lines + [line])


def _merge_status_note(merged: Project, key: str, entries: dict, result: MergeResult, labelled: bool) -> None:
    note = merged.note(key)
    for a, (_s, text, _h, _p) in sorted(entries.items()):
        for line in text.splitlines():
            tagged = f"{a}: {line}"
            if line.strip() and tagged not in note.splitlines():
                note = "\n".join(x for x in (note, tagged) if x)
                result.notes += 1
    status = max((e[0] for e in entries.values()), key=lambda s: STATUS_RANK.get(s, 0))
    current = merged.status(key)
    if STATUS_RANK.get(status, 0) > STATUS_RANK.get(current, 0) and current != "flagged":
        merged.set_status(key, status, note)
        result.statuses += 1
    elif note != merged.note(key):
        merged.set_note(key, note)


def _weights(merged, projects, authors, frames) -> dict[str, float]:
    """Each annotator's mean IoU with the majority on frames labelled by three or more (1.0 when none)."""
    from engine.team.proposal import majority_vote

    scores: dict[str, list[float]] = {a: [] for a in authors}
    for key, entries in frames.items():
        have = {a: e[3].load_label(key) for a, e in entries.items() if e[2]}
        if len(have) < 3:
            continue
        majority = majority_vote([have[a] for a in sorted(have)])
        for a, lab in have.items():
            scores[a].append(mean_iou(lab, majority))
    return {a: (float(np.mean(s)) if s else 1.0) for a, s in scores.items()}


def _merge_pairs(merged: Project, projects, authors, result: MergeResult, ctx: JobContext) -> None:
    seen = {str(p.provenance.get("merged_from")) for p in merged.pairs() if p.provenance.get("merged_from")}
    for p, a in zip(projects, authors):
        pid = (p.package() or {}).get("id", str(p.root))
        for pair in p.pairs():
            ctx.check()
            tag = f"{pid}#{pair.id}"
            if tag in seen:
                continue
            image, label = p.load_pair(pair.id)
            prov = dict(pair.provenance)
            prov.update({"merged_from": tag, "annotator": a})
            new_id = merged.add_pair(image, label, pair.source, prov, pair.parent_key)
            if pair.status != "pending":
                merged.set_pair_status(new_id, pair.status)
            seen.add(tag)
            result.pairs += 1
