"""The curation gallery: review every synthetic pair of the project (issue 7, "In the app").

Wiring (done by the window; this module touches no other desktop file)::

    panel = CurationPanel(window.doc, window.runner, window.settings)
    dock = add_dock(window, "Curation", panel, Qt.DockWidgetArea.BottomDockWidgetArea)
    panel.openPairRequested.connect(window.open_pair)       # int pair id: show the pair in the canvas
    panel.pairStatusChanged.connect(...)                      # (int pair id, str status), optional
    textedit_panel.pairAdded.connect(panel.refresh)           # new pairs from other panels
    # after the canvas saved a repaired pair mask: panel.refresh_pair(pair_id)

It follows `document.projectChanged` by itself (reloads the gallery). Keys while the panel has focus:
A = accept, X = reject the current pair (then the next one is selected), Enter / double-click = open it.
"Augment…" runs `engine.services.augment` as a job (progress + cancel; the same request as `cadis augment`);
"Drop most uncertain" rejects the chosen share of the shown pending pairs with the highest ensemble uncertainty
(enabled only when pairs carry it).
"Near-duplicates" shows only the pairs too close to an earlier pair or to their own source frame
(`engine.curation.find_near_duplicates`). Scores shown are those stored in each pair's provenance.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional

import qtawesome as qta
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDialog, QDoubleSpinBox, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar,
                               QPushButton, QSplitter, QVBoxLayout, QWidget)

from desktop.panels.curation.augment_dialog import AugmentDialog
from desktop.panels.curation.jobs import ThumbSink, load_pair_thumbnails
from desktop.panels.curation.pair_gallery import PairGallery
from desktop.panels.curation.pair_filters import PairFilterBar
from desktop.panels.curation.pair_model import ID_ROLE, PairFilterProxy, PairListModel
from desktop.workers import FINAL_STATES, JobHandle
from engine.curation import find_duplicate_pairs, reject_most_uncertain
from engine.services.augment import AugmentRequest, Generator, augment
from engine.project.pairs import PAIR_RULE

_ICON = "#c8ccd4"


class CurationPanel(QWidget):
    """Gallery of synthetic pairs with filters, sort, accept/reject, open, augment and the uncertainty filter."""

    openPairRequested = Signal(int)
    pairStatusChanged = Signal(int, str)
    pairsChanged = Signal()  # the list of pairs was reloaded (e.g. after an augment run)

    def __init__(self, document, runner, settings, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("curationPanel")
        self.doc, self.runner, self.settings = document, runner, settings
        self.generator_factory: Optional[Callable[[], Generator]] = None  # tests / other front ends inject a generator
        self.augment_job: Optional[JobHandle] = None
        self.duplicates: dict[int, float] = {}
        self._dup_job: Optional[JobHandle] = None
        self.last_message = ""
        self.model = PairListModel(self)
        self.proxy = PairFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self._sink = ThumbSink(self)
        self._sink.ready.connect(self.model.set_thumbnail)
        self.model.dataChanged.connect(self._on_item_changed)
        self._build()
        self.doc.projectChanged.connect(self.refresh)
        self.refresh()

    # -- building ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.filters = PairFilterBar(self.proxy)
        self.filters.changed.connect(self._update_buttons)

        self.gallery = PairGallery()
        self.gallery.setModel(self.proxy)
        self.gallery.openRequested.connect(self.openPairRequested)
        self.gallery.selectionModel().currentChanged.connect(lambda *_: self._show_details())
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.details.setPlaceholderText("Provenance and scores of the selected pair")
        self.split = split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.gallery)
        split.addWidget(self.details)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)

        self.accept_btn = self._button("Accept (A)", "mdi6.check", lambda: self.set_current_status("accepted"))
        self.reject_btn = self._button("Reject (X)", "mdi6.close", lambda: self.set_current_status("rejected"))
        self.open_btn = self._button("Open in canvas", "mdi6.brush", self._open_current)
        self.augment_btn = self._button("Augment…", "mdi6.creation", self.choose_augment)
        self.worth_btn = self._button("What is it worth?", "mdi6.scale-balance", self.show_worth)  # cadis eval-augment
        self.drop_share = QDoubleSpinBox()
        self.drop_share.setRange(1.0, 90.0)
        self.drop_share.setValue(10.0)
        self.drop_share.setSuffix(" %")
        self.drop_btn = self._button("Drop most uncertain", "mdi6.filter-remove-outline", self.drop_uncertain)
        self.dup_btn = QPushButton(qta.icon("mdi6.content-duplicate", color=_ICON), "Near-duplicates")
        self.dup_btn.setCheckable(True)
        self.dup_btn.toggled.connect(self._toggle_duplicates)
        self.dup_btn.setToolTip("show only pairs too close to an earlier pair or to their source frame")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_btn = self._button("Cancel", "mdi6.stop", self.cancel_augment)
        self.cancel_btn.setVisible(False)
        actions = QVBoxLayout()  # short rows: the panel fits the narrow dock column without a sideways scrollbar
        for row_widgets in ((self.accept_btn, self.reject_btn), (self.open_btn, self.dup_btn),
                            (self.augment_btn, self.drop_share), (self.worth_btn,), (self.drop_btn, self.progress, self.cancel_btn)):
            row = QHBoxLayout()
            for w in row_widgets:
                row.addWidget(w)
            row.addStretch(1)
            actions.addLayout(row)
        self.message = QLabel("")
        self.message.setObjectName("hint")
        self.message.setWordWrap(True)
        self.rule = QLabel("Pending pairs are not exported: accept (A) the ones to export.")
        self.rule.setObjectName("hint")
        self.rule.setWordWrap(True)
        self.rule.setToolTip(PAIR_RULE)
        self.accept_btn.setToolTip(PAIR_RULE)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.filters)
        lay.addWidget(split, 1)
        lay.addLayout(actions)
        lay.addWidget(self.rule)
        lay.addWidget(self.message)
        self.key_actions: dict[str, QAction] = {}
        for action_id, status in (("curation.accept", "accepted"), ("curation.reject", "rejected")):
            act = QAction(self)
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _=False, s=status: self.set_current_status(s))
            self.addAction(act)
            self.key_actions[action_id] = act
        self.apply_keymap(self.settings.keymap())

    def apply_keymap(self, keymap: dict[str, str]) -> None:
        """Accept / reject keys from the user's keymap (A and X unless rebound in Preferences)."""
        for action_id, act in self.key_actions.items():
            act.setShortcut(QKeySequence(keymap.get(action_id, "")))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Details beside the gallery in a wide dock, below it in a narrow one."""
        super().resizeEvent(event)
        wide = event.size().width() >= 760
        self.split.setOrientation(Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical)

    def _button(self, text: str, icon: str, slot) -> QPushButton:
        b = QPushButton(qta.icon(icon, color=_ICON), text)
        b.clicked.connect(slot)
        return b

    # -- loading -----------------------------------------------------------------------------------
    @property
    def project(self):
        return self.doc.project

    def refresh(self) -> None:
        """Reload the pairs of the open project; thumbnails of new or changed pairs load in the background."""
        records = self.project.pairs() if self.project is not None else []
        keep = self.gallery.current_id()
        self.model.set_records(records)
        self.filters.set_sources(self.model.sources())
        if keep is not None:
            self.select_pair(keep)
        missing = [it.id for it in self.model.items() if it.thumb is None]
        if missing and self.project is not None:
            project = self.project
            self.runner.submit("Pair thumbnails", lambda ctx: load_pair_thumbnails(ctx, project, missing, self._sink),
                               group="curation-thumbs")
        if self.dup_btn.isChecked():
            self._dup_job = self._run_duplicates()  # new pairs are compared too
        self._update_buttons()
        self.pairsChanged.emit()

    def reset_for_project(self, project) -> None:
        """Another project is open (or none): its pairs are loaded by `refresh`; details and messages go."""
        self.duplicates = {}
        self.details.clear()
        self.message.setText("")

    def refresh_pair(self, pair_id: int) -> None:
        """Reload one pair's thumbnail and classes (after its mask was repaired)."""
        if self.project is None:
            return
        project = self.project
        self.runner.submit(f"Thumbnail of pair {pair_id}",
                           lambda ctx: load_pair_thumbnails(ctx, project, [pair_id], self._sink))

    # -- filters -----------------------------------------------------------------------------------
    def set_filters(self, source: str = "", status: str = "", class_id: Optional[int] = None,
                    min_consistency: float = 0.0) -> None:
        """Set the filters (for scripts and tests); "" / None / 0 switch a filter off."""
        self.filters.set_filters(source, status, class_id, min_consistency)

    def set_sort(self, key: str, reverse: bool = False) -> None:
        self.filters.set_sort(key, reverse)

    # -- review ------------------------------------------------------------------------------------
    def select_pair(self, pair_id: int) -> bool:
        """Make `pair_id` the current pair if it is shown; False otherwise."""
        for r in range(self.proxy.rowCount()):
            idx = self.proxy.index(r, 0)
            if self.proxy.data(idx, ID_ROLE) == pair_id:
                self.gallery.setCurrentIndex(idx)
                return True
        return False

    def set_current_status(self, status: str) -> None:
        """Accept / reject the selected pair, then select the next one (for one-key review)."""
        pid = self.gallery.current_id()
        if pid is None or self.project is None:
            return
        row = self.gallery.currentIndex().row()
        try:
            self.project.set_pair_status(pid, status)
        except Exception as exc:  # noqa: BLE001
            self._say(f"Could not mark pair {pid} {status}: {exc}")
            return
        self.model.set_status(pid, status)
        self.pairStatusChanged.emit(pid, status)
        same = self.proxy.index(row, 0)
        if same.isValid() and same.data(ID_ROLE) == pid:
            row += 1  # still shown (no status filter): move on
        row = min(row, self.proxy.rowCount() - 1)
        if row >= 0:
            self.gallery.setCurrentIndex(self.proxy.index(row, 0))
        self._show_details()

    def _open_current(self) -> None:
        pid = self.gallery.current_id()
        if pid is not None:
            self.openPairRequested.emit(pid)

    def _on_item_changed(self, top, _bottom, _roles=()) -> None:
        current = self.gallery.current_id()
        if current is not None and top.data(ID_ROLE) == current:
            self._show_details()

    def _show_details(self) -> None:
        pid = self.gallery.current_id()
        item = self.model.item(pid) if pid is not None else None
        if item is None:
            self.details.clear()
            return
        dist = self.duplicates.get(item.id)
        extra = f"\nnear-duplicate: distance {dist:.3f}" if dist is not None else ""
        self.details.setPlainText(item.details() + extra)

    # -- uncertainty filter ------------------------------------------------------------------------
    def drop_uncertain(self) -> list[int]:
        """Reject the chosen share of the shown pending pairs with the highest uncertainty."""
        if self.project is None:
            return []
        shown = set(self.proxy.visible_ids())
        unc = {it.id: it.scores["uncertainty"] for it in self.model.items()
               if it.id in shown and it.status == "pending" and it.scores["uncertainty"] is not None}
        if not unc:
            self._say("No shown pending pair has an uncertainty score (they come from a pre-segmentation head).")
            return []
        rejected = reject_most_uncertain(self.project, unc, self.drop_share.value() / 100.0)
        for pid in rejected:
            self.model.set_status(pid, "rejected")
            self.pairStatusChanged.emit(pid, "rejected")
        self._say(f"Rejected {len(rejected)} of {len(unc)} pending pairs as the most uncertain.")
        return rejected

    # -- near-duplicates ---------------------------------------------------------------------------
    def _toggle_duplicates(self, on: bool) -> None:
        if on:
            self._dup_job = self._run_duplicates()
            return
        self.duplicates = {}
        self.proxy.set_only_ids(None)
        self._say("")
        self._update_buttons()

    def find_duplicates(self) -> Optional[JobHandle]:
        """Look for near-duplicates among all pairs (a job), then show only those (ticks the button)."""
        if self.dup_btn.isChecked():
            self._dup_job = self._run_duplicates()
        else:
            self.dup_btn.setChecked(True)  # runs the search through _toggle_duplicates
        return self._dup_job

    def _run_duplicates(self) -> Optional[JobHandle]:
        if self.project is None:
            return None
        project, ids = self.project, [it.id for it in self.model.items()]
        self._say("Comparing pairs with each other and with their source frames…")
        return self.runner.submit("Near-duplicates", lambda ctx: find_duplicate_pairs(project, ids, ctx=ctx),
                                  group="curation-duplicates", on_result=self._show_duplicates,
                                  on_error=lambda m: self._say(f"Near-duplicate search failed: {m}"))

    def _show_duplicates(self, found: dict) -> None:
        self.duplicates = dict(found)
        if not self.dup_btn.isChecked():
            return
        self.proxy.set_only_ids(found.keys())
        self._say(f"{len(found)} of {len(self.model.items())} pairs are near-duplicates of an earlier pair or of "
                  "their source frame: review them (X rejects). Untick 'Near-duplicates' to see all pairs.")
        self._update_buttons()

    def show_worth(self):
        """*What is it worth?*: the dialog of desktop.panels.curation.worth (returns it; None without a project)."""
        from desktop.panels.curation.worth import WorthDialog
        if self.project is None:
            return None
        dialog = WorthDialog(self.project, self.runner, self)
        dialog.show()
        return dialog

    # -- augment -----------------------------------------------------------------------------------
    def _model_dir(self) -> str:
        return self.settings.model_dir

    def choose_augment(self) -> None:
        """Ask for the augment settings, then run the job."""
        if self.project is None:
            return
        model_dir = self._model_dir()
        if self.generator_factory is None and not (model_dir and Path(model_dir).is_dir()):
            self._say("No synthesis model" + (f" at {model_dir}" if model_dir else "") + ": pick a model folder "
                      "in File > Preferences… > Models and device, or train one first.")
            return
        from engine.services.preseg import find_head_dir
        head = find_head_dir(self.settings.preseg_dir, self.project and self.project.root, model_dir)
        dialog = AugmentDialog(len(self.project.keys_with_status("done")), self.doc.key, bool(head),
                               Path(model_dir).name if model_dir else "injected generator", self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.start_augment(dialog.request())

    def start_augment(self, request: AugmentRequest) -> Optional[JobHandle]:
        """Run the augment service with `request` (model, head and device are filled from the settings)."""
        if self.project is None:
            return None
        model_dir = request.model_dir or self._model_dir()
        head_dir = request.head_dir
        if not head_dir:
            from engine.services.preseg import find_head_dir
            head_dir = find_head_dir(self.settings.preseg_dir, self.project and self.project.root, model_dir) or ""
        request = replace(request, model_dir=model_dir, head_dir=str(head_dir), device=self.settings.device)
        project, factory = self.project, self.generator_factory
        handle = self.runner.submit("Augment", lambda ctx: augment(ctx, project, request, factory),
                                    group="curation-augment", on_result=self._augment_done,
                                    on_error=lambda msg: self._say(f"Augment failed: {msg}"))
        self.augment_job = handle
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_btn.setVisible(True)
        self.augment_btn.setEnabled(False)
        handle.progressChanged.connect(self._augment_progress)
        handle.finished.connect(self._augment_finished)
        return handle

    def cancel_augment(self) -> None:
        if self.augment_job is not None and self.augment_job.state not in FINAL_STATES:
            self.augment_job.cancel()

    def _augment_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(round(100 * fraction)))
        self.progress.setFormat(f"%p%  {message}"[:60])

    def _augment_done(self, result) -> None:
        res, rejected = result
        extra = f"; {len(rejected)} rejected as most uncertain" if rejected else ""
        self._say(f"Augment: {res.summary()}{extra}.")

    def _augment_finished(self, state: str) -> None:
        self.progress.setVisible(False)
        self.cancel_btn.setVisible(False)
        self.augment_btn.setEnabled(True)
        if state == "cancelled":
            self._say("Augment cancelled; the pairs stored so far are kept and a new run with the same seed "
                      "resumes where it stopped.")
        self.refresh()

    # -- helpers -----------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        has = self.proxy.rowCount() > 0
        for b in (self.accept_btn, self.reject_btn, self.open_btn):
            b.setEnabled(has)
        self.augment_btn.setEnabled(self.project is not None and (self.augment_job is None
                                                                  or self.augment_job.is_finished()))
        scored = self.model.has_uncertainty()
        self.drop_btn.setEnabled(scored)
        self.drop_share.setEnabled(scored)
        self.drop_btn.setToolTip("" if scored else "needs pairs scored by a pre-segmentation head")
        if self.proxy.rowCount() and not self.gallery.currentIndex().isValid():
            self.gallery.setCurrentIndex(self.proxy.index(0, 0))

    def _say(self, text: str) -> None:
        self.last_message = text
        self.message.setText(text)
