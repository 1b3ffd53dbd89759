"""Segment a structure from a click, a box or a class's region with a SAM, SAM 2 or SAM 3 model from the
user's disk (transformers layout, safetensors only, checked before anything is built).

`Segmenter.open(folder)` loads a model; `segment_frame` is the one use-case entry the CLI and the canvas's
Segment tool share. Modules: folder (checks), prep (geometry, no torchvision), model (embedding, masks),
cache (bounded LRU of embeddings), prompt, apply (commit / repair as one undo step), run (the entry).
"""
from engine.segment.apply import class_region, commit_candidate, replace_region
from engine.segment.cache import EmbeddingCache
from engine.segment.folder import FAMILIES, SegmentFolder, SegmentFolderError, check_segment_folder
from engine.segment.model import Candidates, Embedding, SegmentModel, load_segment_model
from engine.segment.prompt import Prompt, parse_box, parse_point
from engine.segment.run import SegmentResult, Segmenter, find_in_frame, segment_frame
from engine.segment.text import union

__all__ = ["FAMILIES", "SegmentFolder", "SegmentFolderError", "check_segment_folder", "Candidates", "Embedding",
           "SegmentModel", "load_segment_model", "EmbeddingCache", "Prompt", "parse_box", "parse_point",
           "class_region", "commit_candidate", "replace_region", "SegmentResult", "Segmenter", "segment_frame",
           "find_in_frame", "union"]
