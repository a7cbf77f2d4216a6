"""Training settings: plain values for the run, and the model's architecture and decoding held by reference.

The command line and recipes name settings flat (`epochs`, `stage1_input`, `decode_window`, ...):
`TrainConfig.from_settings` sorts each name into the part that declares it, `settings()` gives them back flat
(recorded in every checkpoint the run writes). The calibration is not a setting: training fits it.
"""
from __future__ import annotations

import dataclasses

from pose_track.engines.config import Architecture, Calibration, Decoding, ModelConfig


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
        naming those that are none of these."""
        unknown = sorted(set(settings) - set(setting_names()))
        if unknown:
            raise ValueError(f"unknown settings {', '.join(unknown)}")
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


# A seconds-long run for tests; flat setting names, as a recipe's.
TINY = dict(epochs=1, refiner_epochs=1, batch_size=8, refiner_batch_images=4, max_images=24, val_images=8,
            bank_images=16, stage1_input=64, refiner_input=32, refiner_blocks=5, pretrained=False, cache_dir=None,
            holdout=4, scene_images=12)
