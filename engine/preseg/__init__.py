"""Pre-segmentation from diffusion features (Baranchuk et al., ICLR 2022), made an annotator's tool.

Label a few frames, train an ensemble head (small convolutional members, or the reference's pixel
MLPs) on the diffusion model's decoder features
(`train_preseg`), propose labels with per-pixel uncertainty for the rest (`Presegmenter`), rank frames
to label next or to re-check (`rank_label_next`, `rank_suspicious`).
"""
from engine.labels import to_original_ids

from engine.edits.proposal import accept_into, accept_region
from .augment import augmented_sources, jittered
from .conv_head import ConvEnsemble, ConvSettings, train_conv_ensemble
from .data import image_paths, is_project, read_frame_list, training_frames
from .ensemble import EnsembleSettings, PixelEnsemble, PixelMLP, train_ensemble
from .features import (
    DEFAULT_BLOCKS, DEFAULT_TIMESTEPS, FeatureConfig, FeatureExtractor, Features, fingerprint_model_dir, load_diffusion_model,
    open_extractor,
)
from .head_dir import ModelMismatchError, PresegHead, default_head_dir, find_head_dir, load_head, save_head
from .presence import DEFAULT_AREA_GATE, class_area_fractions, suppress_small_classes, update_min_fractions
from .predict import FeatureCache, Presegmenter, PresegResult
from .ranking import CannotRankError, RankedFrame, label_disagreement, rank_label_next, rank_suspicious
from .sampling import FrameSource, PixelBank, bank_capacity, class_balanced_indices, collect_pixels
from .refine import guided_filter, upsample_probs
from .shift import ShiftModel, fit_shift, frame_sample
from .ownership import HeadOwnershipError, belongs_to, check_head_target, head_owner
from .trust import few_frames_warning, head_warnings, video_of, videos_of
from .train import HEAD_KINDS, PresegSettings, train_head, train_preseg
from .uncertainty import entropy, frame_score, jensen_shannon, soft_vote, uncertainty_to_grey

__all__ = [
    "accept_into", "accept_region", "augmented_sources", "jittered",
    "ConvEnsemble", "ConvSettings", "train_conv_ensemble", "guided_filter", "upsample_probs", "ShiftModel",
    "fit_shift", "frame_sample", "HEAD_KINDS",
    "image_paths", "is_project", "read_frame_list", "training_frames", "EnsembleSettings", "PixelEnsemble",
    "PixelMLP", "train_ensemble", "DEFAULT_TIMESTEPS", "FeatureConfig", "FeatureExtractor", "Features",
    "fingerprint_model_dir", "load_diffusion_model", "open_extractor", "ModelMismatchError", "PresegHead",
    "default_head_dir", "find_head_dir", "load_head", "save_head", "FeatureCache", "Presegmenter", "PresegResult",
    "to_original_ids", "CannotRankError", "RankedFrame", "label_disagreement", "rank_label_next", "rank_suspicious", "FrameSource",
    "PixelBank", "bank_capacity", "class_balanced_indices", "collect_pixels", "PresegSettings", "train_head",
    "train_preseg", "HeadOwnershipError", "belongs_to", "check_head_target", "head_owner", "few_frames_warning",
    "head_warnings", "video_of", "videos_of", "entropy", "frame_score", "jensen_shannon", "soft_vote", "uncertainty_to_grey",
]
