"""A tqdm progress bar as a JobContext, so CLI commands drive engine jobs the same way the app does."""
from __future__ import annotations

from engine.jobs import JobContext


def tqdm_context(desc: str, disable: bool = False) -> tuple[JobContext, "object"]:
    """Returns (ctx, bar); call `bar.close()` when done."""
    from tqdm import tqdm

    bar = tqdm(total=1000, desc=desc, disable=disable, bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}")

    def progress(fraction: float, message: str) -> None:
        bar.n = int(fraction * 1000)
        if message:
            bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    return JobContext(progress=progress), bar
