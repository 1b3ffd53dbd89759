"""`cadis import-video SURGERY.mp4 OUT_DIR --every N`: a video's frames as a CaDIS-layout dataset."""
from __future__ import annotations

import argparse

NAME = "import-video"
HELP = "write every N-th frame of a video as a CaDIS-layout dataset (VideoKK/Images/VideoK_frameNNNNNN.png)"
DESCRIPTION = (
    "Decode SURGERY (any video OpenCV reads: mp4, avi, mkv, ...) and write frames START, START+N, ... up to END "
    "(inclusive) as OUT_DIR/VideoKK/Images/VideoK_frameNNNNNN.png, NNNNNN being the frame's index in the video "
    "(from 0), plus OUT_DIR/video_import.json. The video is only read. Running it again on the same OUT_DIR with "
    "a smaller N (or another range) adds the frames that are missing and keeps the rest."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", metavar="SURGERY", help="the video file to read")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="dataset folder: new, empty, or an earlier import")
    parser.add_argument("--every", type=int, required=True, metavar="N", help="keep every N-th frame")
    parser.add_argument("--start", type=int, default=0, metavar="S", help="first frame index (default 0)")
    parser.add_argument("--end", type=int, default=None, metavar="E", help="last frame index, inclusive (default: "
                                                                            "the end of the video)")
    parser.add_argument("--video-number", type=int, default=1, metavar="K", help="CaDIS video number, 1..99 "
                                                                                 "(default 1: Video01)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from engine.cli.progress import tqdm_context
    from engine.video import import_video, probe_video

    probe_video(args.video)  # refuse a non-video before the progress bar appears
    ctx, bar = tqdm_context("import-video", disable=args.quiet)
    try:
        result = import_video(args.video, args.out_dir, every=args.every, start=args.start, end=args.end,
                              video_number=args.video_number, ctx=ctx)
    finally:
        bar.close()
    if not args.quiet:
        note = f"; {result.beyond_end} asked-for frames lie past the end of the video" if result.beyond_end else ""
        print(f"wrote {len(result.written)} frames ({len(result.present)} already there) to {args.out_dir} as "
              f"Video{args.video_number:02d}: {len(result.frames)} frames in all{note}")
    return 0
