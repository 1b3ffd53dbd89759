"""The user's settings (QSettings): recent projects, shortcuts, device, model folders.

`Settings()` uses the platform's normal store; `Settings(path)` uses an INI file (tests, portable
installs, `--settings`). The environment variable CADIS_STUDIO_SETTINGS also selects an INI file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, QStandardPaths

from desktop.shortcuts import DEFAULT_KEYMAP, merged_keymap, normalize

ORG, APP = "CaDIS Studio", "CaDIS Studio"
MAX_RECENT = 10
DEVICES = ("auto", "cpu", "cuda")
DATA_ENV = "CADIS_STUDIO_DATA"  # overrides the user's data folder (tests, portable installs)


def user_data_dir() -> Path:
    """The user's data folder for CaDIS Studio (the phantom sample lives here, never in the install folder):
    $CADIS_STUDIO_DATA, else the platform's AppDataLocation (~/.local/share/CaDIS Studio/CaDIS Studio on
    Linux, following XDG_DATA_HOME)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    if not loc:  # no QCoreApplication names yet: build the XDG path ourselves
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        loc = str(Path(base) / ORG / APP)
    return Path(loc)


def phantom_dir() -> Path:
    """Where the phantom sample is generated and opened from."""
    return user_data_dir() / "phantom"


class Settings:
    """Typed access to the stored settings."""

    def __init__(self, path: Optional[str | os.PathLike] = None):
        path = path or os.environ.get("CADIS_STUDIO_SETTINGS")
        if path:
            self._q = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self._q = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)

    @property
    def file_name(self) -> str:
        return self._q.fileName()

    def reset(self) -> None:
        """Forget everything (the --reset-settings option)."""
        self._q.clear()
        self._q.sync()

    def sync(self) -> None:
        self._q.sync()

    # -- generic -----------------------------------------------------------------------------------
    def _get_str(self, key: str, default: str = "") -> str:
        value = self._q.value(key, default)
        return str(value) if value is not None else default

    def _get_bool(self, key: str, default: bool) -> bool:
        value = self._q.value(key, default)
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes", "on")
        return bool(value)

    # -- recent projects ---------------------------------------------------------------------------
    def recent_projects(self) -> list[str]:
        value = self._q.value("recent/projects", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str | os.PathLike) -> list[str]:
        path = str(Path(path).resolve())
        items = [p for p in self.recent_projects() if p != path]
        items.insert(0, path)
        items = items[:MAX_RECENT]
        self._q.setValue("recent/projects", items)
        return items

    def clear_recent(self) -> None:
        self._q.remove("recent/projects")

    def last_project(self) -> Optional[str]:
        """The project opened last (the first recent one), if its folder still exists."""
        recent = self.recent_projects()
        return recent[0] if recent and Path(recent[0]).is_dir() else None

    def _last_frames(self) -> dict[str, str]:
        try:
            value = json.loads(self._get_str("recent/last_frames", "{}"))
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def last_frame(self, project_root: str | os.PathLike) -> Optional[str]:
        """The frame key shown last in that project (None if never recorded)."""
        key = self._last_frames().get(str(Path(project_root).resolve()))
        return str(key) if key else None

    def set_last_frame(self, project_root: str | os.PathLike, key: str) -> None:
        frames = self._last_frames()
        root = str(Path(project_root).resolve())
        frames.pop(root, None)
        frames[root] = key
        keep = set(self.recent_projects()) | {root}
        frames = {r: k for r, k in frames.items() if r in keep}
        self._q.setValue("recent/last_frames", json.dumps(frames))

    # -- shortcuts ---------------------------------------------------------------------------------
    def keymap(self) -> dict[str, str]:
        """Every action's key: the defaults with the user's changes."""
        self._q.beginGroup("shortcuts")
        try:
            overrides = {k: str(self._q.value(k)) for k in self._q.childKeys()}
        finally:
            self._q.endGroup()
        return merged_keymap({k.replace("_dot_", "."): v for k, v in overrides.items()})

    def set_keymap(self, keymap: dict[str, str]) -> None:
        """Store the keys that differ from the defaults (so new defaults reach old users)."""
        self._q.remove("shortcuts")
        for action_id, key in keymap.items():
            if action_id in DEFAULT_KEYMAP and normalize(key) != DEFAULT_KEYMAP[action_id]:
                self._q.setValue(f"shortcuts/{action_id.replace('.', '_dot_')}", normalize(key))

    # -- device and models -------------------------------------------------------------------------
    @property
    def device(self) -> str:
        value = self._get_str("compute/device", "auto")
        return value if value in DEVICES else "auto"

    @device.setter
    def device(self, value: str) -> None:
        if value not in DEVICES:
            raise ValueError(f"unknown device {value!r}: use auto, cpu or cuda")
        self._q.setValue("compute/device", value)

    @property
    def model_dir(self) -> str:
        """The synthesis model folder: the user's choice, else the shipped starter model when it is present."""
        value = self._get_str("models/folder")
        if value:
            return value
        from engine.models.model_dir import starter_model_dir

        starter = starter_model_dir()
        usable = (starter / "model_index.json").is_file() or (starter / "config.json").is_file()
        return str(starter) if usable else ""

    @model_dir.setter
    def model_dir(self, value: str) -> None:
        self._q.setValue("models/folder", str(value))

    @property
    def preseg_dir(self) -> str:
        """The pre-segmentation head folder; empty = `preseg-head` inside the open project."""
        return self._get_str("models/preseg_head")

    @preseg_dir.setter
    def preseg_dir(self, value: str) -> None:
        self._q.setValue("models/preseg_head", str(value))

    @property
    def sd_dir(self) -> str:
        return self._get_str("models/stable_diffusion")

    @sd_dir.setter
    def sd_dir(self, value: str) -> None:
        self._q.setValue("models/stable_diffusion", str(value))

    # -- behaviour ---------------------------------------------------------------------------------
    @property
    def recovery_policy(self) -> str:
        """What to do with journal entries found at start: "ask", "recover" or "discard"."""
        value = self._get_str("behaviour/recovery", "ask")
        return value if value in ("ask", "recover", "discard") else "ask"

    @recovery_policy.setter
    def recovery_policy(self, value: str) -> None:
        if value not in ("ask", "recover", "discard"):
            raise ValueError("recovery policy must be ask, recover or discard")
        self._q.setValue("behaviour/recovery", value)

    def _get_int(self, key: str, default: int, minimum: int) -> int:
        try:
            return max(minimum, int(self._q.value(key, default)))
        except (TypeError, ValueError):
            return default

    @property
    def autosave_ms(self) -> int:
        return self._get_int("behaviour/autosave_ms", 3000, 200)

    @autosave_ms.setter
    def autosave_ms(self, value: int) -> None:
        self._q.setValue("behaviour/autosave_ms", int(value))

    @property
    def brush_radius(self) -> int:
        """The brush size (radius in px) the user last chose; 12 at first."""
        return self._get_int("tools/brush_radius", 12, 1)

    @brush_radius.setter
    def brush_radius(self, value: int) -> None:
        self._q.setValue("tools/brush_radius", int(value))

    def window_state(self) -> tuple[bytes | None, bytes | None]:
        return self._q.value("window/geometry"), self._q.value("window/state")

    def set_window_state(self, geometry: bytes, state: bytes) -> None:
        self._q.setValue("window/geometry", geometry)
        self._q.setValue("window/state", state)
