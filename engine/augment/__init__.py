"""Layout augmentation: new masks from existing ones (move / rotate / scale / mirror / paste instruments),
and the batch `augment` job that turns them into synthetic pairs of a project."""
from engine.augment.instruments import (
    EYE_IDS, Instrument, anatomy_under, fill_vacated, find_instruments, instrument_mask, point_over_eye, pupil_leaks,
)
from engine.augment.layout import (
    Placed, mirror_instrument, move_instrument, paste_instrument, remove_instrument, rotate_instrument,
    scale_instrument,
)
from engine.augment.sampler import OPS, DonorPool, LayoutVariant, layout_variants, one_variant, rare_classes_from_counts

__all__ = [
    "EYE_IDS", "Instrument", "anatomy_under", "fill_vacated", "find_instruments", "instrument_mask", "point_over_eye",
    "pupil_leaks", "Placed", "mirror_instrument", "move_instrument", "paste_instrument", "remove_instrument",
    "rotate_instrument", "scale_instrument", "OPS", "DonorPool", "LayoutVariant", "layout_variants", "one_variant",
    "rare_classes_from_counts",
]
