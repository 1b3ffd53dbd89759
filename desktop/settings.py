"""The user's settings (QSettings): recent projects, shortcuts, device, model folders, panel options.

`Settings()` uses the platform's normal store; `Settings(path)` uses an INI file (tests, portable
installs, `--settings`). The environment variable CADIS_STUDIO_SETTINGS also selects an INI file.

The file carries `meta/version` (VERSION). A file written by an earlier version is migrated when opened
(`migrate`, one step per version): version 1 (no version key) -> 2 forgets the saved dock layout (the docks
of version 1 are arranged differently; the window geometry is kept) and shortcut entries of actions that no
longer exist. A file of a newer version is read as it is and never stamped down.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QAbstractButton, QComboBox, QDoubleSpinBox, QSpinBox, QWidget

from desktop.shortcuts import DEFAULT_KEYMAP, merged_keymap, normalize

ORG, APP = "CaDIS Studio", "CaDIS Studio"
VERSION = 2
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


def _text_setting(key: str, doc: str) -> property:
    """A text setting stored under `key` ("" when unset)."""
    def get(self) -> str:
        return self._get_str(key)

    def put(self, value: str) -> None:
        self._q.setValue(key, str(value))

    return property(get, put, doc=doc)


class Settings:
    """Typed access to the stored settings."""

    def __init__(self, path: Optional[str | os.PathLike] = None):
        path = path or os.environ.get("CADIS_STUDIO_SETTINGS")
        if path:
            self._q = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self._q = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)
        self.migrated_from = migrate(self._q)  # the version the file had, when it was migrated now

    @property
    def version(self) -> int:
        return _version(self._q)

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

    def export_choices(self) -> dict:
        """The export dialog's last choices (JSON object; {} when none were kept)."""
        try:
            value = json.loads(self._get_str("export/choices", "{}"))
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def set_export_choices(self, choices: dict) -> None:
        self._q.setValue("export/choices", json.dumps(choices))

    def problems_shown(self, dataset_root: str | os.PathLike) -> str:
        """The fingerprint of the dataset problems last shown for that dataset ("" if none)."""
        try:
            value = json.loads(self._get_str("problems/shown", "{}"))
        except ValueError:
            return ""
        return str(value.get(str(Path(dataset_root).resolve()), "")) if isinstance(value, dict) else ""

    def set_problems_shown(self, dataset_root: str | os.PathLike, fingerprint: str) -> None:
        try:
            value = json.loads(self._get_str("problems/shown", "{}"))
        except ValueError:
            value = {}
        value = value if isinstance(value, dict) else {}
        value[str(Path(dataset_root).resolve())] = fingerprint
        self._q.setValue("problems/shown", json.dumps(dict(list(value.items())[-50:])))

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

    preseg_dir = _text_setting("models/preseg_head",
                               "The pre-segmentation head folder; empty = `preseg-head` inside the open project.")
    sd_dir = _text_setting("models/stable_diffusion", "The Stable Diffusion folder of text edits.")
    segment_dir = _text_setting("models/segment",
                                "The SAM / SAM 2 / SAM 3 folder of the Segment tool; empty = none.")

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

    # -- panel options -----------------------------------------------------------------------------
    def options(self, panel: str) -> dict:
        """The options a panel kept from its last run ({} when none or unreadable)."""
        try:
            value = json.loads(self._get_str(f"panels/{panel}", "{}"))
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def set_options(self, panel: str, options: dict) -> None:
        self._q.setValue(f"panels/{panel}", json.dumps(options, sort_keys=True))

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


def _version(q: QSettings) -> int:
    try:
        return int(q.value("meta/version", 1))
    except (TypeError, ValueError):
        return 1


def migrate(q: QSettings) -> Optional[int]:
    """Bring a settings file of an earlier version to VERSION; returns the version it had (None: nothing to do).
    A new, empty file is only stamped."""
    if not q.allKeys():
        q.setValue("meta/version", VERSION)
        return None
    old = _version(q)
    if old >= VERSION:
        return None
    if old < 2:
        q.remove("window/state")  # the version 1 dock layout; the window's size and place stay
        q.beginGroup("shortcuts")
        stale = [k for k in q.childKeys() if k.replace("_dot_", ".") not in DEFAULT_KEYMAP]
        for k in stale:
            q.remove(k)
        q.endGroup()
    q.setValue("meta/version", VERSION)
    return old


def keep_options(settings: Settings, panel: str, widgets: dict[str, QWidget]) -> None:
    """Restore `widgets` (spin boxes, combo boxes by item data, check boxes) from the panel's kept options,
    then keep every later change. Values that no longer fit (an item that is gone) are skipped."""
    kept = settings.options(panel)
    for name, w in widgets.items():
        if name not in kept:
            continue
        value = kept[name]
        if isinstance(w, QComboBox):
            index = w.findData(value)
            if index >= 0:
                w.setCurrentIndex(index)
        elif isinstance(w, QAbstractButton) and isinstance(value, bool):
            w.setChecked(value)
        elif isinstance(w, (QSpinBox, QDoubleSpinBox)) and isinstance(value, (int, float)):
            w.setValue(value)

    def save(*_) -> None:
        settings.set_options(panel, {name: _value(w) for name, w in widgets.items()})

    for w in widgets.values():
        signal = (w.currentIndexChanged if isinstance(w, QComboBox) else w.toggled
                  if isinstance(w, QAbstractButton) else w.valueChanged)
        signal.connect(save)


def _value(w: QWidget):
    if isinstance(w, QComboBox):
        return w.currentData()
    if isinstance(w, QAbstractButton):
        return w.isChecked()
    return w.value()
