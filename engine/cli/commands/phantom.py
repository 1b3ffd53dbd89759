"""`cadis phantom OUT_DIR`: write a procedural sample dataset in the CaDIS layout."""
from __future__ import annotations

import argparse

NAME = "phantom"
HELP = "generate a procedural phantom sample dataset in the CaDIS layout"
DESCRIPTION = (
    "Write a deterministic cartoon cataract-surgery dataset (exact labels, real CaDIS file layout) to OUT_DIR. "
    "The same --seed always gives byte-identical files. OUT_DIR must be empty, new, or a previous phantom output."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", metavar="OUT_DIR", help="folder to write (created if missing)")
    parser.add_argument("--videos", type=int, default=3, help="number of videos, 1..99 (default 3)")
    parser.add_argument("--frames-per-video", type=int, default=8, help="frames per video (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--width", type=int, default=960, help="frame width in pixels (default 960)")
    parser.add_argument("--height", type=int, default=540, help="frame height in pixels (default 540)")
    parser.add_argument("--style", choices=("plain", "realistic"), default="plain",
                        help="plain cartoon, or realistic: per-video exposure, white balance, tissue colour, blur, "
                             "noise, JPEG artefacts and specular highlights on top (same labels; default plain)")
    parser.add_argument("--motion", choices=("surgery", "still"), default="surgery",
                        help="surgery: camera pan and zoom, eye translation and rotation, instruments entering, "
                             "leaving and crossing, light flicker, calibrated on real CaDIS label copies (phantom "
                             "version 3, default); still: the version-1 slow drift")
    parser.add_argument("--video", default=None, metavar="OUT.mp4",
                        help="also write every video frame (0 .. (frames-per-video - 1) x 30) of each video as a "
                             "video file (.mp4 or .avi): OUT.mp4 for one video, OUT_Video02.mp4 ... for more")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from engine.cli.progress import tqdm_context
    from engine.phantom import FRAME_STEP, generate_dataset, write_video
    from engine.phantom.dataset import check_request

    from engine.safety import Write, check_writes

    videos = _video_paths(args.video, args.videos) if args.video else []
    if args.video and args.motion != "surgery":
        raise ValueError("--video needs --motion surgery (the still motion has no frames between its samples)")
    check_writes([Write(args.out_dir, "folder", "phantom folder")] + [Write(p, "file", "video") for p in videos], [])
    check_request(args.out_dir, args.videos, args.frames_per_video, args.seed, width=args.width,
                  height=args.height)  # refuse before the progress bar appears
    ctx, bar = tqdm_context("phantom", disable=args.quiet)
    try:
        paths = generate_dataset(args.out_dir, videos=args.videos, frames_per_video=args.frames_per_video,
                                 seed=args.seed, ctx=ctx, width=args.width, height=args.height,
                                 style=args.style, motion=args.motion)
        for v, path in enumerate(videos, 1):
            write_video(path, args.seed, v, (args.frames_per_video - 1) * FRAME_STEP + 1, args.width, args.height,
                        args.style, args.motion, ctx=ctx)
    finally:
        bar.close()
    if not args.quiet:
        print(f"wrote {len(paths)} frames ({args.videos} videos) to {args.out_dir}")
        for path in videos:
            print(f"wrote the video {path}")
    return 0


def _video_paths(path: str, videos: int) -> list[str]:
    if videos == 1:
        return [path]
    stem, dot, suffix = path.rpartition(".")
    if not dot:
        stem, suffix = path, "mp4"
    return [f"{stem}_Video{v:02d}.{suffix}" for v in range(1, videos + 1)]
