"""The CaDIS dataset layout: index by names (`open_dataset`), validate (`validate`), official split.

The dataset is read-only: nothing here writes into it.
"""
from engine.dataset.index import DatasetIndex, FrameRecord, NotCadisError, open_dataset
from engine.dataset.naming import (
    FRAMES_PER_VIDEO, OFFICIAL_SPLIT, SPLITS, frame_file_name, parse_frame_name, parse_video_dir, split_of,
    video_dir_name,
)
from engine.dataset.report import Problem, ValidationReport
from engine.dataset.validate import validate

__all__ = [
    "DatasetIndex", "FrameRecord", "NotCadisError", "open_dataset", "FRAMES_PER_VIDEO", "OFFICIAL_SPLIT", "SPLITS",
    "frame_file_name", "parse_frame_name", "parse_video_dir", "split_of", "video_dir_name", "Problem",
    "ValidationReport", "validate",
]
