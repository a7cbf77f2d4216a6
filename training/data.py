"""A run's training data: the labelled sets, the cached person crops the networks train on, whole scenes for
the crops with nobody framed, and the monitoring set."""
from __future__ import annotations

import dataclasses

import numpy as np

from pose_track.engines.joints import NUM_JOINTS
from .augment import EVAL_BOX_SCALE
from .cache import build_cache
from .datasets import PoseSet, lsp_test, resolve_data_root, training_set
from .progress import start_bar
from .settings import TrainConfig


def load_sets(cfg: TrainConfig) -> tuple:
    """(training set, monitoring set): the monitoring set is the held-out split; for a folder without
    LSP-extended, LSP test; for a small custom set, the training set itself."""
    train_set, monitor = training_set(cfg.data, cfg.max_images, holdout=cfg.holdout)
    if not len(monitor):
        lsp_root, _ = resolve_data_root(cfg.data)
        monitor = lsp_test(lsp_root)
    if not len(monitor):
        monitor = train_set
    return train_set, monitor.subset(np.arange(min(cfg.val_images, len(monitor))))


@dataclasses.dataclass
class TrainingData:
    train_set: PoseSet
    val_set: PoseSet
    images: np.ndarray          # (N, size, size, 3) RGB person-centred crops (training.cache)
    joints: np.ndarray          # (N, 14, 2) in crop pixels
    valid: np.ndarray           # (N, 14)
    scenes: object = None       # framing.SceneBank for the crops with nobody framed, or None

    def sample(self, count: int, seed: int) -> np.ndarray:
        """`count` images drawn without replacement (all when fewer)."""
        rng = np.random.default_rng(seed)
        return rng.choice(len(self.images), min(count, len(self.images)), replace=False)

    def eval_boxes(self, idx) -> np.ndarray:
        """(len(idx), 3) person boxes around each image's valid joints, as the cascade is evaluated with."""
        boxes = []
        for i in idx:
            valid = self.valid[i] if self.valid[i].any() else np.ones(NUM_JOINTS, bool)
            pts = self.joints[i][valid]
            lo, hi = pts.min(0), pts.max(0)
            boxes.append([*(lo + hi) / 2.0, max(hi - lo) * EVAL_BOX_SCALE])
        return np.array(boxes, np.float32)


def load_training_data(cfg: TrainConfig, train_set: PoseSet, val_set: PoseSet, person_head: bool,
                       progress=None, log=print) -> TrainingData:
    n = len(train_set)
    log(f"caching {n} training crops at {cfg.cache_size} px (once)")
    start_bar(progress, "caching", n)
    images, joints = build_cache(train_set, cfg.cache_size, cfg.cache_dir, progress=progress)
    scenes = None
    if person_head and cfg.negative_share > 0:
        from .framing import SceneBank
        count = min(cfg.scene_images, n)
        log(f"loading {count} whole training images for crops with nobody framed")
        start_bar(progress, "scenes", count)
        scenes = SceneBank.load(train_set, count, max_side=400, seed=cfg.seed, progress=progress)
    return TrainingData(train_set, val_set, images, joints, train_set.valid, scenes)
