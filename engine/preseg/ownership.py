"""Whose head is it: a trained head belongs to the project (or dataset) whose frames trained it.

A head records its owner (`meta["owner"]`: the resolved project folder, or dataset root, it was trained
from). Training refuses to write over a head that belongs to someone else unless the caller says
`replace=True` (the app asks first, the CLI needs `--replace`); a head in `<project>/preseg-head` written
before owners were recorded belongs to that project. A head with no recorded owner anywhere else counts
as someone else's: replacing it must be asked for too. Training into a folder without a head is always
allowed (it becomes the new owner's).
"""
from __future__ import annotations

import os
from pathlib import Path

from .head_dir import CONFIG, PROJECT_HEAD_DIR

OWNER_KEY = "owner"


class HeadOwnershipError(ValueError):
    """The target folder holds a head of another project (or of an unknown owner)."""


def owner_of(path: str | Path) -> str:
    """The owner string of a project folder or dataset root (its resolved path)."""
    return os.path.realpath(Path(path).expanduser())


def head_owner(head_dir: str | Path) -> str | None:
    """Who a head belongs to: its recorded owner; else the project it sits in (`<project>/preseg-head`);
    None when there is no head there or no owner can be told."""
    head_dir = Path(head_dir)
    cfg_path = head_dir / CONFIG
    if not cfg_path.is_file():
        return None
    from engine.models.config_checks import read_json_object

    try:
        cfg = read_json_object(cfg_path, ValueError, "head description")
    except ValueError:
        cfg = {}
    meta = cfg.get("meta") if isinstance(cfg, dict) else None
    owner = meta.get(OWNER_KEY) if isinstance(meta, dict) else None
    if isinstance(owner, str) and owner:
        return owner
    if head_dir.name == PROJECT_HEAD_DIR and (head_dir.parent / "project.sqlite").is_file():
        return owner_of(head_dir.parent)
    return None


def holds_head(head_dir: str | Path | None) -> bool:
    return head_dir is not None and (Path(head_dir) / CONFIG).is_file()


def belongs_to(head_dir: str | Path, owner: str) -> bool:
    """True when `head_dir` holds no head yet, or a head of `owner`."""
    return not holds_head(head_dir) or head_owner(head_dir) == owner_of(owner)


def check_head_target(out_dir: str | Path, owner: str | Path, replace: bool = False) -> None:
    """Refuse (HeadOwnershipError) to train into `out_dir` when it holds a head that is not `owner`'s,
    unless `replace`."""
    if replace or belongs_to(out_dir, str(owner)):
        return
    found = head_owner(out_dir)
    whose = f"of {found}" if found else "whose owner is not recorded"
    raise HeadOwnershipError(
        f"{out_dir} holds a pre-segmentation head {whose}, not of {owner_of(owner)}: training would replace it. "
        "Train into this project's own head folder or a new folder, or replace it on purpose "
        "(`cadis train-preseg --replace`; the app asks)")
