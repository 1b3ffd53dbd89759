"""The Segment tool's model, embedding and status: loads the segmentation folder and makes the open frame's
image embedding in its own background lane (`runner.lane("segment")`) as soon as the frame opens, so prompts
answer in milliseconds; a newer frame cancels the older request and a late result for another frame is
dropped. `statusChanged` says while an embedding is being made (the status bar shows it). Once the open
frame's embedding is there, the next frames' are made in the same lane into the bounded cache (as many as it
holds beside the open frame) while the annotator is idle: a click, stroke or key on the watched widgets
(`watch`) holds them for `idle_s` seconds, even in the middle of one (the encoder waits between blocks), so
painting never competes with them; opening another frame cancels them (between the encoder's blocks)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import QEvent, QObject, Signal

from desktop.workers import JobRunner
from engine.imageio import read_image
from engine.segment import Prompt, Segmenter
from engine.segment.text import FIND_THRESHOLD

IDLE_S = 1.5   # seconds without a click, stroke or key before frames ahead are embedded
AHEAD = 3      # frames after the open one to embed ahead (the cache keeps 4 embeddings)
_NO_FOLDER = "Segment: choose a SAM, SAM 2 or SAM 3 folder in Preferences → Models (Segmentation model folder)"


class SegmentAssist(QObject):
    statusChanged = Signal(str)   # a message for the status bar ("" when nothing to say)
    ready = Signal()              # the open frame's embedding is there
    found = Signal(object)        # Find…'s Candidates (every instance) for the open frame
    candidatesReady = Signal(object, object)  # (Prompt, Candidates) for the open frame

    def __init__(self, runner: JobRunner, device: Callable[[], str] = lambda: "auto",
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._lane = runner.lane("segment")
        self._prompt_lane = runner.lane("segment-prompt")  # clicks never wait behind an embedding
        self._device = device
        self._folder = ""
        self._segmenter: Optional[Segmenter] = None
        self._frame: tuple[str, np.ndarray] | None = None
        self._ahead: list[tuple[str, Path]] = []   # the next frames: (key, image path)
        self._generation = 0
        self.error = ""
        self.busy = False
        self.find_threshold = FIND_THRESHOLD  # the score an instance Find… shows needs
        self.idle_s = IDLE_S
        self._active_at = 0.0                 # time.monotonic() of the annotator's last click, stroke or key
        self._watcher = _ActivityWatcher(self)

    def touch(self) -> None:
        """The annotator is working: frames made ahead wait until `idle_s` seconds pass without this."""
        self._active_at = time.monotonic()

    def watch(self, widget) -> None:
        """Mouse presses, moves, wheel and keys on `widget` count as the annotator working (`touch`)."""
        widget.installEventFilter(self._watcher)

    def _wait_idle(self, ctx) -> None:
        while time.monotonic() - self._active_at < self.idle_s:
            ctx.check()
            time.sleep(0.05)

    def set_folder(self, folder: str) -> None:
        """The model folder from the settings ("" = none); a change drops the loaded model."""
        folder = str(folder or "")
        if folder == self._folder:
            return
        self._folder, self._segmenter, self.error = folder, None, ""
        if self._frame is not None:
            self._start()

    def folder(self) -> str:
        return self._folder

    def set_frame(self, key: str, image: Optional[np.ndarray], ahead: list[tuple[str, Path]] | None = None) -> None:
        """A frame was opened: start its embedding (a request for the previous frame is cancelled); `ahead`
        [(key, image path), ...] are the frames to embed next, in order, while the annotator is idle."""
        self._frame = None if image is None else (str(key), image)
        self._ahead = list(ahead or [])
        self._generation += 1
        for job in self._lane.active("segment-embed") + self._lane.active("segment-ahead"):
            job.cancel()
        if self._frame is not None and self._folder:
            self._start()

    def _start(self) -> None:
        key, image = self._frame
        if self._segmenter is not None and self._segmenter.cached(image, key) is not None:
            self.busy = False
            self.ready.emit()
            self._start_ahead()
            return
        gen, folder, device, loaded = self._generation, self._folder, self._device(), self._segmenter

        def job(ctx):
            seg = loaded or Segmenter.open(folder, device)
            ctx.check()
            seg.embedding(image, key, ctx)
            return seg

        self.busy, self.error = True, ""
        self.statusChanged.emit(f"Segment: making the image embedding of {key}…")
        self._lane.submit(f"Segment embedding · {key}", job, group="segment-embed",
                          on_result=lambda seg, g=gen, f=folder: self._done(seg, g, f),
                          on_error=lambda msg, g=gen: self._failed(msg, g))

    def _done(self, seg: Segmenter, gen: int, folder: str) -> None:
        if folder != self._folder:
            return
        self._segmenter = seg
        if gen != self._generation:  # the frame changed meanwhile: this embedding is not the open frame's
            return
        self.busy = False
        self.statusChanged.emit(f"Segment: {seg.model.name} ready")
        self.ready.emit()
        self._start_ahead()

    def _start_ahead(self) -> None:
        if not self._ahead or self._segmenter is None:
            return
        seg = self._segmenter
        frames = self._ahead[:max(0, seg.cache.max_items - 1)]  # the open frame's embedding stays in the cache

        def job(ctx):
            for key, path in frames:
                self._wait_idle(ctx)
                image = read_image(path)
                if seg.cached(image, key) is None:
                    seg.embedding(image, key, ctx, pause=lambda: self._wait_idle(ctx))

        if frames:
            self._lane.submit(f"Segment embeddings ahead · {frames[0][0]}…", job, group="segment-ahead")

    def _failed(self, message: str, gen: int) -> None:
        if gen != self._generation:
            return
        self.busy, self.error = False, message
        self.statusChanged.emit(f"Segment: {message}")

    def is_ready(self) -> bool:
        return (self._frame is not None and self._segmenter is not None
                and self._segmenter.cached(self._frame[1], self._frame[0]) is not None)

    def request(self, prompt: Prompt) -> bool:
        """Ask for the masks of `prompt` on the open frame in the prompt lane (a newer request replaces an older
        one); `candidatesReady` brings them unless the frame changed. False (with a status message) while they
        cannot be made yet: the tool asks again on `ready`."""
        if not self._folder:
            self.statusChanged.emit(_NO_FOLDER)
            return False
        if self.error:
            self.statusChanged.emit(f"Segment: {self.error}")
            return False
        if not self.is_ready():
            self.statusChanged.emit("Segment: the image embedding is still being made; the mask follows")
            return False
        (key, image), seg, gen = self._frame, self._segmenter, self._generation

        def done(cands, g=gen):
            if g == self._generation:
                self.candidatesReady.emit(prompt, cands)

        self._prompt_lane.submit("Segment prompt", lambda ctx: seg.candidates(image, prompt, key),
                                 group="segment-prompt", on_result=done,
                                 on_error=lambda msg: self.statusChanged.emit(f"Segment: {msg}"))
        return True

    def find(self, phrases: list[str]) -> bool:
        """Find every instance of the phrases on the open frame in the segment lane (SAM 3 `sam3` folders);
        `found` carries the result unless the frame changed meanwhile. False (with a message) when it cannot."""
        if not self._folder:
            self.statusChanged.emit(_NO_FOLDER)
            return False
        if self._frame is None:
            return False
        key, image = self._frame
        gen, folder, device, loaded = self._generation, self._folder, self._device(), self._segmenter
        threshold = self.find_threshold

        def job(ctx):
            seg = loaded or Segmenter.open(folder, device)
            ctx.check()
            seg.embedding(image, key, ctx)
            ctx.report(0.9, "finding")
            return seg, seg.find(image, phrases, key, threshold)

        def done(result, g=gen):
            seg, cands = result
            if folder == self._folder:
                self._segmenter = seg
            if g != self._generation:
                return
            names = ", ".join(phrases)
            self.statusChanged.emit(f"Find: {len(cands)} instance(s) of {names}" + (
                "; Enter accepts them (unlabelled pixels only), Tab shows one at a time, Esc drops" if len(cands)
                else "; nothing scored high enough"))
            self.found.emit(cands)

        self.statusChanged.emit(f"Find: looking for {', '.join(phrases)} on {key}…")
        self._lane.submit(f"Find {', '.join(phrases)} · {key}", job, group="segment-find", on_result=done,
                          on_error=lambda msg, g=gen: self._failed(msg, g))
        return True


def frames_ahead(doc, count: int = AHEAD) -> list[tuple[str, Path]]:
    """[(key, image path)] of up to `count` frames after the document's open one (fewer at the end, none
    without a project)."""
    if doc.project is None:
        return []
    out: list[tuple[str, Path]] = []
    for step in range(1, count + 1):
        key = doc.neighbour(step)
        if key is None or key == doc.key or any(k == key for k, _ in out):
            break
        try:
            out.append((key, Path(doc.project.record(key).image_path)))
        except (KeyError, ValueError, OSError):
            break
    return out


class _ActivityWatcher(QObject):
    """An event filter: the annotator's input on a watched widget touches the assist (never consumes it)."""

    _KINDS = (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel, QEvent.Type.KeyPress)

    def __init__(self, assist: SegmentAssist) -> None:
        super().__init__(assist)
        self._assist = assist

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() in self._KINDS:
            self._assist.touch()
        return False
