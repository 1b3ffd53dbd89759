"""The procedural "phantom" sample: a deterministic, seeded generator of cartoon cataract-surgery frames whose
labels are exact (the label is drawn from geometry first; the image is rendered from it).

    image, label = render_frame(seed, width=960, height=540)
    paths = generate_dataset(root, videos=3, frames_per_video=8, seed=0, ctx=None)   # motion="surgery" (v2)
    write_video("v.mp4", seed=0, video=1, frames=211)                                  # every video frame

`generate_dataset` writes the real CaDIS layout (`Video01/Images/Video1_frame000000.png`, ...).
"""
from engine.phantom.dataset import (
    FRAME_STEP, PHANTOM_VERSION, PhantomExistsError, check_request, ensure_sample,
    generate_dataset,
)
from engine.phantom.frame import VideoRenderer, render_frame
from engine.phantom.motion import DEFAULT_MOTION, MOTIONS
from engine.phantom.video import write_video

__all__ = [
    "render_frame", "generate_dataset", "ensure_sample", "check_request", "VideoRenderer", "PhantomExistsError", "PHANTOM_VERSION",
    "FRAME_STEP", "MOTIONS", "DEFAULT_MOTION", "write_video",
]
