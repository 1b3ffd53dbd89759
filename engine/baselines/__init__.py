"""Baselines that other methods are measured against."""
from .small_unet import SmallUNet, SmallUNetSegmenter, predict_small_unet, train_small_unet

__all__ = ["SmallUNet", "SmallUNetSegmenter", "predict_small_unet", "train_small_unet"]
