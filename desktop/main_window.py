"""The main window, assembled in one place: the canvas, the docks, the actions, the model panels and the
document, and the connections between them. No data logic: edits, saving and recovery are the engine's edit
session (`engine.session`, seen through `desktop.document`), background work runs in `desktop.workers`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from typing import Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow

from desktop.canvas.view import CanvasView
from desktop import dialogs
from desktop.dialogs import ProblemsDialog, ask_open_anyway, ask_rebuild, ask_recovery, confirm_done_with_unlabelled
from desktop.docks.class_palette import ClassPalette
from desktop.docks.class_search import ClassSearchPopup
from desktop.docks.frame_browser import STATUS_STYLE, FrameBrowser, load_thumbnails
from desktop.docks.jobs_panel import JobsPanel
from desktop.docks.tool_options import ToolOptions
from desktop.document import Document
from desktop.panels.model_panels import ModelPanels
from desktop.panels.team import TeamMenu
from desktop.settings import Settings
from desktop.video_import import new_dataset_from_video
from desktop.shortcuts import TOOL_SPECS, class_key_hints
from desktop.window_chrome import (add_dock, add_dock_toggles, build_actions, build_menus,
                                   build_status_fields, build_toolbar, scroll_area)
from desktop.window_layout import CanvasOnly, arrange_docks, follow_tall_docks
from desktop.window_reactions import WindowReactionsMixin
from desktop.window_segment import attach_segment, find_by_name
from desktop.window_view import WindowViewMixin
from desktop.workers import JobRunner
from engine import edits
from engine.taxonomy import IGNORE, NUM_CLASSES

_MODES = {"all": "everywhere", "unlabelled": "over_unlabelled", "only": "over_class"}
_OVERLAY_CYCLE = {"fill": "contour", "contour": "hidden", "hidden": "fill"}


class MainWindow(WindowViewMixin, WindowReactionsMixin, QMainWindow):
    """CaDIS Studio's window. `open_source(path)` opens a dataset, frame folder or project."""

    def __init__(self, settings: Settings, runner: Optional[JobRunner] = None):
        super().__init__()
        self.settings = settings
        self.runner = runner or JobRunner(parent=self)
        self.doc = Document(autosave_ms=settings.autosave_ms, parent=self)
        self.problems_dialog: Optional[ProblemsDialog] = None
        self.last_error = ""
        self.canvas = CanvasView(self)
        self.setCentralWidget(self.canvas)
        self.frames, self.palette = FrameBrowser(), ClassPalette()
        self.tool_options, self.jobs_panel = ToolOptions(), JobsPanel(self.runner)
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.docks = {
            "classes": add_dock(self, "Classes", self.palette, right),
            "tools": add_dock(self, "Tool options", scroll_area(self.tool_options), right),
            "frames": add_dock(self, "Frames", self.frames, right),
            "jobs": add_dock(self, "Jobs", self.jobs_panel, right),
        }
        self._laid_out = False
        self.canvas_only = CanvasOnly(self, self.docks)
        self.class_search = ClassSearchPopup(self.palette.colour_of, self)
        self.class_search.chosen.connect(self.palette.set_current_class)
        self._pending_digit: Optional[tuple[int, float]] = None
        self.confirm_unlabelled = confirm_done_with_unlabelled  # (window, pixels, share) -> bool; tests replace it
        self.ask_open_anyway = ask_open_anyway  # (window, FolderCheck) -> bool; tests replace it
        self.actions = self._build_actions()
        self.apply_keymap(settings.keymap())
        self.recent_menu, self.menus = build_menus(self)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.status_badge, self.note_edit = build_toolbar(self)
        self.note_edit.editingFinished.connect(lambda: self.doc.set_note(self.note_edit.text()))
        self.pos_label, self.class_label, self.brush_label, self.zoom_label, self.saved_label = \
            build_status_fields(self.statusBar())
        self.segment_assist = attach_segment(self)
        self._connect()
        # model docks + the Models menu (they follow the session's labelChanged, sent once a change is recorded)
        self.model_panels = ModelPanels(self, self.doc, self.runner, self.settings, self.canvas)
        self.model_panels.preferencesRequested.connect(self.preferences)
        self.model_panels.frameRequested.connect(self.show_frame)
        self.model_panels.preseg.modelMadeChanged.connect(self.refresh_model_made)
        self.doc.saved.connect(self.refresh_model_made)
        self.model_panels.jobsRequested.connect(lambda: (self.docks["jobs"].show(), self.docks["jobs"].raise_()))
        self.docks.update(self.model_panels.docks)
        self.team = TeamMenu(self, self.doc, self.runner, self.canvas, self.model_panels.docks["synthesis"])
        self.team.openRequested.connect(self.open_source), self.team.frameRequested.connect(self.show_frame)
        add_dock_toggles(self.menus["&View"], self.docks)
        self.menuBar().addMenu(self.menus["&Help"])
        self.doc.projectChanged.connect(self._reset_docks)
        arrange_docks(self, self.docks), follow_tall_docks(self, self.docks)
        self.canvas.set_palette(self.palette.palette_name())
        self.canvas.set_brush_radius(self.tool_options.brush_radius())
        self.canvas.set_opacity(self.tool_options.opacity.value() / 100)
        self.refresh_title()

    # -- building ----------------------------------------------------------------------------------
    def _build_actions(self) -> dict[str, QAction]:
        handlers = {
            **{t.action_id: (lambda _=False, t=t.name: self.set_tool(t)) for t in TOOL_SPECS},
            "brush.smaller": lambda: self._step_brush(-1), "brush.larger": lambda: self._step_brush(1),
            "edit.undo": self.doc.undo, "edit.redo": self.doc.redo, "edit.redo_alt": self.doc.redo,
            "status.done": lambda: self.set_status("done"), "status.flagged": lambda: self.set_status("flagged"),
            "status.rejected": lambda: self.set_status("rejected"),
            "nav.next_unfinished": self.next_unfinished, "nav.prev": lambda: self._step_frame(-1),
            "nav.next": lambda: self._step_frame(1), "file.save": self.doc.save,
            "view.fit": self.canvas.fit, "view.actual": self.canvas.actual_size,
            "view.canvas_only": lambda: self.set_canvas_only(not self.canvas_only.active),
            "view.reset_layout": self.reset_layout, "class.search": self.choose_class,
            "help.shortcuts": self.show_shortcuts, "segment.find": lambda: find_by_name(self),
            **{f"class.{d}": (lambda _=False, d=d: self.class_digit(d)) for d in range(10)},
            "view.toggle_overlay": lambda: self.tool_options.set_overlay_mode(
                _OVERLAY_CYCLE[self.tool_options.overlay_mode()]),
        }
        extra = {"file.open": ("Open dataset or frame folder…", "mdi6.folder-open-outline", self.choose_source),
                 "file.open_project": ("Open project…", "mdi6.folder-cog-outline", self.choose_project),
                 "file.import_video": ("New dataset from video…", "mdi6.movie-open-outline",
                                       lambda: new_dataset_from_video(self)),
                 "file.phantom": ("Open phantom sample", "mdi6.eye-circle-outline", self.open_phantom),
                 "file.export": ("Export…", "mdi6.export", self.export),
                 "file.preferences": ("Preferences…", "mdi6.cog-outline", self.preferences),
                 "file.quit": ("Quit", "mdi6.exit-to-app", self.close),
                 "help.about": ("About CaDIS Studio", "mdi6.information-outline", self.show_about)}
        return build_actions(self, handlers, self.palette.set_current_class, extra)

    def apply_keymap(self, keymap: dict[str, str]) -> None:
        """Bind each action to its key (from the settings / the preferences dialog)."""
        for action_id, key in keymap.items():
            if action_id in self.actions:
                self.actions[action_id].setShortcut(QKeySequence(key))
        self.palette.set_key_hints(class_key_hints(keymap, NUM_CLASSES))
        self.tool_options.show_keys(keymap)
        if getattr(self, "model_panels", None) is not None:  # built later; the panels read the keymap themselves
            self.model_panels.extra["curation"].apply_keymap(keymap)

    def _connect(self) -> None:
        c, d, p, t, f = self.canvas, self.doc, self.palette, self.tool_options, self.frames
        c.strokeFinished.connect(self._on_stroke)
        c.cursorMoved.connect(self._on_cursor)
        c.classPicked.connect(p.set_current_class)
        c.brushRadiusChanged.connect(self._on_radius)
        p.currentClassChanged.connect(c.set_current_class)
        p.hiddenChanged.connect(c.set_hidden_classes)
        p.lockedChanged.connect(self._update_policy)
        p.classSetChanged.connect(c.set_class_set)
        p.paletteChanged.connect(c.set_palette)
        c.zoomChanged.connect(lambda scale: self.zoom_label.setText(f"{scale * 100:.0f}%"))
        t.toolChanged.connect(c.set_tool)
        t.set_brush_radius(self.settings.brush_radius)  # the size of the last run, kept on every change
        t.brushRadiusChanged.connect(lambda r: (c.set_brush_radius(r), setattr(self.settings, "brush_radius", r)))
        t.paintModeChanged.connect(self._update_policy)
        t.overlayModeChanged.connect(c.set_overlay_mode)
        t.opacityChanged.connect(c.set_opacity)
        t.repairRequested.connect(self.repair)
        f.frameActivated.connect(self.show_frame)
        f.nextUnfinishedRequested.connect(self.next_unfinished)
        d.frameChanged.connect(self._on_frame)
        d.labelEdited.connect(self._on_label_edited)
        d.dirtyChanged.connect(lambda _d: self.refresh_title())
        d.sketchChanged.connect(lambda _on: self.refresh_title())
        d.statusChanged.connect(self._on_status)
        d.saved.connect(self._on_saved)
        d.undoStateChanged.connect(self._on_undo_state)
        d.errorOccurred.connect(self.show_error)

    # -- opening -----------------------------------------------------------------------------------
    def open_source(self, source, project_dir=None, recovery: Optional[str] = None) -> bool:
        """Open a dataset / frame folder / project. `recovery`: "ask" (default from the settings),
        "recover", "discard" or "skip" (leave the journal for later, e.g. for --screenshot).
        A folder that does not look like a dataset is opened only when the user says so."""
        from engine.project import Project
        from engine.project.folder_guard import check_folder
        from engine.project.lock import ProjectLockedError, describe_holder
        from engine.project.errors import ProjectDamagedError

        check = check_folder(source, project_dir)
        # a folder without images fails to open with its own message; any other doubt is a question
        if not check.looks_like_dataset and (check.images or check.kind == "cadis") \
                and not self.ask_open_anyway(self, check):
            self.statusBar().showMessage(f"Did not open {source}: it does not look like a dataset", 15000)
            return False
        if not self.model_panels.synthesis.confirm_leave_sketch() or not self.doc.close_project():
            return False
        try:
            try:
                project = Project.open_or_create(source, project_dir, app="cadis-studio")
            except ProjectLockedError as exc:  # another app or command writes it: offer to look read-only
                if not dialogs.ask_read_only(self, describe_holder(exc.holder)):
                    return False
                project = Project.open_or_create(source, project_dir, read_only=True)
        except ProjectDamagedError as exc:  # say what happened (the file is kept) and offer the rebuild
            return self._offer_rebuild(exc, source, project_dir, recovery)
        except Exception as exc:  # noqa: BLE001 - a broken dataset is a message, never a crash
            self.show_problems(f"Cannot open {source}", f"{exc}", [])
            return False
        self.doc.open_project(project)
        self.settings.add_recent(project.root)
        listed = set(project.frame_keys())  # a work package lists only its frames
        self.frames.set_frames([r for r in project.dataset.frames if r.key in listed], project.statuses())
        self.refresh_model_made()
        if project.journal_damage:  # strokes cut off with a damaged journal tail: say how many
            self.show_problems("Edit journal repaired", project.journal_damage, [])
        recovered = self._offer_recovery(recovery or self.settings.recovery_policy)
        keys = project.frame_keys()
        last = self.settings.last_frame(project.root)
        first = project.next_unfinished()
        # the recovered frame first, else where the user left off, else the next unfinished one
        order = recovered + [k for k in (last, first) if k in project.statuses()] + keys[:50]
        for key in dict.fromkeys(order):  # skip frames that cannot be read
            if self.show_frame(key):
                break
        self._start_background_checks(project)
        self.refresh_title()
        note = f", recovered unsaved strokes on {len(recovered)} frame(s)" if recovered else ""
        self.statusBar().showMessage(f"Opened {project.name}: {len(project.frame_keys())} frames "
                                     f"(project {project.root.name}){note}", 15000)
        return True

    def _offer_rebuild(self, exc, source, project_dir, recovery) -> bool:
        from engine.project.rebuild import rebuild_database

        self.show_error(str(exc))
        if not ask_rebuild(self, str(exc)):
            self.show_problems("Project database damaged", str(exc), [])
            return False
        try:
            result = rebuild_database(exc.project_dir)
        except Exception as err:  # noqa: BLE001 - e.g. the dataset moved: a message, never a crash
            self.show_problems("Cannot rebuild the project database", f"{err}", [])
            return False
        opened = self.open_source(source, project_dir, recovery)
        if opened:
            self.statusBar().showMessage(f"Project database rebuilt: {result.summary()}", 15000)
        return opened

    def _offer_recovery(self, policy: str) -> list[str]:
        """Replay (or drop) journal strokes left by a crash; returns the keys recovered."""
        pending = self.doc.pending_recovery()
        if not pending or policy == "skip" or self.doc.project.read_only:
            return []
        if policy == "recover" or (policy == "ask" and ask_recovery(self, pending)):
            return self.doc.recover()
        self.doc.discard_recovery()
        return []

    def _start_background_checks(self, project) -> None:
        from engine.dataset import validate

        dataset = project.dataset
        self.runner.submit(f"Check {dataset.root.name}", lambda ctx: validate(dataset, ctx), group="validate",
                           on_result=lambda report: self._on_validated(report, dataset.root))
        keys = project.frame_keys()  # a work package's frames only
        palette = self.palette.palette_name()
        self.runner.submit("Thumbnails", lambda ctx: load_thumbnails(ctx, project, keys, self.frames.sink, palette),
                           group="thumbnails")

    def show_problems(self, title: str, intro: str, problems: list) -> None:
        self.problems_dialog = ProblemsDialog(title, intro, problems, self)
        self.problems_dialog.show()

    def show_error(self, message: str) -> None:
        self.last_error = message
        self.statusBar().showMessage(message, 15000)

    def choose_source(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a CaDIS dataset or a folder of frames")
        if folder:
            self.open_source(folder)

    def choose_project(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a CaDIS Studio project (.cadis-project)")
        if folder:
            self.open_source(folder)

    def open_phantom(self) -> None:
        from desktop.settings import phantom_dir
        from engine.phantom import ensure_sample

        root = phantom_dir()
        self.runner.submit("Generate phantom sample", lambda ctx: ensure_sample(root, ctx), group="phantom",
                           on_result=lambda root: self.open_source(root))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_projects() or []:
            self.recent_menu.addAction(path, lambda p=path: self.open_source(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_projects()))

    # -- frames and review -------------------------------------------------------------------------
    def show_frame(self, key: str) -> bool:
        """Switch frames (the current one is saved first, with a note typed but not yet confirmed; a variant
        sketch with changes is thrown away only when the user says so)."""
        if key != self.doc.key and not self.model_panels.synthesis.confirm_leave_sketch():
            self.frames.set_current(self.doc.key)
            return False
        if self.note_edit.isModified():
            self.doc.set_note(self.note_edit.text())
        if self.doc.set_frame(key):
            return True
        # the canvas still shows the previous frame: so must the frame list (paint goes where the eye is)
        self.frames.mark_unreadable(key, self.last_error)
        self.frames.set_current(self.doc.key)
        return False

    def _step_frame(self, offset: int) -> None:
        key = self.doc.neighbour(offset)
        if key is not None:
            self.show_frame(key)

    def next_unfinished(self) -> None:
        key = self.doc.next_unfinished()
        if key is None:
            self.statusBar().showMessage("Every other frame is done, flagged or rejected", 5000)
        else:
            self.show_frame(key)

    def set_status(self, status: str) -> None:
        label = self.doc.label
        if status == "done" and label is not None:
            n = int(np.count_nonzero(label == IGNORE))
            if n and not self.confirm_unlabelled(self, n, n / label.size):
                self.statusBar().showMessage(f"{self.doc.key} not marked done: {n:,} pixels are unlabelled", 5000)
                return
        if self.doc.set_status(status, self.note_edit.text()):
            self.statusBar().showMessage(f"{self.doc.key}: {STATUS_STYLE[status][2]}", 3000)

    def set_tool(self, name: str) -> None:
        self.canvas.set_tool(name)
        self.tool_options.set_tool(name)

    def _step_brush(self, direction: int) -> None:
        r = self.canvas.brush_radius()
        self.canvas.set_brush_radius(r + direction * max(1, round(r * 0.15)))

    def _update_policy(self, *_) -> None:
        mode, target = self.tool_options.paint_mode()
        self.canvas.set_policy(edits.PaintPolicy(_MODES[mode], target if mode == "only" else None,
                                                 frozenset(self.palette.locked_classes())))

    def repair(self, op: str, params: dict) -> None:
        """Run a repair op on the current frame (selected class or all classes) as one undo step."""
        selected = self.palette.current_class() if params.get("scope") == "selected" else None
        try:
            rec = self.doc.repair(op, params, selected, self.canvas.policy())
        except ValueError as exc:
            self.show_error(f"Repair failed: {exc}")
            return
        self.statusBar().showMessage("Nothing to repair" if rec is None else f"Repair changed "
                                     f"{int(rec.changed().sum()):,} pixels (Ctrl+Z undoes it)", 5000)

    # -- export and preferences --------------------------------------------------------------------
    def export(self, values: Optional[dict] = None):
        """File > Export: the export dialog (CaDIS/COCO, report, progress, cancel). `values` (keyword
        arguments of `ExportOptions`) skips the dialog and runs the same job (tests, scripts)."""
        from desktop.panels.export.dialog import ExportJobDialog
        from engine.services.export import ExportOptions, ExportRequest, export

        project = self.doc.project
        if project is None:
            return None
        self.doc.save()
        if values is None:
            self.export_dialog = ExportJobDialog(self.doc, self.runner, self.settings, self)
            self.export_dialog.out_dir.setText(str(project.dataset.root.parent / f"{project.dataset.root.name}-export"))
            self.export_dialog.show()
            return self.export_dialog
        options = ExportOptions(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items()})
        options.experiment = None if options.experiment is None else str(options.experiment)
        return self.runner.submit(f"Export to {Path(options.out_dir).name}",
                                  lambda ctx: export(ctx, ExportRequest(project, options)), group="export",
                                  on_result=lambda r: self.statusBar().showMessage(
                                      f"Exported {r.result.frames} frames to {r.result.out_dir}", 8000))

    def preferences(self) -> None:
        from desktop.preferences import PreferencesDialog

        dlg = PreferencesDialog(self.settings, self)
        if dlg.exec():
            self.apply_keymap(self.settings.keymap())
            self.model_panels.settings_changed()
            self.segment_assist.set_folder(self.settings.segment_dir)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        if not self._laid_out:
            self._laid_out = True
            QTimer.singleShot(0, self.default_layout)  # after the window took its (maximized) size
            self.default_layout()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt name
        if not self.model_panels.synthesis.confirm_leave_sketch() or not self.doc.close_project():
            event.ignore()  # the save failed; the error is in the status bar and the journal keeps the strokes
            return
        self.runner.shutdown()
        self.settings.set_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        event.accept()
