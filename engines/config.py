"""The model's configuration in three parts, plain values stored in every checkpoint and engine manifest (no torch
here):

- `Architecture`: what the weights are; fixed when a network starts training.
- `Decoding`: how the trained networks are read at inference; changes freely, no retraining.
- `Calibration`: what is fitted on training images after training (joint confidence, refinement gains); not the
  INT8 calibration of an engine bundle.

`ModelConfig` holds one of each. `to_dict` writes the three parts; `from_dict` reads them, and also the earlier
flat form (every field in one dict) of recipes/deeppose_lsp_v1.pt and deeppose_lsp_v2.pt.
"""
from __future__ import annotations

import dataclasses
import json

from .joints import JOINT_NAMES

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _as_lists(value):
    return [_as_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


def _as_tuples(value):
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


class _Part:
    """A dataclass of plain values that reads and writes itself as a JSON-ready dict (sequences as lists)."""

    @classmethod
    def field_names(cls) -> tuple:
        return tuple(f.name for f in dataclasses.fields(cls))

    def to_dict(self) -> dict:
        return {name: _as_lists(getattr(self, name)) for name in self.field_names()}

    @classmethod
    def from_dict(cls, d: dict):
        if not isinstance(d, dict):
            raise ValueError(f"the {cls.__name__.lower()} is {type(d).__name__}, not a mapping of settings")
        unknown = set(d) - set(cls.field_names())
        if unknown:
            raise ValueError(f"unknown {cls.__name__.lower()} keys: {sorted(unknown)}")
        values = {k: _as_tuples(v) for k, v in d.items()}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in values.items():
            words = isinstance(fields[key].default, tuple) and any(isinstance(v, str) for v in fields[key].default)
            if not _of_kind(value, fields[key].type, words):
                raise ValueError(f"{cls.__name__.lower()} {key} is {value!r}, not a {fields[key].type} value")
        return cls(**values)


def _of_kind(value, kind: str, words: bool = False) -> bool:
    """Whether a value read from a model file is of its field's kind (the annotation's name; a tuple of numbers,
    or of `words`), so that a file of the wrong shape is refused when it loads, not midway through a run."""
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")

    def leaves(v):
        return all(leaves(x) for x in v) if isinstance(v, tuple) else (isinstance(v, str) if words else number(v))

    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return number(value)
    if kind == "str":
        return isinstance(value, str)
    if kind == "tuple":
        return isinstance(value, tuple) and leaves(value)
    return True


@dataclasses.dataclass
class Architecture(_Part):
    backbone: str = "efficientnet_lite0"
    stage1_input: int = 128
    stage1_head: str = "integral"      # integral | fc | grid
    refiner_input: int = 48
    refiner_blocks: int = 8            # EfficientNet-Lite0 blocks kept in the refiner backbone
    head_channels: int = 64
    sigma: float = 1.5                 # refiner crop side = sigma x torso diameter (the paper: 2.0 on LSP)
    num_stages: int = 3
    joint_names: tuple = JOINT_NAMES
    # Stage 1 also says whether a person is there (presence) and which joints lie inside the picture. Off when
    # absent: model files from before the head have no such key.
    person_head: bool = False
    # Channels of two convolutions the person head runs on the deepest features before pooling them (0: it pools
    # them as they are). The convolutions see where in the crop a part lies, which pooling alone loses.
    person_conv: int = 0
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD


@dataclasses.dataclass
class Decoding(_Part):
    # Soft-argmax over the cells within this many of each heatmap's peak (0 = the whole map, as trained), and
    # each stage averaging its heatmaps with the mirrored crop's.
    decode_window: int = 0
    refiner_decode_window: int = 0
    stage1_flip: bool = False
    refiner_flip: bool = False
    # With stage1_flip: more input sizes at which stage 1 also reads the crop (and its mirror), resized in the
    # graph; their heatmaps are resized to the main grid and averaged in. () = the main size only.
    stage1_scales: tuple = ()
    # Below this presence a crop is "no person"; a joint below `inside_threshold` is "not in the picture".
    presence_threshold: float = 0.5
    inside_threshold: float = 0.5
    # A person that only a closer second look finds (the first box said nobody) must reach this presence: the
    # second look is centred on whatever the first one saw, a person or not.
    second_look_threshold: float = 0.9


@dataclasses.dataclass
class Calibration(_Part):
    # Joint confidence = sigmoid(c0 + c1 log(spread) + c2 log(0.02 + stage disagreement)), both in torso
    # diameters: fitted after training as the probability that the joint is within 0.2 torso diameters.
    confidence: tuple = (-1.9, -1.0, 0.0)
    # Per refinement stage, per joint: the share of the refiner's displacement applied (empty = 1 everywhere).
    # A refiner that only sees a small crop can make joints that need the whole body (hips) worse; the gain
    # lets the cascade keep the earlier estimate there.
    refine_gain: tuple = ()


PARTS = {"architecture": Architecture, "decoding": Decoding, "calibration": Calibration}


@dataclasses.dataclass
class ModelConfig:
    architecture: Architecture = dataclasses.field(default_factory=Architecture)
    decoding: Decoding = dataclasses.field(default_factory=Decoding)
    calibration: Calibration = dataclasses.field(default_factory=Calibration)

    def to_dict(self) -> dict:
        return {name: getattr(self, name).to_dict() for name in PARTS}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """The three parts, or a flat dict of the earlier format whose keys are sorted into them."""
        if not set(d) <= set(PARTS):
            d = _split_flat(d)
        return cls(**{name: PARTS[name].from_dict(d.get(name, {})) for name in PARTS})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _split_flat(d: dict) -> dict:
    parts = {name: {} for name in PARTS}
    unknown = []
    for key, value in d.items():
        owner = next((name for name, part in PARTS.items() if key in part.field_names()), None)
        if owner is None:
            unknown.append(key)
        else:
            parts[owner][key] = value
    if unknown:
        raise ValueError(f"unknown model config keys: {sorted(unknown)}")
    return parts


def parse_sizes(text: str) -> tuple:
    """The `--scales` option: '224,160' -> (224, 160); '' or 'none' -> (). ValueError with a one-line message."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        sizes = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"--scales takes input sizes like '224,160' or 'none', not {text!r}") from None
    if any(v % 32 or v < 32 for v in sizes):
        raise ValueError(f"--scales: each size must be a positive multiple of 32 (the backbone's stride), not {text!r}")
    return sizes
