"""The Propagate dock's second method: SAM 2's video model from the segmentation folder set in Preferences
(`engine.segment.video.Sam2Propagator`: each class region an object, fused with a confidence). Offered only when
that folder holds SAM 2 with its video weights; the model is loaded once, in the job, and kept."""
from __future__ import annotations

import threading
from PySide6.QtWidgets import QComboBox

FLOW, SAM2 = "Optical flow", "SAM 2 video"


class SamMethod:
    """The method choice (a combo box) and the SAM 2 propagator it may need."""

    def __init__(self) -> None:
        self.combo = QComboBox()
        self.combo.addItems([FLOW, SAM2])
        self.folder = ""
        self._loaded = None          # (folder, Sam2Propagator)
        self._lock = threading.Lock()
        self.set_folder("")

    def set_folder(self, folder: str) -> None:
        """The segmentation folder of the preferences ("" = none): SAM 2 video is offered if it has the video model."""
        from engine.segment import SegmentFolderError, check_segment_folder

        self.folder, why = str(folder or ""), ""
        if not self.folder:
            why = "set a SAM 2 folder (with the video model) in Preferences → Models to track with SAM 2"
        else:
            try:
                family = check_segment_folder(self.folder).family
                if family != "sam2_video":
                    why = f"the segmentation folder is not SAM 2 with its video model ({family})"
            except SegmentFolderError as exc:
                why = str(exc)
        item = self.combo.model().item(1)
        item.setEnabled(not why)
        item.setToolTip(why or f"SAM 2 tracks each class of the frame as an object ({self.folder})")
        if why:
            self.combo.setCurrentIndex(0)

    def chosen(self) -> bool:
        return self.combo.currentText() == SAM2

    def propagator(self, device: str = "auto"):
        """The loaded propagator (loaded now, in the calling job, on first use or after a folder change)."""
        from engine.segment.video import Sam2Propagator

        folder = self.folder
        with self._lock:
            if self._loaded is None or self._loaded[0] != folder:
                self._loaded = (folder, Sam2Propagator.open(folder, device))
            return self._loaded[1]
