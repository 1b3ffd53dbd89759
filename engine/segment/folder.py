"""Reading a segment-anything model folder (SAM, SAM 2, SAM 3 tracker) in the transformers layout.

A folder holds `config.json`, `model.safetensors` and the processor's JSON (`preprocessor_config.json`, or
`processor_config.json` with an `image_processor` section, as `save_pretrained` of a processor writes it).
Nothing is built before the checks pass: each file must be a regular file (a FIFO would block), the JSON is
bounded, every number in the config lies within bounds, and the tensors the config asks for (built on the meta
device) are compared, name by name, shape by shape and dtype by dtype, with the safetensors header. A pickle
(`pytorch_model.bin`, or a pickle renamed to `.safetensors`) is never opened. Every refusal is one line that
names the file and what it lacks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.files import UnreadableFileError, read_bytes
from engine.models.config_checks import integer, number, read_json_object, safetensors_header
from engine.models.folders import ModelFolderError, check_weights_against, refuse_missing_weights

FAMILIES = {"sam": "SAM", "sam2": "SAM 2", "sam2_video": "SAM 2 (with video)", "sam3_tracker": "SAM 3",
            "sam3": "SAM 3 (find by name)"}
TEXT_FAMILIES = ("sam3",)
MAX_TOKENIZER_BYTES = 32 << 20  # a CLIP tokenizer.json is about 3 MB
FLOAT_DTYPES = {"F32", "F16", "BF16"}
MAX_PARAMETERS = 3_000_000_000
# any whole number in a config: sizes, layer counts, ids; larger means a hostile or broken file
_INT_BOUND = 1 << 20
_NAMED_BOUNDS = {
    "image_size": integer(16, 4096), "patch_size": integer(1, 64), "hidden_size": integer(1, 8192),
    "num_hidden_layers": integer(1, 256), "num_attention_heads": integer(1, 256), "mlp_dim": integer(1, 65536),
    "intermediate_size": integer(1, 65536), "output_channels": integer(1, 8192), "num_multimask_outputs": integer(1, 16),
    "fpn_hidden_size": integer(1, 8192), "mask_input_channels": integer(1, 1024), "window_size": integer(0, 1024),
}
# names a save_pretrained writes that the model's own state dict spells otherwise (SAM 3 tracker's layout)
_RENAMES = {"sam3_tracker": (("tracker_model.detector_model.vision_encoder.", "vision_encoder."),
                             ("tracker_model.tracker_neck.", "vision_encoder.neck."), ("tracker_model.", ""))}
# tensors the loader ties or fills itself, so a folder may leave them out
_OPTIONAL = {"sam": ("prompt_encoder.shared_embedding.positional_embedding",),
             "sam2": ("prompt_encoder.shared_embedding.positional_embedding",),
             "sam2_video": ("prompt_encoder.shared_embedding.positional_embedding",),
             "sam3_tracker": ("prompt_encoder.shared_embedding.positional_embedding",)}


class SegmentFolderError(ModelFolderError):
    """A segmentation-model folder that cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class SegmentFolder:
    """A checked folder: its family ("sam", "sam2", "sam3_tracker"), config and image-processor settings."""

    path: Path
    family: str
    config: dict
    processor: dict

    @property
    def family_name(self) -> str:
        return FAMILIES[self.family]


def check_segment_folder(path: str | Path) -> SegmentFolder:
    """Check a folder without building anything; raises SegmentFolderError with one line."""
    root = Path(path)
    if not root.is_dir():
        raise SegmentFolderError(f"{root}: not a folder; choose the folder that holds config.json, model.safetensors "
                                 "and the processor's JSON of a SAM, SAM 2 or SAM 3 model")
    cfg_path = root / "config.json"
    if not cfg_path.exists():
        raise SegmentFolderError(f"{root}: no config.json; this is not a segment-anything model folder in the "
                                 "transformers layout")
    cfg = read_json_object(cfg_path, SegmentFolderError)
    family = cfg.get("model_type")
    if family not in FAMILIES:
        raise SegmentFolderError(f"{cfg_path}: model_type {str(family)[:40]!r} is not SAM ('sam'), SAM 2 ('sam2', "
                                 "'sam2_video') or SAM 3 ('sam3_tracker' for clicks, 'sam3' to find by name)")
    _check_numbers(cfg, cfg_path)
    processor = _read_processor(root)
    if family in TEXT_FAMILIES:
        _check_tokenizer(root)
    weights = root / "model.safetensors"
    refuse_missing_weights(weights, SegmentFolderError)
    header = safetensors_header(weights, SegmentFolderError)
    bad = next((k for k, (dt, _) in header.items() if dt not in FLOAT_DTYPES), None)
    if bad is not None:
        raise SegmentFolderError(f"{weights}: tensor {bad[:80]!r} is {header[bad][0]}, not a float type (F32, F16, "
                                 "BF16); the file is not a segment-anything model")
    return SegmentFolder(root, family, cfg, processor)


def check_weights(folder: SegmentFolder) -> None:
    """Compare the tensors the config asks for (built on the meta device) with the safetensors header."""
    def rename(name: str) -> str:
        for old, new in _RENAMES.get(folder.family, ()):
            if name.startswith(old):
                return new + name[len(old):]
        return name

    config = build_config(folder)
    check_weights_against(lambda: model_class(folder.family)(config), folder.path / "model.safetensors",
                          folder.path / "config.json", SegmentFolderError, _OPTIONAL.get(folder.family, ()), rename,
                          max_parameters=MAX_PARAMETERS)


def model_class(family: str):
    import transformers

    return {"sam": transformers.SamModel, "sam2": transformers.Sam2Model, "sam2_video": transformers.Sam2VideoModel,
            "sam3_tracker": transformers.Sam3TrackerModel, "sam3": transformers.Sam3Model}[family]


def build_config(folder: SegmentFolder):
    import transformers

    cls = {"sam": transformers.SamConfig, "sam2": transformers.Sam2Config, "sam2_video": transformers.Sam2VideoConfig,
           "sam3_tracker": transformers.Sam3TrackerConfig, "sam3": transformers.Sam3Config}[folder.family]
    try:
        return cls.from_dict(dict(folder.config))
    except (TypeError, ValueError, KeyError, AttributeError, ZeroDivisionError) as exc:
        raise SegmentFolderError(f"{folder.path / 'config.json'}: not a valid {folder.family_name} config "
                                 f"({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})") from None


def _check_numbers(obj: Any, path: Path, where: str = "") -> None:
    """Every whole number within a bound, named sizes within theirs, lists short, texts short."""
    if isinstance(obj, dict):
        if len(obj) > 512:
            raise SegmentFolderError(f"{path}: section {where or 'top'!r} has {len(obj)} fields, more than a config has")
        for key, value in obj.items():
            name = f"{where}.{key}" if where else str(key)
            check = _NAMED_BOUNDS.get(key)
            if check is not None and not isinstance(value, (dict, list)) and value is not None:
                problem = check(value)
                if problem:
                    raise SegmentFolderError(f"{path}: field {name!r} {problem}")
            _check_numbers(value, path, name)
    elif isinstance(obj, list):
        if len(obj) > 256:
            raise SegmentFolderError(f"{path}: field {where!r} holds {len(obj)} values, more than a config has")
        for value in obj:
            _check_numbers(value, path, where)
    elif isinstance(obj, bool) or obj is None:
        return
    elif isinstance(obj, int):
        if abs(obj) > _INT_BOUND:
            raise SegmentFolderError(f"{path}: field {where!r} is {obj if abs(obj) < 10 ** 12 else 'a huge number'}, "
                                     f"outside the {_INT_BOUND:,} any size in a config stays within")
    elif isinstance(obj, float):
        if not math.isfinite(obj) or abs(obj) > 1e9:
            raise SegmentFolderError(f"{path}: field {where!r} holds the number {obj}, outside any config's range")
    elif isinstance(obj, str) and len(obj) > 1000:
        raise SegmentFolderError(f"{path}: field {where!r} is a text of {len(obj)} characters")


def _check_tokenizer(root: Path) -> None:
    """A SAM 3 text folder's tokenizer: tokenizer.json (or vocab.json + merges.txt), regular and bounded."""
    if (root / "tokenizer.json").exists():
        read_json_object(root / "tokenizer.json", SegmentFolderError, "tokenizer", MAX_TOKENIZER_BYTES)
    elif (root / "vocab.json").exists() and (root / "merges.txt").exists():
        read_json_object(root / "vocab.json", SegmentFolderError, "tokenizer vocabulary", MAX_TOKENIZER_BYTES)
        try:
            read_bytes(root / "merges.txt", MAX_TOKENIZER_BYTES, "tokenizer merges")
        except UnreadableFileError as exc:
            raise SegmentFolderError(str(exc)) from None
    else:
        raise SegmentFolderError(f"{root}: no tokenizer (tokenizer.json); a SAM 3 folder that finds by name needs "
                                 "its text tokenizer saved with it (processor.save_pretrained(folder))")
    if (root / "tokenizer_config.json").exists():
        read_json_object(root / "tokenizer_config.json", SegmentFolderError, "tokenizer config", MAX_TOKENIZER_BYTES)


def _read_processor(root: Path) -> dict:
    flat, nested = root / "preprocessor_config.json", root / "processor_config.json"
    if flat.exists():
        proc = read_json_object(flat, SegmentFolderError, "processor config")
        path = flat
    elif nested.exists():
        outer = read_json_object(nested, SegmentFolderError, "processor config")
        proc = outer.get("image_processor")
        path = nested
        if not isinstance(proc, dict):
            raise SegmentFolderError(f"{nested}: has no 'image_processor' section; save the processor with the model "
                                     "(processor.save_pretrained(folder))")
    else:
        raise SegmentFolderError(f"{root}: no processor config (preprocessor_config.json or processor_config.json); "
                                 "save the processor with the model (processor.save_pretrained(folder))")
    _check_numbers(proc, path)
    for key in ("image_mean", "image_std"):
        value = proc.get(key, [0.5, 0.5, 0.5])
        if not (isinstance(value, list) and len(value) == 3 and all(not number(-10.0, 10.0)(v) for v in value)):
            raise SegmentFolderError(f"{path}: field {key!r} should be three numbers, found {str(value)[:60]}")
    if any(v == 0 for v in proc.get("image_std", [1.0])):
        raise SegmentFolderError(f"{path}: field 'image_std' holds a zero")
    factor = proc.get("rescale_factor", 1 / 255)
    if number(1e-8, 1.0)(factor):
        raise SegmentFolderError(f"{path}: field 'rescale_factor' {number(1e-8, 1.0)(factor)}")
    for key in ("size", "pad_size"):
        value = proc.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or not value or any(k not in ("longest_edge", "height", "width", "shortest_edge")
                                                           or integer(16, 4096)(v) for k, v in value.items()):
            raise SegmentFolderError(f"{path}: field {key!r} should give sizes of 16 to 4096 pixels, found {str(value)[:60]}")
    return proc
