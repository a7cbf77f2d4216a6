"""Model configuration: plain values, stored inside every checkpoint and engine manifest (no torch here)."""
from __future__ import annotations

import dataclasses
import json

from .joints import JOINT_NAMES

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclasses.dataclass
class ModelConfig:
    backbone: str = "efficientnet_lite0"
    stage1_input: int = 128
    stage1_head: str = "integral"      # integral | fc | grid
    refiner_input: int = 48
    refiner_blocks: int = 8            # EfficientNet-Lite0 blocks kept in the refiner backbone
    head_channels: int = 64
    sigma: float = 1.5                 # refiner crop side = sigma x torso diameter (the paper: 2.0 on LSP)
    num_stages: int = 3
    # Inference-time decoding (no retraining): soft-argmax over the cells within this many of each heatmap's
    # peak (0 = the whole map, as trained), and each stage averaging its heatmaps with the mirrored crop's.
    decode_window: int = 0
    refiner_decode_window: int = 0
    stage1_flip: bool = False
    refiner_flip: bool = False
    # With stage1_flip: more input sizes at which stage 1 also reads the crop (and its mirror), resized in the
    # graph; their heatmaps are resized to the main grid and averaged in. () = the main size only.
    stage1_scales: tuple = ()
    joint_names: tuple = JOINT_NAMES
    # Stage 1 also says whether a person is there (presence) and which joints lie inside the picture.
    person_head: bool = False
    # Below this presence a crop is "no person"; a joint below `inside_threshold` is "not in the picture".
    presence_threshold: float = 0.5
    inside_threshold: float = 0.5
    # A person that only a closer second look finds (the first box said nobody) must reach this presence: the
    # second look is centred on whatever the first one saw, a person or not.
    second_look_threshold: float = 0.9
    # Joint confidence = sigmoid(c0 + c1 log(spread) + c2 log(0.02 + stage disagreement)), both in torso
    # diameters: fitted after training as the probability that the joint is within 0.2 torso diameters.
    confidence: tuple = (-1.9, -1.0, 0.0)
    # Per refinement stage, per joint: the share of the refiner's displacement applied (fitted on training
    # images after training; empty = 1 everywhere). A refiner that only sees a small crop can make joints
    # that need the whole body (hips) worse; the gain lets the cascade keep the earlier estimate there.
    refine_gain: tuple = ()
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["joint_names"] = list(self.joint_names)
        d["mean"], d["std"], d["confidence"] = list(self.mean), list(self.std), list(self.confidence)
        d["stage1_scales"] = list(self.stage1_scales)
        d["refine_gain"] = [list(g) for g in self.refine_gain]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        d = dict(d)
        for key in ("joint_names", "mean", "std", "confidence", "stage1_scales"):
            if key in d:
                d[key] = tuple(d[key])
        if "refine_gain" in d:
            d["refine_gain"] = tuple(tuple(float(v) for v in g) for g in d["refine_gain"])
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def parse_sizes(text: str) -> tuple:
    """The `--scales` option: '224,160' -> (224, 160); '' or 'none' -> (). ValueError with a one-line message."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        sizes = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"--scales takes input sizes like '224,160' or 'none', not {text!r}") from None
    if any(v % 32 for v in sizes):
        raise ValueError(f"--scales: each size must be a multiple of 32 (the backbone's stride), not {text!r}")
    return sizes
