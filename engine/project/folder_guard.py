"""Is this folder a dataset? A quick, bounded look before anything is scanned or a project is created.

`check_folder(path)` reads folder names and image headers only (a few hundred at most) and says why a folder
does not look like a CaDIS dataset or a folder of frames: a system or home folder, a deep tree, images of
mixed sizes, masks or screenshots among the images, or a project that would land where nobody expects it
(the filesystem root, a folder that cannot be written). The desktop asks before opening such a folder;
nothing here writes anything.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from engine.dataset.naming import IMAGE_SUFFIXES, parse_video_dir
from engine.project.locate import default_project_dir, is_project_dir

MAX_HEADERS = 300  # image headers read at most
MAX_DIRS = 400  # folders looked at at most (deep trees stop here)
MASK_WORDS = ("mask", "label", "_seg", "annot", "gt_")
SCREENSHOT_WORDS = ("screenshot", "screen shot", "bildschirmfoto", "capture d")
_PNG = b"\x89PNG\r\n\x1a\n"
_HEADER_BYTES = 256 << 10  # enough for a JPEG's EXIF block before its size; the rest is never read


@dataclass
class FolderCheck:
    """What `check_folder` found; `reasons` is empty when the folder looks like a dataset or project."""

    path: Path
    kind: str  # "project" | "cadis" | "frames" | "other"
    images: int = 0  # image files found in the part of the tree that opening would scan
    reasons: list[str] = field(default_factory=list)
    project_dir: Path | None = None  # where a new project would be created (None for a project folder)

    @property
    def looks_like_dataset(self) -> bool:
        return not self.reasons

    def message(self) -> str:
        """Plain sentences for a question to the user."""
        lines = [f"{self.path} does not look like a CaDIS dataset or a folder of frames:"]
        lines += [f"• {r}" for r in self.reasons]
        if self.project_dir is not None:
            lines.append(f"Opening it would index {self.images} image(s) and create the project folder "
                         f"{self.project_dir}.")
        return "\n".join(lines)


def image_header(path: Path) -> tuple[int, int, str] | None:
    """(width, height, kind) from the file header, kind "rgb", "grey" or "palette"; None if unreadable or not a
    regular file (a FIFO or device among the images is never opened for reading, so the window never hangs)."""
    import io

    from engine.files import UnreadableFileError, open_regular

    try:
        fd = open_regular(path, "image")
    except UnreadableFileError:
        return None
    try:
        with os.fdopen(fd, "rb", closefd=False) as fh:
            head = fh.read(32)
            if head[:8] == _PNG and head[12:16] == b"IHDR" and len(head) >= 26:
                colour = head[25]
                kind = {0: "grey", 4: "grey", 3: "palette"}.get(colour, "rgb")
                return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"), kind
            head += fh.read(_HEADER_BYTES - len(head))
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        from PIL import Image

        with Image.open(io.BytesIO(head)) as im:  # reads the header only
            kind = "grey" if im.mode in ("L", "1", "I", "I;16") else ("palette" if im.mode == "P" else "rgb")
            return im.width, im.height, kind
    except Exception:  # noqa: BLE001 - any unreadable header just counts as not an image
        return None


def _special_folders() -> dict[Path, str]:
    out = {Path(Path.home().anchor or "/").resolve(): "the filesystem root",
           Path.home().resolve(): "your home folder"}
    for tmp in {tempfile.gettempdir(), "/tmp", "/var/tmp"}:
        if os.path.isdir(tmp):
            out[Path(tmp).resolve()] = "the system's temporary folder"
    for name in ("Desktop", "Downloads", "Documents", "Pictures"):
        out[(Path.home() / name).resolve()] = f"your {name} folder"
    return out


def _scan(root: Path) -> tuple[list[Path], int, bool]:
    """Image files at the top and one folder down (what opening indexes), how deep the tree goes (capped),
    and whether the walk stopped at MAX_DIRS."""
    images: list[Path] = []
    depth, seen = 0, 0
    stack = [(root, 0)]
    while stack:
        folder, level = stack.pop()
        seen += 1
        if seen > MAX_DIRS:
            return images, depth, True
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    depth = max(depth, level + 1)
                    if level < 3:
                        stack.append((Path(e.path), level + 1))
                elif level <= 1 and os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES:
                    images.append(Path(e.path))
            except OSError:
                continue
    return images, depth, False


def check_folder(path: str | os.PathLike, project_dir: str | os.PathLike | None = None) -> FolderCheck:
    """A bounded look at a folder the user asked to open; see the module docstring. `project_dir` is where
    its project would go when the user chose a place (default: next to the folder)."""
    root = Path(path).expanduser()
    try:
        root = root.resolve()
    except OSError:
        pass
    if not root.is_dir():
        return FolderCheck(root, "other", reasons=["it is not a folder"])
    if is_project_dir(root):
        return FolderCheck(root, "project")
    special = _special_folders()
    reasons = [f"it is {special[root]}"] if root in special else []
    try:
        entries = list(os.scandir(root))
    except OSError as exc:
        return FolderCheck(root, "other", reasons=[f"it cannot be read ({exc.strerror or exc})"])
    project_dir = Path(project_dir).expanduser().resolve() if project_dir is not None else default_project_dir(root)
    parent = project_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if project_dir.parent == Path(project_dir.anchor):
        reasons.append(f"the project folder would be created at the filesystem root ({project_dir})")
    elif not os.access(parent, os.W_OK):
        reasons.append(f"the project folder {project_dir} cannot be created ({parent} is not writable)")
    if any(e.is_dir() and parse_video_dir(e.name) is not None for e in entries):
        return FolderCheck(root, "cadis", reasons=reasons, project_dir=project_dir)
    images, depth, stopped = _scan(root)
    if stopped or depth >= 3:
        reasons.append("it is a deep tree of folders, not a flat folder of frames")
    if not images:
        reasons.append("it holds no image files at its top or one folder down")
    headers = [h for h in (image_header(p) for p in images[:MAX_HEADERS]) if h is not None]
    sizes = {(w, h) for w, h, _ in headers}
    if len(sizes) > 1:
        shown = ", ".join(f"{w}x{h}" for w, h in sorted(sizes)[:4]) + (", …" if len(sizes) > 4 else "")
        reasons.append(f"its images have {len(sizes)} different sizes ({shown}); frames of one video share one")
    n_masks = sum(k != "rgb" for _, _, k in headers)
    n_masks += sum(any(w in p.name.lower() for w in MASK_WORDS) for p in images[:MAX_HEADERS])
    if n_masks:
        reasons.append(f"{min(n_masks, len(headers) or n_masks)} image(s) look like masks or grey images "
                       "(single-channel, palette, or named mask/label)")
    n_shots = sum(any(w in p.name.lower() for w in SCREENSHOT_WORDS) for p in images)
    if n_shots:
        reasons.append(f"{n_shots} image(s) are named like screenshots")
    return FolderCheck(root, "frames" if not reasons else "other", images=len(images), reasons=reasons,
                       project_dir=project_dir)
