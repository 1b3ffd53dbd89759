"""The default keymap of the app, the actions it names, and conflict detection.

An action id (e.g. "tool.brush", "status.done", "class.1") maps to one key sequence in Qt's portable text
form ("B", "Ctrl+Shift+Z", "PgUp"). Users change keys in Preferences; `desktop.settings` stores only the
keys that differ from these defaults.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QKeySequence


@dataclass(frozen=True)
class ActionSpec:
    """One user-visible command: id, menu text, qtawesome icon name, default key."""

    id: str
    text: str
    icon: str
    key: str
    tip: str = ""
    scope: str = "window"  # "window": a window-wide shortcut; "curation": only while the curation panel has focus


# Digit d selects class d; a second digit typed right after the first selects the two-digit class (1 then 2:
# class 12), so every one of the 36 classes has keys. "C" opens the class search popup.
DIGIT_KEYS: tuple[str, ...] = tuple(str(d) for d in range(10))
DIGIT_CLASSES: tuple[int, ...] = tuple(range(10))



@dataclass(frozen=True)
class ToolSpec:
    """One canvas tool: its name, what the toolbar, menu and tooltip show, its default key, and its class
    ("module:Class", imported when a canvas first uses it)."""

    name: str
    text: str
    icon: str
    key: str
    tip: str
    impl: str

    @property
    def action_id(self) -> str:
        return f"tool.{self.name}"


# The tool registry, in toolbar order: the canvas, the tool options dock, the Tools menu, the pair editor and
# the keymap all read it, so a new tool is one entry here (and its class).
TOOL_SPECS: tuple[ToolSpec, ...] = (
    ToolSpec("brush", "Brush", "mdi6.brush", "B", "Paint the current class", "desktop.tools.brush:BrushTool"),
    ToolSpec("eraser", "Eraser", "mdi6.eraser", "E", "Erase to unlabelled (255)", "desktop.tools.brush:EraserTool"),
    ToolSpec("fill", "Flood fill", "mdi6.format-color-fill", "F", "Fill a connected region",
             "desktop.tools.fill:FillTool"),
    ToolSpec("polygon", "Polygon", "mdi6.vector-polygon", "P", "Click vertices, double-click to fill",
             "desktop.tools.polygon:PolygonTool"),
    ToolSpec("lasso", "Lasso", "mdi6.lasso", "L", "Freehand filled region", "desktop.tools.lasso:LassoTool"),
    ToolSpec("segment", "Segment (SAM)", "mdi6.auto-fix", "S",
             "Click a structure (right click: not this), drag a box; Tab: next mask, Enter or double click: "
             "commit, Esc: drop; Shift+click a region to repair it", "desktop.tools.segment:SegmentTool"),
    ToolSpec("picker", "Class picker", "mdi6.eyedropper", "I", "Pick the class under the cursor",
             "desktop.tools.picker:PickerTool"),
)
TOOL_BY_NAME: dict[str, ToolSpec] = {t.name: t for t in TOOL_SPECS}


def tool_tip(name: str, keymap: dict[str, str]) -> str:
    """The tooltip of a tool with the user's current key: "Brush (B)", or "Brush" when it has none."""
    spec = TOOL_BY_NAME[name]
    key = keymap.get(spec.action_id, "")
    return f"{spec.text} ({key})" if key else spec.text


ACTIONS: tuple[ActionSpec, ...] = tuple(
    ActionSpec(t.action_id, t.text, t.icon, t.key, t.tip) for t in TOOL_SPECS
) + (
    ActionSpec("segment.find", "Find by name…", "mdi6.text-search", "Ctrl+F",
               "SAM 3: every instance of the current class's name (and synonyms) as a proposal"),
    ActionSpec("brush.smaller", "Smaller brush", "mdi6.minus-circle-outline", "[", ""),
    ActionSpec("brush.larger", "Larger brush", "mdi6.plus-circle-outline", "]", ""),
    ActionSpec("edit.undo", "Undo", "mdi6.undo", "Ctrl+Z", ""),
    ActionSpec("edit.redo", "Redo", "mdi6.redo", "Ctrl+Shift+Z", ""),
    ActionSpec("edit.redo_alt", "Redo (alternative)", "mdi6.redo", "Ctrl+Y", ""),
    ActionSpec("status.done", "Done", "mdi6.check-circle", "D", "Mark the frame reviewed and done"),
    ActionSpec("status.flagged", "Flag", "mdi6.flag", "G", "Flag the frame for a second look"),
    ActionSpec("status.rejected", "Reject", "mdi6.close-octagon", "R", "Reject the frame (unusable)"),
    ActionSpec("nav.next_unfinished", "Next unfinished", "mdi6.debug-step-over", "N", ""),
    ActionSpec("nav.prev", "Previous frame", "mdi6.chevron-left", "PgUp", ""),
    ActionSpec("nav.next", "Next frame", "mdi6.chevron-right", "PgDown", ""),
    ActionSpec("file.save", "Save", "mdi6.content-save", "Ctrl+S", ""),
    ActionSpec("view.fit", "Fit to window", "mdi6.fit-to-screen-outline", "Ctrl+0", ""),
    ActionSpec("view.actual", "Actual size", "mdi6.magnify-plus-outline", "Ctrl+1", ""),
    ActionSpec("view.toggle_overlay", "Cycle overlay fill/contour/hidden", "mdi6.layers-outline", "O", ""),
    ActionSpec("view.canvas_only", "Canvas only (hide all panels)", "mdi6.fullscreen", "F11",
               "Hide every panel; press again to bring them back"),
    ActionSpec("view.reset_layout", "Reset layout", "mdi6.view-dashboard-outline", "",
               "Put every panel back in the right-hand column"),
    ActionSpec("class.search", "Choose class…", "mdi6.magnify", "C", "Type part of a class name, press Enter"),
    ActionSpec("help.shortcuts", "Keyboard shortcuts", "mdi6.keyboard-outline", "F1", ""),
    ActionSpec("curation.accept", "Accept pair", "mdi6.check", "A", "Curation: accept the current pair",
               scope="curation"),
    ActionSpec("curation.reject", "Reject pair", "mdi6.close", "X", "Curation: reject the current pair",
               scope="curation"),
) + tuple(
    ActionSpec(f"class.{k}", f"Class key {k}", "mdi6.palette", k, "") for k in DIGIT_KEYS
)

ACTION_BY_ID: dict[str, ActionSpec] = {a.id: a for a in ACTIONS}
DEFAULT_KEYMAP: dict[str, str] = {a.id: a.key for a in ACTIONS}


def digit_class(action_id: str) -> int | None:
    """The class ID a "class.<digit>" action selects, or None for other actions."""
    if not action_id.startswith("class.") or action_id.split(".", 1)[1] not in DIGIT_KEYS:
        return None
    return DIGIT_CLASSES[DIGIT_KEYS.index(action_id.split(".", 1)[1])]


def class_key_hints(keymap: dict[str, str], num_classes: int) -> dict[int, str]:
    """The keys that select each class: one digit key for 0..9, two in a row for 10 and above."""
    digit = {d: keymap.get(f"class.{k}", "") for d, k in zip(DIGIT_CLASSES, DIGIT_KEYS)}
    hints = {}
    for cid in range(num_classes):
        keys = [digit.get(int(c), "") for c in str(cid)]
        hints[cid] = " ".join(keys) if all(keys) else ""
    return hints


def normalize(key: str) -> str:
    """Qt's portable text of a key sequence ("ctrl+z" -> "Ctrl+Z", "Page Up" stays readable)."""
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.PortableText) if key else ""


def find_conflicts(keymap: dict[str, str]) -> dict[str, list[str]]:
    """{key: [action ids]} for every non-empty key bound to more than one action."""
    by_key: dict[str, list[str]] = {}
    for action_id, key in keymap.items():
        k = normalize(key)
        if k:
            by_key.setdefault(k, []).append(action_id)
    return {k: sorted(ids) for k, ids in by_key.items() if len(ids) > 1}


def describe_conflicts(conflicts: dict[str, list[str]]) -> list[str]:
    """Plain sentences for the preferences dialog."""
    out = []
    for key, ids in sorted(conflicts.items()):
        names = " and ".join(ACTION_BY_ID[i].text if i in ACTION_BY_ID else i for i in ids)
        out.append(f"{key} is used by {names}: give one of them another key.")
    return out


def merged_keymap(overrides: dict[str, str] | None) -> dict[str, str]:
    """Defaults with the user's overrides for known actions (unknown ids are ignored)."""
    keymap = dict(DEFAULT_KEYMAP)
    for action_id, key in (overrides or {}).items():
        if action_id in keymap:
            keymap[action_id] = normalize(key)
    return keymap
