"""Work packages: a dataset split among annotators, with an overlap set every annotator labels.

`assign(data, annotators, out_dir)` writes, per annotator, `<out>/<name>.frames.txt` (the frame keys, one a
line) and `<out>/<name>.cadis-project/` (a project of the same dataset that records the package: opening it
lists only the package's frames, and every label saved there records the annotator). `<out>/team.json`
describes the whole assignment. Frames are never copied: each project reads the dataset where it is.
"""
from __future__ import annotations

import json
import math
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

from engine.atomic import atomic_write_text
from engine.jobs import JobContext
from engine.project import PROJECT_SUFFIX, Project, ProjectError
from engine.project.locate import open_source
from engine.project.store_team import check_person

BY_CHOICES = ("frame", "video")


@dataclass(frozen=True)
class Assignment:
    out_dir: Path
    annotators: tuple[str, ...]
    overlap: tuple[str, ...]  # frame keys every annotator labels
    frames: dict  # annotator -> tuple of frame keys (overlap included)

    def summary(self) -> str:
        each = ", ".join(f"{a} {len(self.frames[a])}" for a in self.annotators)
        n = len(self.annotators)
        return (f"{n} package{'s' if n != 1 else ''} in {self.out_dir} (frames each: {each}; "
                f"{len(self.overlap)} overlap frames labelled by everyone)")


def parse_annotators(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in str(text).split(",") if n.strip())
    if len(names) < 1:
        raise ProjectError("name at least one annotator, e.g. --annotators ana,ben,chen")
    for n in names:
        check_person(n)
    if len({n.lower() for n in names}) != len(names):
        raise ProjectError(f"annotator names must differ (ignoring case): {', '.join(names)}")
    return names


def parse_overlap(text: str | float, total: int) -> int:
    """'10%' or '0.1' (a share of the frames) or '12' (a number of frames) -> a number of frames."""
    raw = str(text).strip()
    try:
        if raw.endswith("%"):
            share = float(raw[:-1]) / 100.0
        else:
            value = float(raw)
            share = value if value < 1 else None
            if share is None:
                if value != int(value):
                    raise ValueError
                count = int(value)
                if count > total:
                    raise ProjectError(f"--overlap {raw} asks for more frames than the dataset has ({total})")
                return count
    except ValueError:
        raise ProjectError(f"--overlap must be a share such as 10% or 0.1, or a number of frames; got {raw!r}") from None
    if not 0.0 <= share <= 1.0 or math.isnan(share):
        raise ProjectError(f"--overlap must lie between 0% and 100%, got {raw!r}")
    return min(total, math.ceil(share * total - 1e-9)) if share > 0 else 0


def _split(keys: list[str], video_of: dict, annotators: tuple[str, ...], by: str) -> dict[str, list[str]]:
    """The non-overlap frames split evenly: round robin in dataset order, or whole videos (largest first) to
    whoever has the fewest frames so far."""
    shares: dict[str, list[str]] = {a: [] for a in annotators}
    if by == "frame":
        for i, k in enumerate(keys):
            shares[annotators[i % len(annotators)]].append(k)
        return shares
    videos: dict[object, list[str]] = {}
    for k in keys:
        videos.setdefault(video_of[k], []).append(k)
    for _v, frames in sorted(videos.items(), key=lambda kv: (-len(kv[1]), str(kv[0]))):
        target = min(annotators, key=lambda a: (len(shares[a]), annotators.index(a)))
        shares[target].extend(frames)
    return shares


def assign(data, annotators, out_dir, overlap="10%", by: str = "frame", seed: int = 0,
           ctx: JobContext | None = None) -> Assignment:
    """Write one work package per annotator (see the module doc). `out_dir` must be new or empty."""
    ctx = ctx or JobContext()
    names = parse_annotators(annotators) if isinstance(annotators, str) else parse_annotators(",".join(annotators))
    if by not in BY_CHOICES:
        raise ProjectError(f"--by must be one of {', '.join(BY_CHOICES)}, got {by!r}")
    out = Path(out_dir).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ProjectError(f"{out} already exists and is not an empty folder; choose a new folder for the packages")
    dataset = open_source(Path(data).expanduser())
    keys = [f.key for f in dataset.frames]
    if not keys:
        raise ProjectError(f"{dataset.root} holds no frames to assign")
    n_overlap = parse_overlap(overlap, len(keys))
    rng = random.Random(seed)
    order = list(range(len(keys)))
    rng.shuffle(order)  # overlap frames spread over the whole dataset, the same for the same seed
    overlap_set = set(keys[i] for i in order[:n_overlap])
    overlap_keys = [k for k in keys if k in overlap_set]
    rest = [k for k in keys if k not in overlap_set]
    video_of = {f.key: f.video for f in dataset.frames}
    shares = _split(rest, video_of, names, by)
    team_id = uuid.uuid4().hex[:12]
    out.mkdir(parents=True, exist_ok=True)
    packages = {}
    frames_of: dict[str, tuple[str, ...]] = {}
    for i, name in enumerate(names):
        ctx.check()
        ctx.report(i / len(names), f"package of {name}")
        own = set(shares[name]) | overlap_set
        frames = [k for k in keys if k in own]
        frames_of[name] = tuple(frames)
        atomic_write_text(out / f"{name}.frames.txt", "".join(k + "\n" for k in frames))
        project_dir = out / f"{name}{PROJECT_SUFFIX}"
        info = {"id": f"{team_id}/{name}", "team": team_id, "annotator": name, "frames": frames,
                "overlap": overlap_keys, "by": by}
        with Project.open_or_create(dataset.root, project_dir=project_dir, app="cadis assign") as project:
            project.set_package(info)
        packages[name] = {"project": project_dir.name, "frames_file": f"{name}.frames.txt", "frames": len(frames)}
    manifest = {"team": team_id, "dataset": str(dataset.root), "annotators": list(names), "by": by,
                "seed": seed, "overlap": overlap_keys, "packages": packages}
    atomic_write_text(out / "team.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    ctx.report(1.0, "packages written")
    return Assignment(out, names, tuple(overlap_keys), frames_of)
