"""Checksums of an export and their verification (`cadis verify EXPORT_DIR`).

Every file an export writes, except `manifest.json` itself, is listed in the manifest's `files` map with its
SHA-256, so damage (a cut copy, a flipped bit, a file replaced or deleted) can be found later. Verification
reads every listed file, compares its checksum, and also names files in the folder that the export did not
write. Exports made before checksums existed (no `files` map) are reported as unverifiable.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.export.manifest import MANIFEST_NAME, read_manifest
from engine.project.paths import resolve_inside

_CHUNK = 1 << 20
# files a finisher of an export made before checksums existed may have written next to the frames
_LEGACY_EXTRA = ("coco.json", "class_frequency.md", "class_frequency.csv", "class_frequency.png")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _files_on_disk(root: Path) -> list[str]:
    """Relative paths (forward slashes) of every regular file under `root`, links not followed."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        rel_folder = Path(folder).relative_to(root).as_posix()
        for name in sorted(files):
            found.append(name if rel_folder == "." else f"{rel_folder}/{name}")
    return found


def checksum_tree(root: Path, skip: tuple[str, ...] = (MANIFEST_NAME,)) -> dict[str, str]:
    """{relative path: SHA-256} of every file under `root` except those named in `skip`."""
    return {rel: sha256_file(root / rel) for rel in _files_on_disk(root) if rel not in skip}


def listed_files(manifest: dict) -> set[str]:
    """The files an export says it wrote: its checksum map, or (older exports) the frames' paths."""
    files = manifest.get("files")
    if isinstance(files, dict):
        return set(files)
    listed = set(_LEGACY_EXTRA)
    for entry in manifest.get("frames", []):
        listed.update(entry[k] for k in ("image", "label", "preview") if isinstance(entry, dict) and entry.get(k))
    return listed


def unlisted_files(root: Path, manifest: dict) -> list[str]:
    """Files in an export folder that its manifest does not list (someone else put them there)."""
    listed = listed_files(manifest) | {MANIFEST_NAME}
    return [rel for rel in _files_on_disk(Path(root)) if rel not in listed]


@dataclass
class VerifyReport:
    """What `verify_export` found: files checked, and (path, reason) for every damaged or unexpected file."""

    root: Path
    checked: int = 0
    damaged: list[tuple[str, str]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every listed file matches and nothing else is in the folder (files the export did not write are a
        failure too: someone changed the export; `cadis verify --allow-unlisted` accepts them)."""
        return not self.damaged and not self.unexpected


def verify_export(root: str | os.PathLike, ctx=None) -> VerifyReport:
    """Check every file of an export against the SHA-256 in its manifest. ValueError if the folder holds no
    readable manifest or the manifest has no checksums. `ctx` (an engine.jobs.JobContext) reports progress
    and cancels."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder (give the export folder that holds manifest.json)")
    manifest = read_manifest(root)
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ValueError(f"{root / MANIFEST_NAME} lists no checksums (the export was made by an older version); "
                         "export again to be able to verify it")
    report = VerifyReport(root=root)
    for i, (rel, expected) in enumerate(sorted(files.items())):
        if ctx is not None:
            ctx.check()
            ctx.report(i / len(files), str(rel))
        try:
            path = resolve_inside(root, rel, "file")
        except ValueError as exc:
            report.damaged.append((str(rel), str(exc)))
            continue
        report.checked += 1
        if path.is_symlink() or not path.is_file():
            report.damaged.append((rel, "missing" if not os.path.lexists(path) else "not a regular file"))
            continue
        try:
            actual = sha256_file(path)
        except OSError as exc:
            report.damaged.append((rel, f"cannot be read ({exc.strerror or exc})"))
            continue
        if actual != expected:
            report.damaged.append((rel, f"damaged: SHA-256 {actual[:12]}… differs from the manifest's "
                                        f"{str(expected)[:12]}…"))
    report.unexpected = unlisted_files(root, manifest)
    return report
