"""The Segment tool's model, embedding and status: loads the segmentation folder and makes the open frame's
image embedding in its own background lane (`runner.lane("segment")`) as soon as the frame opens, so prompts
answer in milliseconds; a newer frame cancels the older request and a late result for another frame is
dropped. `statusChanged` says while an embedding is being made (the status bar shows it). Once the open
frame's embedding is there, the next frame's is made in the same lane (into the bounded cache), so moving on
finds it ready; opening another frame cancels that (an embedding already under way is finished and kept)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import QObject, Signal

from desktop.workers import JobRunner
from engine.imageio import read_image
from engine.segment import Prompt, Segmenter
from engine.segment.text import FIND_THRESHOLD

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
        self._ahead: tuple[str, Path] | None = None   # the next frame: (key, image path)
        self._generation = 0
        self.error = ""
        self.busy = False
        self.find_threshold = FIND_THRESHOLD  # the score an instance Find… shows needs

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

    def set_frame(self, key: str, image: Optional[np.ndarray], ahead: tuple[str, Path] | None = None) -> None:
        """A frame was opened: start its embedding (a request for the previous frame is cancelled); `ahead`
        (key, image path) is the frame to embed next while the annotator works on this one."""
        self._frame = None if image is None else (str(key), image)
        self._ahead = ahead
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
        if self._ahead is None or self._segmenter is None:
            return
        (key, path), seg = self._ahead, self._segmenter

        def job(ctx):
            image = read_image(path)
            if seg.cached(image, key) is None:
                seg.embedding(image, key, ctx)

        self._lane.submit(f"Segment embedding ahead · {key}", job, group="segment-ahead")

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


def ahead_of(doc) -> tuple[str, Path] | None:
    """(key, image path) of the frame after the document's open one, or None at the end or without a project."""
    key = doc.neighbour(1) if doc.project is not None else None
    if key is None or key == doc.key:
        return None
    try:
        return key, Path(doc.project.record(key).image_path)
    except (KeyError, ValueError, OSError):
        return None
