"""Training settings: plain values for the run, and the model's architecture and decoding held by reference.

The command line and recipes name settings flat (`epochs`, `stage1_input`, `decode_window`, ...):
`TrainConfig.from_settings` sorts each name into the part that declares it, `settings()` gives them back flat
(recorded in every checkpoint the run writes). The calibration is not a setting: training fits it.
"""
from __future__ import annotations

import dataclasses
import math

from pose_track.engines.config import Architecture, Calibration, Decoding, ModelConfig
from pose_track.engines.joints import JOINT_NAMES


def _new_architecture() -> Architecture:
    return Architecture(person_head=True)    # new runs learn presence and in-picture


@dataclasses.dataclass
class TrainConfig:
    data: str = "../shared/data"
    out: str = "runs/main"
    epochs: float = 16              # stage 1 passes over the training set
    refiner_epochs: float = 2       # passes per refiner (each image gives a crop per valid joint)
    batch_size: int = 32
    refiner_batch_images: int = 12
    lr: float = 2e-3
    refiner_lr: float = 2e-3
    weight_decay: float = 1e-4
    loss: str = "l1"
    heatmap_weight: float = 0.0     # weight of the heatmap shape loss (integral heads; 0 = coordinates only)
    refit: bool = False             # a finished run: redo the fits made after training (gains, confidence)
    fit_gains: bool = True          # fit each refiner's gain on training images; False: its whole displacement
    init_from: str | list | None = None   # checkpoint(s) whose matching weights start a fresh run; several: their mean
    clean_labels: str | None = None  # engine bundle or checkpoint whose answers repair crowd labels (label_cleaning)
    clean_max_error: float = 0.75   # crowd-labelled joints this many torso diameters from its answer: out of the loss
    teacher: str | None = None      # checkpoint whose stage 1 the new stage 1 also follows on whole-person crops
    teacher_weight: float = 0.0     # weight of that loss (L1 to the teacher's joints) beside the label loss
    person_head_only: bool = False  # stage 1 trains its person head alone: the backbone and the joint head keep
    #                                 the weights (and BatchNorm statistics) they start from
    max_images: int | None = None   # a subset of the training set (tiny runs)
    val_images: int = 200           # LSP test images for the monitoring curve (no model selection)
    bank_images: int = 2000         # training images used to measure a stage's error distribution
    cache_size: int = 224
    cache_dir: str | None = "cache"   # None: keep the crops in memory only
    pretrained: bool = True
    threads: int = 2
    seed: int = 0
    negative_share: float = 0.35    # share of stage-1 crops with nobody framed (training.framing)
    truncate_share: float = 0.3     # share of person crops cut as cameras cut bodies
    edge_share: float = 0.0         # share of the cut crops that end at the cut (the picture's edge)
    portrait_share: float = 0.0     # share of person crops framed as a desk camera frames a person (upright, cut
    #                                 between chest and thighs, the upper body filling the crop)
    sharpness_share: float = 0.0    # share of person crops whose sharpness is changed so that it does not tell a cut
    #                                 body from a whole one (training.framing.mix_sharpness)
    glare_share: float = 0.0        # share of crops, with a person or nobody, veiled by glare (training.framing.veil)
    blur_max: int = 13              # the longest motion blur of the real-video augmentation, pixels of the crop
    cut_shares: list | None = None  # how often each kind of cut is drawn (training.framing.CUTS's order); None: CUTS's
    real_video: bool = True         # tracker-like box jitter, rotation to 45 degrees, blur, noise, compression
    person_weight: float = 0.1      # weight of the presence and in-picture losses beside the coordinate loss
    holdout: int = 500              # last LSP-extended images: held out of training, the validation split
    scene_images: int = 3000        # whole training images kept for the crops with nobody framed
    architecture: Architecture = dataclasses.field(default_factory=_new_architecture)
    decoding: Decoding = dataclasses.field(default_factory=Decoding)

    @classmethod
    def from_settings(cls, settings: dict) -> "TrainConfig":
        """Flat setting names, each the run's own or a field of the architecture or the decoding; ValueError
        naming those that are none of these, SettingError for a value training cannot use."""
        unknown = sorted(set(settings) - set(setting_names()))
        if unknown:
            raise ValueError(f"unknown settings {', '.join(unknown)}")
        settings = checked(settings)
        own = {k: v for k, v in settings.items() if k in _run_names()}
        base = cls()
        arch, decoding = base.architecture.to_dict(), base.decoding.to_dict()
        arch.update({k: v for k, v in settings.items() if k in arch})
        decoding.update({k: v for k, v in settings.items() if k in decoding})
        return cls(**own, architecture=Architecture.from_dict(arch), decoding=Decoding.from_dict(decoding))

    def settings(self) -> dict:
        """Every setting by its flat name, JSON-ready: what `from_settings` reads back."""
        own = {name: getattr(self, name) for name in _run_names()}
        return {**own, **self.architecture.to_dict(), **self.decoding.to_dict()}

    def model_config(self, calibration: Calibration | None = None) -> ModelConfig:
        """The model this run trains (copies of its parts), with `calibration` or the defaults until fitted."""
        return ModelConfig(dataclasses.replace(self.architecture), dataclasses.replace(self.decoding),
                           calibration or Calibration())


def _run_names() -> tuple:
    return tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name not in ("architecture", "decoding"))


def setting_names() -> tuple:
    """Every name a recipe or the command line may set."""
    return _run_names() + Architecture.field_names() + Decoding.field_names()


class SettingError(ValueError):
    """A setting's value that training cannot use; the message names the setting and what it takes."""

    def __init__(self, key: str, value, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key} takes {allowed}, not {shown(value)}")


def shown(value) -> str:
    """A setting's value as a recipe (JSON) writes it."""
    import json

    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _whole(low: int, high: int | None = None, step: int = 1, none: bool = False):
    def ok(v):
        return ((none and v is None) or (isinstance(v, int) and not isinstance(v, bool) and v >= low
                                         and (high is None or v <= high) and v % step == 0))
    kind = f"a multiple of {step}" if step > 1 else "a whole number"
    return ok, f"{kind} from {low}" + (f" to {high}" if high is not None else " up") + (" or null" if none else "")


def _real(low: float, high: float | None = None, above: bool = False):
    def ok(v):
        return _is_number(v) and (v > low if above else v >= low) and (high is None or v <= high)
    if high is not None:
        return ok, f"a number from {low:g} to {high:g}"
    return ok, f"a finite number {'above' if above else 'from'} {low:g}" + ("" if above else " up")


def _choice(*names):
    return (lambda v: isinstance(v, str) and v in names), " or ".join(f'"{n}"' for n in names)


def _numbers(count: int, positive: bool = False):
    def ok(v):
        return (isinstance(v, (list, tuple)) and len(v) == count
                and all(_is_number(x) and (x > 0 or not positive) for x in v))
    return ok, f"{count} finite numbers" + (" above 0" if positive else "")


_FLAG = (lambda v: isinstance(v, bool)), "true or false"
_PATH = (lambda v: isinstance(v, str) and v != ""), "a path"
_PATH_OR_NONE = (lambda v: v is None or (isinstance(v, str) and v != "")), "a path or null"
_SHARE = _real(0, 1)

# What each setting takes, but those of _READ.
_RULES = {
    "data": _PATH, "out": _PATH, "epochs": _real(0), "refiner_epochs": _real(0), "batch_size": _whole(1),
    "refiner_batch_images": _whole(1), "lr": _real(0, above=True), "refiner_lr": _real(0, above=True),
    "weight_decay": _real(0), "loss": _choice("l1", "l2"), "heatmap_weight": _real(0), "refit": _FLAG,
    "fit_gains": _FLAG, "clean_labels": _PATH_OR_NONE, "clean_max_error": _real(0, above=True),
    "teacher": _PATH_OR_NONE, "teacher_weight": _real(0), "person_head_only": _FLAG,
    "max_images": _whole(1, none=True), "val_images": _whole(1), "bank_images": _whole(1), "cache_size": _whole(32),
    "cache_dir": _PATH_OR_NONE, "pretrained": _FLAG, "seed": _whole(0),
    "threads": _whole(1, 1024),     # as commands.model.MAX_THREADS: more is a typo, not a machine's cores
    "negative_share": _SHARE, "truncate_share": _SHARE, "edge_share": _SHARE, "portrait_share": _SHARE,
    "sharpness_share": _SHARE, "glare_share": _SHARE, "blur_max": _whole(3, 192), "real_video": _FLAG, "person_weight": _real(0),
    "holdout": _whole(0), "scene_images": _whole(1),
    "backbone": _choice("efficientnet_lite0"), "stage1_input": _whole(32, step=32),
    "stage1_head": _choice("integral", "fc", "grid"), "refiner_input": _whole(16),
    # Past 11 blocks the refiner's backbone ends at stride 32, where its head cannot fuse.
    "refiner_blocks": _whole(1, 11), "head_channels": _whole(1), "sigma": _real(0, above=True),
    "num_stages": _whole(1),
    "joint_names": ((lambda v: isinstance(v, (list, tuple)) and tuple(v) == JOINT_NAMES),
                    f"the {len(JOINT_NAMES)} LSP joint names in pose-track's order"),
    "person_head": _FLAG, "person_conv": _whole(0), "mean": _numbers(3), "std": _numbers(3, positive=True),
    "decode_window": _whole(0), "refiner_decode_window": _whole(0), "stage1_flip": _FLAG, "refiner_flip": _FLAG,
    "presence_threshold": _SHARE, "inside_threshold": _SHARE, "second_look_threshold": _SHARE,
}


def _init_from(value):
    if value is None or (isinstance(value, str) and value):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(p, str) and p for p in value):
        return list(value) or None
    raise SettingError("init_from", value, "a checkpoint path, a list of them, or null")


def _cut_shares(value):
    if value is None:
        return None
    shares = value.split(",") if isinstance(value, str) else value
    try:
        shares = [float(v) if isinstance(v, str) else v for v in shares]
    except (TypeError, ValueError):
        shares = None
    if not (isinstance(shares, (list, tuple)) and len(shares) == 4 and all(_is_number(v) and v >= 0 for v in shares)
            and sum(shares) > 0):
        raise SettingError("cut_shares", value, "four shares, waist-up,chest-up,knees-up,side, e.g. 0.3,0.4,0.1,0.2")
    return [float(v) for v in shares]


def _stage1_scales(value):
    from pose_track.engines.config import parse_sizes

    sizes = value
    if isinstance(value, str):
        try:
            sizes = parse_sizes(value)
        except ValueError:
            sizes = None
    if not (isinstance(sizes, (list, tuple)) and all(_whole(32, step=32)[0](v) for v in sizes)):
        raise SettingError("stage1_scales", value, "input sizes, each a multiple of 32, e.g. 224,160 (none: no more "
                                                   "sizes)")
    return tuple(sizes)


# Settings also given as the command line writes them: each read into the form training uses.
_READ = {"init_from": _init_from, "cut_shares": _cut_shares, "stage1_scales": _stage1_scales}


def checked(settings: dict) -> dict:
    """`settings` with init_from, cut_shares and stage1_scales in the form training reads; SettingError for the
    first value training cannot use."""
    out = dict(settings)
    for key, value in settings.items():
        if key in _READ:
            out[key] = _READ[key](value)
            continue
        ok, allowed = _RULES[key]
        if not ok(value):
            raise SettingError(key, value, allowed)
    teacher, weight = out.get("teacher"), out.get("teacher_weight", 0.0)
    if teacher and not weight:
        raise SettingError("teacher_weight", weight, "a weight above 0 with a teacher (e.g. 3)")
    if weight and not teacher:
        raise SettingError("teacher", teacher, "a checkpoint with a teacher weight above 0")
    if out.get("person_head_only"):
        if not out.get("person_head", True):   # new runs have one (_new_architecture)
            raise SettingError("person_head_only", True, "false without a person head (person_head: true)")
        if weight:
            raise SettingError("person_head_only", True, "false with a teacher: the joints do not train")
    # The refiner's input must divide into the stride its backbone ends at (its heatmap's cells, mirrored).
    blocks = out.get("refiner_blocks", Architecture.refiner_blocks)
    stride = _REFINER_STRIDE.get(blocks, 16)
    if out.get("refiner_input", Architecture.refiner_input) % stride:
        raise SettingError("refiner_input", out["refiner_input"], f"a multiple of {stride} with {blocks} refiner blocks")
    return out


# The stride of the last EfficientNet-Lite0 block kept, by the refiner's number of blocks (from 6 up: 16).
_REFINER_STRIDE = {1: 2, 2: 4, 3: 4, 4: 8, 5: 8}


# A seconds-long run for tests; flat setting names, as a recipe's.
TINY = dict(epochs=1, refiner_epochs=1, batch_size=8, refiner_batch_images=4, max_images=24, val_images=8,
            bank_images=16, stage1_input=64, refiner_input=32, refiner_blocks=5, pretrained=False, cache_dir=None,
            holdout=4, scene_images=12)
