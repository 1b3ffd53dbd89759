"""The mouse wheel scrolls panels; it changes a slider, spin box or drop-down only when that has the focus.

A panel taller than the window scrolls; without this guard every slider or spin box that passes under the
pointer on the way takes the wheel instead (the Pre-segment dock's confidence slider moved while the user
scrolled). Installed once on the application (`install_wheel_guard`): such widgets no longer take the focus
from the wheel (StrongFocus: click or Tab), and an unfocused one hands the wheel to the scroll area around it.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QScrollBar, QWidget

GUARDED = (QAbstractSlider, QAbstractSpinBox, QComboBox)


def _guarded(obj) -> Optional[QWidget]:
    """The slider / spin box / drop-down `obj` is or belongs to (a spin box's line edit), else None."""
    for w in (obj, obj.parent() if isinstance(obj, QWidget) else None):
        if isinstance(w, GUARDED) and not isinstance(w, QScrollBar):
            return w
    return None


class WheelGuard(QObject):
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind == QEvent.Type.Polish:
            w = _guarded(obj)
            if w is not None and w.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        elif kind == QEvent.Type.Wheel:
            w = _guarded(obj)
            if w is not None and not w.hasFocus() and not (w.focusProxy() and w.focusProxy().hasFocus()):
                area = w.parentWidget()
                while area is not None and not isinstance(area, QAbstractScrollArea):
                    area = area.parentWidget()
                if area is not None:
                    bar = area.horizontalScrollBar() if abs(event.angleDelta().x()) > abs(event.angleDelta().y()) \
                        else area.verticalScrollBar()
                    QApplication.sendEvent(bar, event)
                return True
        return False


def install_wheel_guard(app: QApplication) -> WheelGuard:
    """Install the guard on `app` (once); returns it (remove with app.removeEventFilter)."""
    guard = getattr(app, "_cadis_wheel_guard", None)
    if guard is None:
        guard = WheelGuard(app)
        app.installEventFilter(guard)
        app._cadis_wheel_guard = guard
    return guard
