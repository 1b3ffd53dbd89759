"""How often the "unlike the model's training frames" warning fires (engine.models.trained_on).

    python -m benchmarks.synthesis_trained_on [--work DIR] [--train-videos 6] [--test-videos 3]

For each phantom style, a training record is made from `--train-videos` x 10 frames (seed 0, as the starter
model's recipe) and every frame of `--test-videos` x 8 frames of a seed never trained on (seed 7) is checked
against it, in both styles. Prints the share of frames warned about per (training style, frame style):
the warning should fire on the other style and not on the model's own. The shipped starter model's card
(trained on the plain style) is checked the same way. Results:
docs/benchmarks/synthesis_trained_on.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

STYLES = ("plain", "realistic")


def images_of(root: Path):
    from engine.dataset import open_dataset
    from engine.imageio import read_image

    return [read_image(r.image_path) for r in open_dataset(root).labelled()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", default="build/bench-trained-on")
    ap.add_argument("--train-videos", type=int, default=6)
    ap.add_argument("--test-videos", type=int, default=3)
    args = ap.parse_args(argv)
    from engine.models.model_dir import starter_model_dir
    from engine.models.trained_on import frame_warning, read_record, training_record
    from engine.phantom import generate_dataset

    work = Path(args.work)
    records, tests = {}, {}
    for style in STYLES:
        train, test = work / f"train-{style}", work / f"test-{style}"
        generate_dataset(train, videos=args.train_videos, frames_per_video=10, seed=0, style=style)
        generate_dataset(test, videos=args.test_videos, frames_per_video=8, seed=7, style=style)
        records[style] = training_record(train, images_of(train), (72, 128))
        tests[style] = images_of(test)
    records["shipped starter"] = read_record(starter_model_dir())
    print("| model trained on | frames of | warned | share |")
    print("|---|---|---|---|")
    for trained in (*STYLES, "shipped starter"):
        for frames in STYLES:
            warned = sum(frame_warning(records[trained], im) is not None for im in tests[frames])
            n = len(tests[frames])
            name = f"{'phantom ' if trained in STYLES else ''}{trained} ({records[trained]['frames']} frames)"
            print(f"| {name} | phantom {frames} (seed 7) | "
                  f"{warned}/{n} | {warned / n:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
