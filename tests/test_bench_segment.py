"""benchmarks.bench_segment on the tiny configs: a row with its numbers; an unknown architecture is refused."""
from __future__ import annotations

from benchmarks import bench_segment


def test_tiny_row_and_refusal():
    row = bench_segment.measure("sam2-hiera-tiny", "cpu", tiny=True, repeats=1)
    assert row["arch"] == "sam2-hiera-tiny" and row["embed_s"] > 0 and row["prompt_ms"] > 0 and row["peak_mb"] > 0
    assert bench_segment.main(["--only", "sam9"]) == 2


def test_tiny_video_row():
    row = bench_segment.measure_video("sam2-video-tiny", "cpu", tiny=True, frames=2)
    assert row["seconds_per_frame"] > 0 and row["classes"] >= 2 and row["frames"] == 2
