"""A surgery video as a CaDIS-layout dataset (Qt-free).

    info = probe_video("surgery.mp4")                       # VideoInfo or VideoReadError (one line)
    result = import_video("surgery.mp4", "out/", every=30, video_number=1, ctx=ctx)

Frames are written as `Video01/Images/Video1_frameNNNNNN.png` (NNNNNN = the frame's index in the video) and
listed in `out/video_import.json`. Importing again at a finer step adds only the frames that are missing.
"""
from engine.video.importer import MANIFEST, ImportResult, import_video, plan_frames, read_import_manifest
from engine.video.reader import VideoInfo, VideoReadError, iter_frames, probe_video

__all__ = ["VideoInfo", "VideoReadError", "probe_video", "iter_frames", "import_video", "plan_frames",
           "ImportResult", "read_import_manifest", "MANIFEST"]
