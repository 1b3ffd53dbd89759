"""Curation of synthetic pairs: label consistency and uncertainty scores, near-duplicate detection."""
from engine.curation.duplicates import (
    DEFAULT_THRESHOLD, DuplicateReport, dhash, find_near_duplicates, hamming, is_near_duplicate, thumb_distance,
    thumbnail,
)
from engine.curation.pairs import find_duplicate_pairs, reject_most_uncertain
from engine.curation.scores import (
    consistency_score, label_consistency, most_uncertain, presegmenter_scorer, proposal_scorer,
)

__all__ = [
    "DEFAULT_THRESHOLD", "DuplicateReport", "dhash", "find_near_duplicates", "hamming", "is_near_duplicate",
    "thumb_distance", "thumbnail", "consistency_score", "label_consistency", "most_uncertain",
    "presegmenter_scorer", "proposal_scorer", "find_duplicate_pairs", "reject_most_uncertain",
]
