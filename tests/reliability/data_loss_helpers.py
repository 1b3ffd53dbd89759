"""Shared pieces of the data-loss tests: a finished project, dataset checksums, the CLI run in-process."""
from __future__ import annotations

import hashlib
from pathlib import Path

from engine.cli import main
from engine.project import Project
from tests.reliability.helpers import make_dataset


def tree_sha(root: Path) -> dict[str, str]:
    """{relative path: SHA-256} of every file under `root` (the dataset checksum the promise is about)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


def finished_project(tmp_path: Path, frames=None) -> Project:
    """A project of the small reliability dataset with every frame marked done."""
    dataset = make_dataset(tmp_path / "cadis", **({"frames": frames} if frames else {}))
    project = Project.open_or_create(dataset, project_dir=tmp_path / "cadis.cadis-project")
    for key in project.frame_keys():
        project.set_status(key, "done")
    return project


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`cadis ARGV` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_clear_line(err: str) -> str:
    """The refusal message: exactly one line, no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {err!r}"
    assert "Traceback" not in err
    return lines[0]
