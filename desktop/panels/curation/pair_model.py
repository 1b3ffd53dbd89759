"""Qt item models over a project's synthetic pairs: one list item per pair, a proxy that filters and sorts.

`PairListModel` holds one `PairItem` per pair (the stored `PairRecord`, its scores read from the
provenance, the classes its mask shows and an image|mask thumbnail once the loader delivered them).
`PairFilterProxy` filters by source, status, class present and minimum label consistency, and sorts by
id, consistency, uncertainty, near-duplicate distance, source or status (pairs without the score last).
No file is read here: thumbnails and classes arrive through `PairListModel.set_thumbnail`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, Optional

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QPixmap

from desktop.qt_image import rgb_to_qimage
from engine.project import PairRecord
from engine.taxonomy import CLASS_NAMES

PAIR_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
SORT_KEYS = (("id", "Newest first"), ("consistency", "Label consistency"), ("uncertainty", "Uncertainty"),
             ("duplicate", "Distance to nearest frame"), ("source", "Source"), ("status", "Status"))
_DEFAULT_DESCENDING = {"id": True, "consistency": False, "uncertainty": True, "duplicate": False,
                       "source": False, "status": False}
_STATUS_ORDER = {"pending": 0, "accepted": 1, "rejected": 2}


def _finite(value: Any) -> Optional[float]:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def pair_scores(provenance: dict) -> dict[str, Optional[float]]:
    """The scores a pair carries in its provenance, whoever stored it.

    `consistency`: label consistency (augment's "consistency", a text edit's "label_miou");
    `uncertainty`: the pre-segmentation ensemble's frame score; `duplicate`: thumbnail distance to the
    nearest of its source frame and earlier samples; `psnr` / `ssim` of text edits."""
    prov = provenance or {}
    scores = prov.get("scores") if isinstance(prov.get("scores"), dict) else {}

    def first(*names: str) -> Optional[float]:
        for src in (scores, prov):
            for n in names:
                v = _finite(src.get(n))
                if v is not None:
                    return v
        return None

    return {"consistency": first("consistency", "label_miou"), "uncertainty": first("uncertainty"),
            "duplicate": first("duplicate_distance"), "psnr": first("psnr"), "ssim": first("ssim")}


@dataclass
class PairItem:
    """One pair as the gallery shows it."""

    record: PairRecord
    scores: dict
    classes: Optional[frozenset] = None   # class IDs in the mask, None until the loader read it
    thumb: Optional[QPixmap] = None

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def kind(self) -> str:
        """What made the pair, in the words the Synthesize dock uses: a repaint is a repaint."""
        return "repaint" if self.record.provenance.get("repaint") else self.record.source

    def caption(self) -> str:
        """Three short lines under the thumbnail: id and source, parent frame, scores."""
        parent = self.record.parent_key.rsplit("/", 1)[-1].rsplit(".", 1)[0] if self.record.parent_key else "-"
        s = self.scores
        parts = []
        if s["consistency"] is not None:
            parts.append(f"cons {s['consistency']:.2f}")
        if s["uncertainty"] is not None:
            parts.append(f"unc {s['uncertainty']:.3f}")
        if s["psnr"] is not None:
            parts.append(f"{s['psnr']:.1f} dB")
        flag = "⚠ " if self.record.provenance.get("warning") else ""
        return f"{flag}#{self.id} {self.kind}\nfrom {parent}\n" + (" · ".join(parts) or "not scored yet")


    def details(self) -> str:
        """Everything known about the pair, for the details pane: identity, classes, provenance."""
        rec = self.record
        classes = ", ".join(f"{c} {CLASS_NAMES[c]}" for c in sorted(self.classes or ()) if c < len(CLASS_NAMES))
        warning = f"⚠ {rec.provenance['warning']}\n\n" if rec.provenance.get("warning") else ""
        return (f"{warning}pair {rec.id} · {self.kind} · {rec.status}\nparent: {rec.parent_key or '-'}\n"
                f"size: {rec.width}x{rec.height}\nclasses: {classes or '…'}\n\nHow it was made\n"
                + "\n".join(readable_lines(rec.provenance)))


def readable_lines(value, indent: str = "  ") -> list[str]:
    """Provenance as "name: value" lines (nested entries indented, long lists shortened), not raw JSON."""
    lines: list[str] = []
    if isinstance(value, dict):
        for k in sorted(value):
            v = value[k]
            name = str(k).replace("_", " ")
            if isinstance(v, dict):
                lines.append(f"{indent}{name}:")
                lines += readable_lines(v, indent + "  ")
            elif isinstance(v, (list, tuple)):
                shown = ", ".join(json.dumps(x) if isinstance(x, (dict, list)) else str(x) for x in v[:8])
                lines.append(f"{indent}{name}: {shown}{', …' if len(v) > 8 else ''}")
            elif isinstance(v, float):
                lines.append(f"{indent}{name}: {v:.4g}")
            elif isinstance(v, str) and len(v) > 64 and " " not in v:  # an encoded mask or digest: not for reading
                lines.append(f"{indent}{name}: (stored data, {len(v):,} characters)")
            else:
                lines.append(f"{indent}{name}: {v}")
    else:
        lines.append(f"{indent}{value}")
    return lines


class PairListModel(QAbstractListModel):
    """All synthetic pairs of a project, in id order."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._items: list[PairItem] = []
        self._row: dict[int, int] = {}

    # -- filling ----------------------------------------------------------------------------------
    def set_records(self, records: Iterable[PairRecord]) -> None:
        """Replace every item (thumbnails of pairs that are still there are kept)."""
        old = {it.id: it for it in self._items}
        self.beginResetModel()
        self._items = []
        for rec in records:
            prev = old.get(rec.id)
            keep = prev is not None and prev.record.label_path == rec.label_path
            self._items.append(PairItem(rec, pair_scores(rec.provenance), prev.classes if keep else None,
                                        prev.thumb if keep else None))
        self._row = {it.id: n for n, it in enumerate(self._items)}
        self.endResetModel()

    def set_thumbnail(self, pair_id: int, thumb: np.ndarray, classes: Iterable[int]) -> None:
        """Store a pair's image|mask thumbnail (HxWx3 RGB) and the classes its mask shows."""
        row = self._row.get(pair_id)
        if row is None:
            return
        item = self._items[row]
        item.thumb = QPixmap.fromImage(rgb_to_qimage(thumb))
        item.classes = frozenset(int(c) for c in classes)
        idx = self.index(row)
        self.dataChanged.emit(idx, idx)

    def set_status(self, pair_id: int, status: str) -> None:
        """Show a status change already written to the project."""
        row = self._row.get(pair_id)
        if row is None:
            return
        from dataclasses import replace

        item = self._items[row]
        item.record = replace(item.record, status=status)
        idx = self.index(row)
        self.dataChanged.emit(idx, idx)

    # -- reading ----------------------------------------------------------------------------------
    def items(self) -> list[PairItem]:
        return list(self._items)

    def item(self, pair_id: int) -> Optional[PairItem]:
        row = self._row.get(pair_id)
        return None if row is None else self._items[row]

    def sources(self) -> list[str]:
        return sorted({it.record.source for it in self._items})

    def has_uncertainty(self) -> bool:
        return any(it.scores["uncertainty"] is not None for it in self._items)

    # -- Qt model API -----------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return item.caption()
        if role == Qt.ItemDataRole.DecorationRole:
            return item.thumb
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"pair {item.id} ({item.status}) from {item.record.parent_key or 'no frame'}"
        if role == PAIR_ROLE:
            return item
        if role == ID_ROLE:
            return item.id
        return None


class PairFilterProxy(QSortFilterProxyModel):
    """Filters (source, status, class present, minimum consistency) and the chosen sort key."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._source: str = ""
        self._status: str = ""
        self._class: Optional[int] = None
        self._min_consistency: Optional[float] = None
        self._key = "id"
        self._only: Optional[frozenset] = None
        self.setDynamicSortFilter(True)

    def set_filters(self, source: str = "", status: str = "", class_id: Optional[int] = None,
                    min_consistency: Optional[float] = None) -> None:
        """Empty strings / None switch a filter off."""
        self.beginFilterChange()
        self._source, self._status, self._class, self._min_consistency = source, status, class_id, min_consistency
        self.endFilterChange()

    def set_only_ids(self, ids: Optional[Iterable[int]]) -> None:
        """Show only these pairs (e.g. the near-duplicates found); None shows every pair again."""
        self.beginFilterChange()
        self._only = None if ids is None else frozenset(int(i) for i in ids)
        self.endFilterChange()

    def set_sort_key(self, key: str, descending: Optional[bool] = None) -> None:
        if key not in _DEFAULT_DESCENDING:
            raise ValueError(f"unknown sort key {key!r}: use one of {', '.join(_DEFAULT_DESCENDING)}")
        self._key = key
        desc = _DEFAULT_DESCENDING[key] if descending is None else descending
        self.invalidate()
        self.sort(0, Qt.SortOrder.DescendingOrder if desc else Qt.SortOrder.AscendingOrder)

    @property
    def sort_key(self) -> str:
        return self._key

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        item: PairItem = self.sourceModel().index(row, 0, parent).data(PAIR_ROLE)
        if item is None:
            return False
        if self._only is not None and item.id not in self._only:
            return False
        if self._source and item.record.source != self._source:
            return False
        if self._status and item.status != self._status:
            return False
        if self._class is not None and item.classes is not None and self._class not in item.classes:
            return False  # a pair whose mask was not read yet stays visible until it is
        if self._min_consistency is not None:
            c = item.scores["consistency"]
            if c is None or c < self._min_consistency:
                return False
        return True

    def lessThan(self, left: QModelIndex | QPersistentModelIndex, right: QModelIndex | QPersistentModelIndex) -> bool:
        a, b = left.data(PAIR_ROLE), right.data(PAIR_ROLE)
        ka, kb = self._sort_value(a), self._sort_value(b)
        if ka is None or kb is None:  # missing scores go last whatever the order
            desc = self.sortOrder() == Qt.SortOrder.DescendingOrder
            if ka is None and kb is None:
                return a.id < b.id
            return (ka is None) if desc else (kb is None)
        if ka == kb:
            return a.id < b.id
        return ka < kb

    def _sort_value(self, item: PairItem):
        if self._key == "id":
            return item.id
        if self._key == "source":
            return item.record.source
        if self._key == "status":
            return _STATUS_ORDER.get(item.status, 9)
        return item.scores[self._key]

    def visible_ids(self) -> list[int]:
        """Pair ids in the order shown."""
        return [self.index(r, 0).data(ID_ROLE) for r in range(self.rowCount())]
