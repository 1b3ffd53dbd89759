"""Metrics: segmentation IoU the CaDIS way (`seg`) and image quality PSNR / SSIM (`image`)."""
from engine.metrics.image import psnr, ssim
from engine.metrics.seg import confusion, evaluate_dirs, iou_from_confusion, match_pairs

__all__ = ["confusion", "iou_from_confusion", "evaluate_dirs", "match_pairs", "psnr", "ssim"]
