"""Where training frames come from: a CaDIS dataset (labelled frames) or a project (done frames).

Frames are returned as lazy `FrameSource`s so training streams them one at a time. `--frames` lists are
text files with one frame key a line: the image path relative to the data root with forward slashes
(`Video01/Images/Video1_frame000090.png`); blank lines and `#` comments are skipped.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from engine.imageio import read_image, read_label

from .sampling import FrameSource

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def checked_pair(key: str, image, label):
    """(image, label) of a training frame, refused (ValueError naming the frame) when the label holds IDs
    outside the class set or is not the image's size: training must not map them to ignore or stretch them."""
    from engine.taxonomy import label_id_problem

    problem = label_id_problem(label)
    if problem is None and label.shape[:2] != image.shape[:2]:
        problem = (f"label is {label.shape[1]}x{label.shape[0]} but its image is {image.shape[1]}x{image.shape[0]}")
    if problem:
        raise ValueError(f"training frame {key}: {problem}; fix the label or leave the frame out "
                         "(`cadis info` lists every such problem)")
    return image, label


def read_frame_list(path: str | Path) -> list[str]:
    """Frame keys from a text file (one a line)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: frame list not found")
    keys = []
    from engine.files import read_text

    for line in read_text(p, 64 << 20, "frame list").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keys.append(line.replace("\\", "/"))
    if not keys:
        raise ValueError(f"{p}: the frame list is empty")
    return keys


def is_project(path: str | Path) -> bool:
    """True for a CaDIS Studio project folder (it holds the project database)."""
    from engine.project import is_project_dir

    return is_project_dir(Path(path))


def _dataset_frames(root: Path, keys: Sequence[str] | None, problems: list) -> list[FrameSource]:
    from engine.dataset import open_dataset

    index = open_dataset(root)
    problems.extend(index.scan_problems)
    if keys is None:
        records = index.labelled()
    else:
        records = []
        for k in keys:
            try:
                rec = index.by_key(k)
            except KeyError:
                raise ValueError(f"frame {k} (from the frame list) is not in {root}; keys look like "
                                 "Video01/Images/Video1_frame000090.png") from None
            if rec.label_path is None:
                raise ValueError(f"frame {k} has no label in {root}: only labelled frames can train a head")
            records.append(rec)
    return [FrameSource(r.key, (lambda r=r: checked_pair(r.key, read_image(r.image_path), read_label(r.label_path))))
            for r in records]


def _project_frames(path: Path, keys: Sequence[str] | None) -> list[FrameSource]:
    from engine.project import Project

    project = Project.open_or_create(path, read_only=True)  # reads only: works beside the app
    if keys is None:
        keys = project.keys_with_status("done")
    return project_frames(project, keys)


def project_frames(project, keys: Sequence[str]) -> list[FrameSource]:
    """Lazy `FrameSource`s of project frames with the person's labels: pixels a model made and nobody
    edited or reviewed are left out (255), so a head never learns from its own output."""
    return [FrameSource(k, (lambda k=k: checked_pair(k, project.load_image(k), project.human_label(k))))
            for k in keys]


def model_made_shares(project, keys: Sequence[str]) -> dict[str, float]:
    """{key: share of the frame's labelled pixels that a model made} for the frames of `keys` that have any."""
    counts = project.model_made_pixels()
    out = {}
    for k in keys:
        if counts.get(k):
            label = project.load_label(k)
            labelled = int((label != 255).sum())
            out[k] = min(1.0, counts[k] / labelled) if labelled else 0.0
    return out


def training_frames(data: str | Path, frame_list: str | Path | None = None,
                    problems: list | None = None) -> list[FrameSource]:
    """Training frames of a dataset (all labelled frames) or a project (all done frames), or only those
    named in `frame_list`. Dataset entries that could not be indexed are appended to `problems`."""
    data = Path(data)
    if not data.exists():
        raise FileNotFoundError(f"{data}: no such dataset or project folder")
    keys = read_frame_list(frame_list) if frame_list else None
    problems = [] if problems is None else problems
    frames = _project_frames(data, keys) if is_project(data) else _dataset_frames(data, keys, problems)
    if not frames:
        what = "done frames in the project" if is_project(data) else "labelled frames in the dataset"
        raise ValueError(f"{data}: no {what}; label a few frames first")
    return frames


def image_paths(inputs: Sequence[str | Path], problems: list | None = None) -> list[Path]:
    """Image files named directly or found (recursively, sorted) in named folders; label-like files
    (`*.uncertainty.png`) are skipped. Link loops and unreadable folders are appended to `problems`."""
    from engine.dataset.report import Problem
    from engine.dataset.scan import walk_files

    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found_problems: list = []
            found = walk_files(p, found_problems, lambda q, p=p: q.suffix.lower() in IMAGE_SUFFIXES
                               and not q.name.endswith(".uncertainty.png") and "Labels" not in q.relative_to(p).parts)
            if problems is not None:
                problems.extend(Problem(f"{p}/{x.path}" if x.path != "." else str(p), x.reason) for x in found_problems)
            if not found:
                raise FileNotFoundError(f"{p}: no PNG/JPEG images in this folder")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such image or folder")
    return out
