"""The frame browser: frames grouped by video with thumbnails (the frame with its mask), the review status as
icon and colour, filters by status and split, and "next unfinished". Thumbnails are decoded by a background
job and arrive one by one; the window refreshes a frame's thumbnail when its label is saved."""
from __future__ import annotations

from typing import Iterable, Optional

import cv2
import numpy as np
import qtawesome as qta
from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from desktop.qt_image import rgb_to_qimage
from engine.taxonomy import DISPLAY_PALETTES, IGNORE, NUM_CLASSES

# review status -> (colour, icon, text); the stored status "unlabelled" means "not reviewed yet" (the pixel
# value 255 is an "unlabelled pixel": two different things, two different names)
STATUS_STYLE: dict[str, tuple[str, str, str]] = {
    "unlabelled": ("#7a808a", "mdi6.circle-outline", "Not reviewed"),
    "in_progress": ("#4aa3ff", "mdi6.progress-pencil", "In progress"),
    "done": ("#3fb950", "mdi6.check-circle", "Done"),
    "flagged": ("#e3b341", "mdi6.flag", "Flagged"),
    "rejected": ("#f85149", "mdi6.close-octagon", "Rejected"),
}
STATUS_FILTERS = (("", "All statuses"), ("unfinished", "Unfinished"), ("unlabelled", "Not reviewed"),
                  ("in_progress", "In progress"), ("done", "Done"), ("flagged", "Flagged"), ("rejected", "Rejected"),
                  ("to_label", "To label (no label yet)"), ("model_made", "Model-made, not reviewed"))
MODEL_MADE_COLOUR = "#d070ff"
SPLIT_FILTERS = (("", "All splits"), ("train", "Train"), ("val", "Validation"), ("test", "Test"),
                 ("unassigned", "Unassigned"))
THUMB_W, THUMB_H = 96, 54
COMPACT_W, COMPACT_H = 36, 20  # thumbnail rows when the list is short (a 1366x768 screen): 8+ frames in view
FULL_ROWS = 8  # the list uses full-size rows only where this many of them fit
KEY_ROLE = Qt.ItemDataRole.UserRole
THUMB_MASK_ALPHA = 0.45  # the mask drawn over the thumbnail
UNREADABLE_COLOUR = "#f85149"


def status_icon(status: str) -> QIcon:
    colour, icon, _ = STATUS_STYLE.get(status, STATUS_STYLE["unlabelled"])
    return qta.icon(icon, color=colour)


def make_thumbnail(image: np.ndarray) -> np.ndarray:
    """Shrink an RGB frame to the browser's thumbnail width (area filter, aspect kept)."""
    h, w = image.shape[:2]
    tw = THUMB_W
    th = max(1, round(h * tw / max(w, 1)))
    return cv2.resize(image, (tw, th), interpolation=cv2.INTER_AREA)


def thumbnail_of(image: np.ndarray, label: Optional[np.ndarray], palette: str = "distinct") -> np.ndarray:
    """The thumbnail of a frame with its mask blended over it (unlabelled pixels show the frame only)."""
    thumb = make_thumbnail(image)
    if label is None or label.shape != image.shape[:2]:
        return thumb
    small = cv2.resize(label, (thumb.shape[1], thumb.shape[0]), interpolation=cv2.INTER_NEAREST)
    colours = np.zeros((256, 3), np.float32)
    colours[:NUM_CLASSES] = DISPLAY_PALETTES[palette]
    labelled = (small != IGNORE)[..., None]
    mixed = thumb * (1 - THUMB_MASK_ALPHA) + colours[small] * THUMB_MASK_ALPHA
    return np.where(labelled, mixed, thumb).astype(np.uint8)


class ThumbnailSink(QObject):
    """Carries thumbnails from the loader thread to the GUI thread (queued signal)."""

    ready = Signal(str, object)  # key, HxWx3 uint8


def load_thumbnails(ctx, project, keys: list[str], sink: ThumbnailSink, palette: str = "distinct") -> int:
    """Background job: each frame of `project` with its current label (the project's edit, else the dataset's)
    as a thumbnail, emitted one by one; returns how many loaded. Unreadable frames are skipped here
    (validation reports them)."""
    done = 0
    for i, key in enumerate(keys):
        ctx.check()
        try:
            image = project.load_image(key)
        except Exception:  # noqa: BLE001 - unreadable frames are reported by validation
            image = None
        if image is not None:
            try:
                label = project.load_label(key)
            except Exception:  # noqa: BLE001 - the frame alone is still a useful thumbnail
                label = None
            sink.ready.emit(key, thumbnail_of(image, label, palette))
            done += 1
        ctx.report((i + 1) / max(1, len(keys)), f"{i + 1}/{len(keys)} thumbnails")
    return done


class FrameBrowser(QWidget):
    """Frames by video; double-click or select to open one."""

    frameActivated = Signal(str)
    nextUnfinishedRequested = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._meta: dict[str, tuple[str, str]] = {}  # key -> (status, split)
        self._model_made: dict[str, float] = {}  # key -> share of the frame a model made, not reviewed
        self._to_label: set[str] = set()  # frames with no label at all (normal: they are to be labelled)
        self._thumbs: dict[str, QPixmap] = {}
        self._current: Optional[str] = None
        self.sink = ThumbnailSink(self)
        self.sink.ready.connect(self.set_thumbnail, Qt.ConnectionType.QueuedConnection)
        self.status_filter = QComboBox()
        for key, text in STATUS_FILTERS:
            self.status_filter.addItem(text, key)
        self.split_filter = QComboBox()
        for key, text in SPLIT_FILTERS:
            self.split_filter.addItem(text, key)
        self.status_filter.currentIndexChanged.connect(self.apply_filters)
        self.split_filter.currentIndexChanged.connect(self.apply_filters)
        self.next_button = QPushButton(qta.icon("mdi6.debug-step-over", color="#c8ccd4"), "Next unfinished")
        self.next_button.setToolTip("Jump to the next unlabelled or in-progress frame (N)")
        self.next_button.clicked.connect(self.nextUnfinishedRequested.emit)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Frame", ""])
        self.tree.setHeaderHidden(True)  # one column of frames: a header would take a row of the list
        self.compact = False
        self.tree.setIconSize(QSize(THUMB_W, THUMB_H))
        self.tree.setIndentation(10)
        head = self.tree.header()
        head.setStretchLastSection(False)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        head.resizeSection(1, 28)
        self.tree.itemActivated.connect(self._on_activated)
        self.tree.itemClicked.connect(self._on_activated)
        self.summary = QLabel("No project open")
        self.summary.setObjectName("hint")
        self.summary.setWordWrap(True)
        filters = QHBoxLayout()
        filters.addWidget(self.status_filter, 1)
        filters.addWidget(self.split_filter, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(filters)
        lay.addWidget(self.tree, 1)
        foot = QHBoxLayout()  # one row under the list: the list keeps the height
        foot.addWidget(self.summary, 1)
        foot.addWidget(self.next_button)
        lay.addLayout(foot)

    # -- row size ----------------------------------------------------------------------------------
    def _row_size(self) -> QSize:
        return QSize(COMPACT_W, COMPACT_H + 4) if self.compact else QSize(THUMB_W, THUMB_H + 6)

    def set_compact(self, on: bool) -> None:
        """Small thumbnail rows (a short list, e.g. on a 1366x768 screen) or full-size ones."""
        if on == self.compact:
            return
        self.compact = on
        self.tree.setIconSize(QSize(COMPACT_W, COMPACT_H) if on else QSize(THUMB_W, THUMB_H))
        size = self._row_size()
        for item in self._items.values():
            item.setSizeHint(0, size)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self.set_compact(self.tree.viewport().height() < FULL_ROWS * (THUMB_H + 6))

    # -- content -----------------------------------------------------------------------------------
    def set_frames(self, frames: Iterable, statuses: dict[str, str]) -> None:
        """Fill the tree from FrameRecords (key, video, frame, split) and their statuses."""
        self.tree.clear()
        self._items.clear()
        self._meta.clear()
        self._thumbs.clear()
        groups: dict[object, QTreeWidgetItem] = {}
        blank = self._blank_thumbnail()
        for rec in frames:
            if rec.video not in groups:
                title = f"Video {rec.video:02d}" if rec.video is not None else "Frames"
                group = QTreeWidgetItem([title, ""])
                group.setFirstColumnSpanned(False)
                group.setData(0, KEY_ROLE, None)
                group.setData(1, KEY_ROLE, rec.video)
                group.setSizeHint(0, QSize(10, 26))
                self.tree.addTopLevelItem(group)
                groups[rec.video] = group
            name = f"frame {rec.frame:06d}" if rec.frame is not None else rec.key.rsplit("/", 1)[-1]
            item = QTreeWidgetItem([name, ""])
            item.setData(0, KEY_ROLE, rec.key)
            item.setToolTip(0, rec.key)
            item.setIcon(0, blank)
            item.setSizeHint(0, self._row_size())
            groups[rec.video].addChild(item)
            self._items[rec.key] = item
            self._meta[rec.key] = (statuses.get(rec.key, "unlabelled"), rec.split)
            self._paint_status(rec.key)
        for group in groups.values():
            group.setExpanded(True)
        self.apply_filters()

    def keys(self) -> list[str]:
        return list(self._items)

    def set_model_made(self, shares: dict[str, float]) -> None:
        """Mark the frames with unreviewed model-made pixels ({key: share of the frame})."""
        old = set(self._model_made)
        self._model_made = {k: float(v) for k, v in shares.items() if v > 0 and k in self._items}
        for key in old | set(self._model_made):
            if key in self._items:
                self._paint_status(key)
        self.apply_filters()

    def model_made_keys(self) -> list[str]:
        return [k for k in self._items if k in self._model_made]

    def set_to_label(self, keys: Iterable[str]) -> None:
        """Frames that have no label yet: listed as "to label" (normal, not a problem)."""
        self._to_label = {k for k in keys if k in self._items}
        for key in self._items:
            self._paint_status(key)
        self.apply_filters()

    def to_label_keys(self) -> list[str]:
        return [k for k in self._items if k in self._to_label]

    def visible_keys(self) -> list[str]:
        return [k for k, it in self._items.items() if not it.isHidden()]

    def set_status(self, key: str, status: str) -> None:
        if key in self._meta:
            self._meta[key] = (status, self._meta[key][1])
            self._paint_status(key)
            self.apply_filters()

    def status_of(self, key: str) -> str:
        return self._meta[key][0]

    def set_current(self, key: Optional[str]) -> None:
        """Select the frame the canvas shows (no selection when it shows none)."""
        self._current = key
        item = self._items.get(key) if key else None
        self.tree.blockSignals(True)
        if item is not None:
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)
        else:
            self.tree.clearSelection()
            self.tree.setCurrentItem(None)
        self.tree.blockSignals(False)

    def current_key(self) -> Optional[str]:
        """The key of the selected row (None when a video row or nothing is selected)."""
        item = self.tree.currentItem()
        return item.data(0, KEY_ROLE) if item is not None else None

    def mark_unreadable(self, key: str, reason: str) -> None:
        """A frame that could not be opened: red name, the reason as tooltip."""
        item = self._items.get(key)
        if item is not None:
            item.setForeground(0, QColor(UNREADABLE_COLOUR))
            item.setToolTip(0, f"{key}\nCannot be opened: {reason or 'unreadable file'}")
            item.setIcon(1, qta.icon("mdi6.alert-circle-outline", color=UNREADABLE_COLOUR))

    def set_thumbnail(self, key: str, thumb: np.ndarray) -> None:
        item = self._items.get(key)
        if item is None:
            return
        pm = QPixmap(THUMB_W, THUMB_H)
        pm.fill(QColor("#15171b"))
        img = QPixmap.fromImage(rgb_to_qimage(thumb))
        p = QPainter(pm)
        p.drawPixmap((THUMB_W - img.width()) // 2, (THUMB_H - img.height()) // 2, img)
        p.end()
        self._thumbs[key] = pm
        item.setIcon(0, QIcon(pm))

    def has_thumbnail(self, key: str) -> bool:
        return key in self._thumbs

    # -- filters -----------------------------------------------------------------------------------
    def apply_filters(self, *_):
        want_status = self.status_filter.currentData()
        want_split = self.split_filter.currentData()
        shown = 0
        counts = {s: 0 for s in STATUS_STYLE}
        for key, item in self._items.items():
            status, split = self._meta[key]
            counts[status] = counts.get(status, 0) + 1
            ok_status = (not want_status or status == want_status
                         or (want_status == "unfinished" and status in ("unlabelled", "in_progress"))
                         or (want_status == "model_made" and key in self._model_made)
                         or (want_status == "to_label" and key in self._to_label and status == "unlabelled"))
            ok = ok_status and (not want_split or split == want_split)
            item.setHidden(not ok)
            shown += ok
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            kids = [group.child(j) for j in range(group.childCount())]
            group.setHidden(all(k.isHidden() for k in kids))
            done = sum(self._meta[k.data(0, KEY_ROLE)][0] == "done" for k in kids)
            split = self._meta[kids[0].data(0, KEY_ROLE)][1] if kids else ""
            base = group.text(0).split("  ")[0]
            group.setText(0, f"{base}  ·  {split}  ·  {done}/{len(kids)}")
            group.setToolTip(0, f"{done} of {len(kids)} frames done")
        total = len(self._items)
        made = f"  ·  {len(self._model_made)} model-made" if self._model_made else ""
        self.summary.setText(f"{shown} of {total} frames shown  ·  {counts.get('done', 0)} done  ·  "
                             f"{counts.get('flagged', 0)} flagged{made}" if total else "No frames")

    # -- internals ---------------------------------------------------------------------------------
    def _paint_status(self, key: str) -> None:
        status = self._meta[key][0]
        item = self._items[key]
        colour, _icon, text = STATUS_STYLE.get(status, STATUS_STYLE["unlabelled"])
        if status == "unlabelled" and key in self._to_label:
            text = "To label (no label yet)"
        item.setIcon(1, status_icon(status))
        share = self._model_made.get(key)
        if share:
            text += f"; {share:.0%} model-made, not reviewed (Pre-segment: Reviewed)"
        item.setToolTip(1, text)
        item.setText(1, "")
        item.setText(0, item.text(0).split("  ")[0] + (f"  ◆ {share:.0%} model" if share else
                                                        "  · to label" if status == "unlabelled"
                                                        and key in self._to_label else ""))
        item.setForeground(0, QColor(MODEL_MADE_COLOUR) if share else
                           QColor(colour) if status != "unlabelled" else QColor("#d7dae0"))
        font = item.font(0)
        font.setBold(status == "done")
        item.setFont(0, font)
        item.setData(0, Qt.ItemDataRole.AccessibleDescriptionRole, text)

    def _blank_thumbnail(self) -> QIcon:
        pm = QPixmap(THUMB_W, THUMB_H)
        pm.fill(QColor("#22252b"))
        return QIcon(pm)

    def _on_activated(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        key = item.data(0, KEY_ROLE)
        if key and key != self._current:
            self.frameActivated.emit(key)
