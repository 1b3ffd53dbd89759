"""Checks a model or head folder passes before anything in it is built: files, JSON and every config field.

A folder arrives from anywhere, so each file is read through the bounded reader (engine.files): only a
regular file (a FIFO or device would block or never end) and only up to a size limit; JSON that nests too
deeply, holds numbers of thousands of digits, NaN or the wrong types is refused; every config field is held
against bounds, and the safetensors header is read (without the tensors) so a config asking for more than
the weights hold is refused before a single tensor is allocated. Every message names the file. The loaders
call these with their own error class (`ModelFolderError` for synthesis models, `ValueError` for
pre-segmentation heads).
"""
from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any, Callable, Mapping

from engine.files import MAX_JSON_BYTES, UnreadableFileError, open_regular, read_json

MAX_HEADER_BYTES = 100 << 20      # the limit the safetensors library itself applies
SAFETENSORS_DTYPES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
                      "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def _fail(error: type[Exception], path: Path, reason: str) -> Exception:
    return error(f"{path}: {reason}")


def read_json_object(path: Path, error: type[Exception], what: str = "config", max_bytes: int = MAX_JSON_BYTES) -> dict:
    """A JSON object from a regular file; clear errors for broken, deep, huge-number or non-object JSON."""
    try:
        return read_json(path, max_bytes, what, max_depth=16, expect=dict)
    except UnreadableFileError as exc:
        raise error(str(exc)) from None


# ------------------------------------------------------------------------------------------- safetensors
def safetensors_header(path: Path, error: type[Exception]) -> dict[str, tuple[str, tuple[int, ...]]]:
    """{tensor name: (dtype, shape)} from a safetensors file's header, reading only the header.

    Refuses non-regular files, files cut before the end of their header ("truncated"), pickles and
    torch.save archives (never opened), and headers whose offsets do not fit the file."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _fail(error, path, f"cannot read the weights ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise _fail(error, path, "the weights are not a regular file (a FIFO, device or folder); only regular "
                                 "files are read")
    size = st.st_size
    head = _read_prefix(path, 9)
    if size == 0:
        raise _fail(error, path, "the weights file is empty (an interrupted copy?); copy the folder again")
    # a pickle of protocol 2+ starts with 0x80, the protocol, then an opcode (never 0); a safetensors header
    # length is a u64 whose upper bytes are 0, so a cut safetensors file is not mistaken for a pickle
    if head[:2] == b"PK" or (head[:1] == b"\x80" and head[1:2] in b"\x02\x03\x04\x05"
                             and head[2:3] not in (b"", b"\x00") and head[8:9] != b"{"):
        raise _fail(error, path, "is a pickle/torch.save file, not safetensors; refusing to load it (unpickling can "
                                 "run code). Convert it to safetensors in a trusted environment or retrain")
    if size < 9:
        raise _fail(error, path, f"not a valid safetensors file: truncated, cut inside its header ({size} bytes); "
                                 "copy the folder again")
    n = int.from_bytes(head[:8], "little")
    if head[8:9] != b"{":
        raise _fail(error, path, "not a valid safetensors file (its header does not start with a JSON object: "
                                 "another format, or a pickle, which is never opened)")
    if n > MAX_HEADER_BYTES:
        raise _fail(error, path, f"not a valid safetensors file (header of {n:,} bytes)")
    if 8 + n > size:
        raise _fail(error, path, f"not a valid safetensors file: truncated, cut inside its header ({size:,} bytes, "
                                 f"the header alone needs {8 + n:,}); copy the folder again")
    raw = _read_prefix(path, 8 + n)[8:]
    try:
        header = json.loads(raw.decode("utf-8"))
    except (RecursionError, ValueError, UnicodeDecodeError):
        raise _fail(error, path, "not a valid safetensors file: damaged header (not valid JSON)") from None
    if not isinstance(header, dict):
        raise _fail(error, path, "not a valid safetensors file: damaged header (not a JSON object)")
    out: dict[str, tuple[str, tuple[int, ...]]] = {}
    data_size = size - 8 - n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
            ok = (dtype in SAFETENSORS_DTYPES and all(type(d) is int and 0 <= d < 1 << 40 for d in shape)
                  and type(start) is int and type(end) is int and 0 <= start <= end <= data_size
                  and end - start == math.prod(shape) * SAFETENSORS_DTYPES[dtype])
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            what = "not a valid safetensors file: truncated" if isinstance(info, dict) and _end_of(info) > data_size \
                else "not a valid safetensors file: damaged header"
            raise _fail(error, path, f"{what} (tensor {str(name)[:80]!r} does not fit the file); copy the folder again")
        out[str(name)] = (dtype, shape)
    return out


def _end_of(info: dict) -> int:
    try:
        return int(info["data_offsets"][1])
    except (KeyError, TypeError, ValueError, IndexError):
        return -1


def _read_prefix(path: Path, n: int) -> bytes:
    fd = open_regular(path, "weights")
    try:
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(n)
    finally:
        os.close(fd)


def check_shapes_match(expected: Mapping[str, tuple[int, ...]], header: Mapping[str, tuple[str, tuple[int, ...]]],
                       config_path: Path, weights_path: Path, error: type[Exception],
                       optional: tuple[str, ...] = ()) -> None:
    """Refuse (before building) when the config's tensors and the weights file's tensors differ;
    `optional` tensors may be absent from the file (the loader fills them)."""
    missing = sorted(set(expected) - set(header) - set(optional))
    unexpected = sorted(set(header) - set(expected))
    wrong = sorted(k for k in set(expected) & set(header) if tuple(expected[k]) != tuple(header[k][1]))
    check_float_dtypes(getattr(expected, "floating", ()), header, weights_path, error)
    if missing or unexpected or wrong:
        first = (wrong or missing or unexpected)[0]
        detail = (f"{first}: config wants {tuple(expected[first])}, weights hold {header[first][1]}" if wrong
                  else f"e.g. {first}")
        raise error(f"{weights_path} does not match {config_path.name} ({len(missing)} tensors missing, "
                    f"{len(unexpected)} unexpected, {len(wrong)} of another shape; {detail}); the folder is damaged "
                    "or mixed from two models")


FLOAT_DTYPES = frozenset({"F16", "BF16", "F32", "F64"})


def check_float_dtypes(floating, header: Mapping[str, tuple[str, tuple[int, ...]]], weights_path: Path,
                       error: type[Exception]) -> None:
    """Refuse weights whose floating-point tensors (`floating`: their names) are stored as integers or booleans
    (loading would cast them silently and sample garbage)."""
    bad = sorted(k for k in floating if k in header and header[k][0] not in FLOAT_DTYPES)
    if bad:
        raise error(f"{weights_path}: tensor {bad[0][:80]!r} is stored as {header[bad[0]][0]}, but it holds "
                    f"floating-point weights ({len(bad)} such tensors); the file is damaged or was not written by "
                    "this program")


def check_float_weights(path: Path, error: type[Exception]) -> None:
    """A weights file (a Stable Diffusion part, Inception) whose tensors must all be floats, except the integer
    position ids some text encoders keep and batch-norm counters (shapes are checked when loading)."""
    header = safetensors_header(path, error)
    check_float_dtypes([k for k in header if not k.endswith(("position_ids", "num_batches_tracked"))], header,
                       path, error)


# ------------------------------------------------------------------------------------------- field checks
Check = Callable[[Any], str | None]  # None when the value is fine, else what is wrong with it


def integer(lo: int, hi: int) -> Check:
    def check(v):
        if type(v) is not int:
            return f"should be a whole number, found {_show(v)}"
        return None if lo <= v <= hi else f"should be between {lo} and {hi}, found {_show(v)}"
    return check


def number(lo: float, hi: float) -> Check:
    def check(v):
        if type(v) not in (int, float) or not math.isfinite(v):
            return f"should be a number, found {_show(v)}"
        return None if lo <= v <= hi else f"should be between {lo} and {hi}, found {_show(v)}"
    return check


def boolean(v) -> str | None:
    return None if type(v) is bool else f"should be true or false, found {_show(v)}"


def choice(*options: Any) -> Check:
    def check(v):
        return None if (type(v) in (str, int) and v in options) else \
            f"should be one of {', '.join(map(repr, options))}, found {_show(v)}"
    return check


def int_list(lo: int, hi: int, min_len: int, max_len: int, allow_none: bool = False) -> Check:
    item = integer(lo, hi)

    def check(v):
        if v is None and allow_none:
            return None
        if not isinstance(v, list) or not min_len <= len(v) <= max_len:
            return f"should be a list of {min_len} to {max_len} whole numbers, found {_show(v)}"
        bad = next((w for w in map(item, v) if w), None)
        return f"holds a value that {bad}" if bad else None
    return check


def string(max_len: int = 200) -> Check:
    def check(v):
        return None if isinstance(v, str) and len(v) <= max_len else f"should be a short text, found {_show(v)}"
    return check


def _show(v: Any) -> str:
    text = json.dumps(v) if isinstance(v, (dict, list, str, bool, type(None))) else repr(v)
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10 ** 12:
        text = f"a {len(str(abs(v)))}-digit number"
    return text if len(text) <= 60 else text[:57] + "..."


def check_fields(cfg: Mapping[str, Any], spec: Mapping[str, Check], path: Path, error: type[Exception],
                 required: tuple[str, ...] = (), section: str = "") -> None:
    """Refuse the first field of `cfg` that breaks its check in `spec`, or a missing required field."""
    def name(key: str) -> str:
        return repr(f"{section}.{key}" if section else key)

    for key in required:
        if key not in cfg:
            raise _fail(error, path, f"field {name(key)} is missing")
    for key, check in spec.items():
        if key in cfg:
            problem = check(cfg[key])
            if problem:
                raise _fail(error, path, f"field {name(key)} {problem}")


# ------------------------------------------------------------------------------------------- the specs
SYNTHESIS_FIELDS: dict[str, Check] = {
    "sample_size": int_list(8, 4096, 2, 2),
    "in_channels": integer(1, 16),
    "out_channels": integer(1, 16),
    "num_classes": integer(1, 256),
    "class_set": choice("full", "1", "2", "3", 1, 2, 3),
    "block_out_channels": int_list(1, 2048, 1, 8),
    "layers_per_block": integer(1, 8),
    "attention_levels": int_list(0, 7, 0, 8, allow_none=True),
    "spade_hidden": integer(1, 1024),
    "spade_kernel": choice(1, 3, 5, 7),
    "head_dim": integer(1, 2048),
    "dropout": number(0.0, 1.0),
}

UPSAMPLER_FIELDS: dict[str, Check] = {
    "num_classes": integer(1, 256),
    "class_set": choice("full", "1", "2", "3", 1, 2, 3),
    "in_channels": integer(1, 16),
    "out_channels": integer(1, 16),
    "block_out_channels": int_list(1, 1024, 1, 8),
    "low_res_size": int_list(8, 4096, 2, 2),
}

SCHEDULER_FIELDS: dict[str, Check] = {
    "num_train_timesteps": integer(1, 10_000),
    "beta_start": number(1e-8, 0.5),
    "beta_end": number(1e-8, 0.999),
    "beta_schedule": choice("linear", "scaled_linear", "squaredcos_cap_v2"),
    "prediction_type": choice("epsilon", "v_prediction", "sample"),
    "timestep_spacing": choice("leading", "trailing", "linspace"),
    "steps_offset": integer(0, 1000),
    "clip_sample": boolean,
}

HEAD_ENSEMBLE_FIELDS: dict[str, Check] = {
    "in_channels": integer(1, 16384),
    "num_classes": integer(1, 256),
    "members": integer(1, 64),
    "hidden": int_list(1, 4096, 0, 8),
}

HEAD_FEATURE_FIELDS: dict[str, Check] = {
    "timesteps": int_list(0, 9999, 1, 16),
    "blocks": int_list(-16, 15, 1, 16, allow_none=True),
    "seed": integer(-(2 ** 63), 2 ** 64 - 1),
    "work_size": int_list(1, 4096, 2, 2, allow_none=True),
    "include_rgb": boolean,
    "image_filters": boolean,
}


def _check_class_count(class_set: Any, num_classes: Any, field: str, path: Path, error: type[Exception]) -> None:
    from engine.taxonomy import get_class_set

    try:
        cs = get_class_set(class_set)
    except (KeyError, ValueError, TypeError):
        raise _fail(error, path, f"field 'class_set' names no known class set ({_show(class_set)})") from None
    if num_classes != cs.num_classes:
        raise _fail(error, path, f"field {field!r} is {num_classes}, but class set {cs.key!r} has {cs.num_classes} "
                                 "classes")


def check_synthesis_config(cfg: Mapping[str, Any], path: Path, error: type[Exception]) -> None:
    check_fields(cfg, SYNTHESIS_FIELDS, path, error)
    if "class_set" in cfg or "num_classes" in cfg:
        _check_class_count(cfg.get("class_set", "full"), cfg.get("num_classes", 36), "num_classes", path, error)
    levels = len(cfg.get("block_out_channels", (32, 64, 96, 128)))
    bad = [a for a in cfg.get("attention_levels") or () if a >= levels]
    if bad:
        raise _fail(error, path, f"field 'attention_levels' names level {bad[0]}, but the model has {levels} levels")


def check_upsampler_config(cfg: Mapping[str, Any], path: Path, error: type[Exception]) -> None:
    check_fields(cfg, UPSAMPLER_FIELDS, path, error)
    if "class_set" in cfg or "num_classes" in cfg:
        _check_class_count(cfg.get("class_set", "full"), cfg.get("num_classes", 36), "num_classes", path, error)


def check_scheduler_config(cfg: Mapping[str, Any], path: Path, error: type[Exception]) -> None:
    check_fields(cfg, SCHEDULER_FIELDS, path, error)
    start, end = cfg.get("beta_start", 0.0001), cfg.get("beta_end", 0.02)
    if start >= end:
        raise _fail(error, path, f"beta_start ({start}) must be smaller than beta_end ({end})")
    if cfg.get("steps_offset", 0) >= cfg.get("num_train_timesteps", 1000):
        raise _fail(error, path, "steps_offset must be smaller than num_train_timesteps")
    betas = cfg.get("trained_betas")
    if betas is not None:
        n = cfg.get("num_train_timesteps", 1000)
        if not isinstance(betas, list) or len(betas) != n:
            found = f"{len(betas)} values" if isinstance(betas, list) else _show(betas)
            raise _fail(error, path, f"field 'trained_betas' should hold one value per training step ({n}), "
                                     f"found {found}")
        if any(type(b) not in (int, float) or not 0.0 < b < 1.0 for b in betas):
            raise _fail(error, path, "field 'trained_betas' should hold numbers between 0 and 1")


def check_head_config(cfg: Mapping[str, Any], path: Path, error: type[Exception]) -> None:
    """Bounds for a pre-segmentation head's JSON (`ensemble` and `features` sections)."""
    for section, spec, required in (("ensemble", HEAD_ENSEMBLE_FIELDS, tuple(HEAD_ENSEMBLE_FIELDS)),
                                    ("features", HEAD_FEATURE_FIELDS, ())):
        part = cfg.get(section)
        if not isinstance(part, dict):
            raise _fail(error, path, f"section {section!r} is missing or not an object")
        check_fields(part, spec, path, error, required, section)
    ws = cfg["features"].get("work_size")
    if ws is not None and ws[0] * ws[1] > 4 * 1024 * 1024:
        raise _fail(error, path, f"features.work_size {ws[1]}x{ws[0]} is larger than 4 megapixels")
    for key in ("class_set", "model_fingerprint"):
        if not isinstance(cfg.get(key), (str, int)) or isinstance(cfg.get(key), bool):
            raise _fail(error, path, f"field {key!r} is missing or not a text")
    _check_class_count(cfg["class_set"], cfg["ensemble"]["num_classes"], "ensemble.num_classes", path, error)
    areas = cfg.get("class_min_area")
    if areas is not None and (not isinstance(areas, list) or len(areas) > 256
                              or any(a is not None and number(0.0, 1.0)(a) for a in areas)):
        raise _fail(error, path, "field 'class_min_area' should be a list of shares between 0 and 1 (or null)")
    if "area_gate" in cfg and number(0.0, 1000.0)(cfg["area_gate"]):
        raise _fail(error, path, f"field 'area_gate' {number(0.0, 1000.0)(cfg['area_gate'])}")


class Shapes(dict):
    """{tensor name: shape} of a module, with `floating`: the names of its floating-point tensors."""

    floating: frozenset = frozenset()


def meta_shapes(build: Callable[[], Any]) -> Shapes:
    """Tensor shapes of the module `build()` makes, built on PyTorch's meta device (no memory is used)."""
    import torch

    with torch.device("meta"):
        module = build()
    state = module.state_dict()
    shapes = Shapes({k: tuple(v.shape) for k, v in state.items()})
    shapes.floating = frozenset(k for k, v in state.items() if v.is_floating_point())
    return shapes
