"""The training loop: stage 1, then each refiner on simulated previous-stage estimates. Resumable.

Phases run in order: stage 1; for s = 2..S: measure stage s-1's errors on training images, train refiner s.
The run directory holds `checkpoint.pt` (overwritten, resumable), `curves.png` and `history.json`.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import queue
import threading
import time

import numpy as np

from pose_track.engines.cascade import Cascade
from pose_track.engines.checkpoint import CheckpointError, build_model, load_checkpoint, save_checkpoint
from pose_track.engines.config import ModelConfig
from pose_track.engines.geometry import torso_diameters
from pose_track.engines.joints import NUM_JOINTS
from .augment import EVAL_BOX_SCALE, colour_jitter, refiner_samples, stage1_sample
from .cache import build_cache
from .curves import write_curves
from .datasets import lsp_test, resolve_data_root, training_set
from .evaluate import predict_each, predict_set
from .losses import LOSSES, heatmap_kl


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
    stage1_head: str = "integral"
    stage1_input: int = 128
    refiner_input: int = 48
    refiner_blocks: int = 8
    sigma: float = 1.5
    num_stages: int = 3
    decode_window: int = 0
    refiner_decode_window: int = 0
    stage1_flip: bool = False
    refiner_flip: bool = False
    stage1_scales: tuple = ()
    person_head: bool = True        # stage 1 also learns presence and per-joint in-picture
    negative_share: float = 0.35    # share of stage-1 crops with nobody framed (training.framing)
    truncate_share: float = 0.3     # share of person crops cut as cameras cut bodies
    real_video: bool = True         # tracker-like box jitter, rotation to 45 degrees, blur, noise, compression
    person_weight: float = 0.1      # weight of the presence and in-picture losses beside the coordinate loss
    holdout: int = 500              # last LSP-extended images: held out of training, the validation split
    scene_images: int = 3000        # whole training images kept for the crops with nobody framed

    def model_config(self) -> ModelConfig:
        return ModelConfig(stage1_head=self.stage1_head, stage1_input=self.stage1_input,
                           refiner_input=self.refiner_input, refiner_blocks=self.refiner_blocks,
                           sigma=self.sigma, num_stages=self.num_stages, decode_window=self.decode_window,
                           refiner_decode_window=self.refiner_decode_window, stage1_flip=self.stage1_flip,
                           refiner_flip=self.refiner_flip, stage1_scales=tuple(self.stage1_scales),
                           person_head=self.person_head)


FITTED_AFTER_TRAINING = ("confidence", "refine_gain")
# How the trained networks are run, not what they learned: a resumed run may change these freely.
INFERENCE_ONLY = ("decode_window", "refiner_decode_window", "stage1_flip", "refiner_flip", "stage1_scales",
                  "presence_threshold", "inside_threshold")

TINY = dict(epochs=1, refiner_epochs=1, batch_size=8, refiner_batch_images=4, max_images=24, val_images=8,
            bank_images=16, stage1_input=64, refiner_input=32, refiner_blocks=5, pretrained=False, cache_dir=None,
            holdout=4, scene_images=12)


class _Prefetch:
    """Builds batches in a thread (OpenCV releases the GIL) while torch trains on the previous one."""

    def __init__(self, make_batch, steps: int, depth: int = 3):
        self.q = queue.Queue(depth)
        self.thread = threading.Thread(target=self._work, args=(make_batch, steps), daemon=True)
        self.thread.start()

    def _work(self, make_batch, steps):
        for step in range(steps):
            self.q.put(make_batch(step))
        self.q.put(None)

    def __iter__(self):
        while (item := self.q.get()) is not None:
            yield item


def _to_tensor(crops: np.ndarray):
    import torch
    return torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 3, 1, 2))).float()


def _lr_at(step: int, total: int, base: float) -> float:
    warmup = min(200, total // 10)
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def _person_loss(person_logits, presence, inside, inside_known):
    """Binary cross-entropy of presence (every crop) and of in-picture (labelled joints of person crops)."""
    import torch.nn.functional as F

    presence_loss = F.binary_cross_entropy_with_logits(person_logits[:, 0], presence)
    per_joint = F.binary_cross_entropy_with_logits(person_logits[:, 1:], inside, reduction="none")
    return presence_loss + (per_joint * inside_known).sum() / inside_known.sum().clamp(min=1)


class Trainer:
    def __init__(self, cfg: TrainConfig, progress=None, log=print):
        import torch

        self.cfg, self.progress, self.log = cfg, progress, log
        torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        os.makedirs(cfg.out, exist_ok=True)
        self.ckpt_path = os.path.join(cfg.out, "checkpoint.pt")
        self.model_cfg = cfg.model_config()
        self.train_set, held_out = training_set(cfg.data, cfg.max_images, holdout=cfg.holdout)
        # Monitored on the held-out split; a folder without LSP-extended on LSP test, a small custom set on itself.
        monitor = held_out
        if not len(monitor):
            lsp_root, _ = resolve_data_root(cfg.data)
            monitor = lsp_test(lsp_root)
        if not len(monitor):
            monitor = self.train_set
        self.val_set = monitor.subset(np.arange(min(cfg.val_images, len(monitor))))
        self.scenes = None
        self.state = {"phase": 0, "epoch_step": 0, "history": [], "banks": {}}
        self.model = None
        if os.path.isfile(self.ckpt_path):
            payload = load_checkpoint(self.ckpt_path)
            state = payload["train_state"]
            saved, wanted = payload["config"].to_dict(), self.model_cfg.to_dict()
            refiner_keys = {"refiner_input", "refiner_blocks", "sigma", "num_stages"}
            changed = {k for k in wanted if saved[k] != wanted[k] and k not in FITTED_AFTER_TRAINING + INFERENCE_ONLY}
            refiners_untouched = state["phase"] <= 1 or (state["phase"] == 2 and state["epoch_step"] == 0)
            if changed and not (changed <= refiner_keys and refiners_untouched):
                raise CheckpointError(f"{self.ckpt_path} was trained with another model config "
                                 f"({', '.join(sorted(changed))}); use another --out")
            if changed:
                # Refiners not trained yet: keep stage 1, start the refiners afresh with the new settings.
                from pose_track.engines.model import build_stages
                self.model = build_stages(self.model_cfg)
                self.model[0].load_state_dict(payload["stages"][0])
                for stage in list(self.model)[1:]:
                    if cfg.pretrained:
                        stage.backbone.load_imagenet()
                self.log(f"refiner settings changed ({', '.join(sorted(changed))}): refiners start afresh")
            else:
                for key in INFERENCE_ONLY:
                    setattr(payload["config"], key, getattr(self.model_cfg, key))
                self.model = build_model(payload)
            for key in FITTED_AFTER_TRAINING:
                setattr(self.model_cfg, key, getattr(payload["config"], key))
            self.state = state
            if cfg.refit and self.state["phase"] > self.fit_phase:
                self.state["phase"] = self.fit_phase
            self.log(f"resuming {self.ckpt_path}: phase {self.state['phase']}, step {self.state['epoch_step']}")
        else:
            from pose_track.engines.model import build_stages
            self.model = build_stages(self.model_cfg)
            if cfg.pretrained:
                for stage in self.model:
                    stage.backbone.load_imagenet()
            if cfg.init_from:
                self._init_from([cfg.init_from] if isinstance(cfg.init_from, str) else list(cfg.init_from))
        # Loaded now, so that a reference that does not load fails before the crops are cached; a resumed run
        # keeps its fixes in the train state and needs no reference at all.
        self.reference = None
        if cfg.clean_labels and "label_fixes" not in self.state:
            self.reference = self._load_reference(cfg.clean_labels)

    @staticmethod
    def _load_reference(path: str):
        from pose_track.engines.backends import load_cascade
        from pose_track.engines.bundle import BundleError

        try:
            return load_cascade(path)
        except (BundleError, CheckpointError) as exc:
            raise CheckpointError(f"cannot load the model: {exc}") from None

    def _init_from(self, paths: list):
        """Start from other runs' weights wherever the tensors fit (a new input size keeps every weight). Several
        checkpoints: the mean of their weights (runs of one lineage, e.g. a run and its fine-tune: a "model soup")."""
        import torch

        payloads = [load_checkpoint(p) for p in paths]
        for i, stage in enumerate(self.model):
            own = stage.state_dict()
            saved = [p["stages"][i] for p in payloads if i < len(p["stages"])]
            fits = {}
            for k, v in own.items():
                found = [s[k] for s in saved if k in s and s[k].shape == v.shape]
                if found:
                    mean = torch.stack([t.float() for t in found]).mean(0) if v.is_floating_point() else found[0]
                    fits[k] = mean.to(v.dtype)
            own.update(fits)
            stage.load_state_dict(own)
            self.log(f"stage {i + 1}: {len(fits)} of {len(own)} tensors from {', '.join(paths)}")
            if not fits and saved:
                raise CheckpointError(f"{', '.join(paths)}: no weights fit stage {i + 1} of this model config")

    @property
    def fit_phase(self) -> int:
        """The phase after every network is trained: fit the refinement gains and the confidence."""
        return 1 + 2 * (self.model_cfg.num_stages - 1)

    # -- data -----------------------------------------------------------------------------------------
    def _load_cache(self):
        n = len(self.train_set)
        self.log(f"caching {n} training crops at {self.cfg.cache_size} px (once)")
        self._start_bar("caching", n)
        images, joints = build_cache(self.train_set, self.cfg.cache_size, self.cfg.cache_dir,
                                     progress=self.progress)
        self.images, self.joints, self.valid = images, joints, self.train_set.valid
        if self.model_cfg.person_head and self.cfg.negative_share > 0:
            from .framing import SceneBank
            count = min(self.cfg.scene_images, n)
            self.log(f"loading {count} whole training images for crops with nobody framed")
            self._start_bar("scenes", count)
            self.scenes = SceneBank.load(self.train_set, count, max_side=400, seed=self.cfg.seed,
                                         progress=self.progress)
        if self.cfg.clean_labels:
            self._clean_labels()

    def _clean_labels(self):
        """Repair crowd labels against a reference model's answers, once per run (kept in the train state)."""
        from .label_cleaning import apply_fixes, find_label_errors

        fixes = self.state.get("label_fixes")
        if fixes is None:
            idx = np.flatnonzero(self.train_set.crowd)
            self._start_bar("checking crowd labels", len(idx))
            pred = np.zeros((len(self.images), NUM_JOINTS, 2), np.float32)
            results = predict_each(self.reference, zip((self.images[i] for i in idx), self._eval_boxes(idx)), rgb=True,
                                   progress=self.progress)
            for i, result in zip(idx, results):
                pred[i] = result.joints[0]
            swapped, dropped = find_label_errors(pred, self.joints, self.valid, self.train_set.crowd,
                                                 self.cfg.clean_max_error)
            fixes = {"swapped": np.flatnonzero(swapped).tolist(), "dropped": np.argwhere(dropped).tolist()}
            self.state["label_fixes"] = fixes
        swapped = np.zeros(len(self.images), bool)
        swapped[fixes["swapped"]] = True
        dropped = np.zeros_like(self.valid)
        dropped[tuple(np.asarray(fixes["dropped"], int).reshape(-1, 2).T)] = True
        self.joints, self.valid = apply_fixes(self.joints, self.valid, swapped, dropped)
        crowd_joints = max(int(self.train_set.valid[self.train_set.crowd].sum()), 1)
        self.log(f"crowd labels: {swapped.sum()} images left/right swapped, {dropped.sum()} joints "
                 f"({dropped.sum() / crowd_joints:.1%}) left out of the loss")

    def _start_bar(self, label: str, total: int):
        if self.progress is not None and hasattr(self.progress, "start"):
            self.progress.start(label, total)

    # -- checkpoints ----------------------------------------------------------------------------------
    def _save(self, optimizer=None):
        self.state["optimizer"] = optimizer.state_dict() if optimizer is not None else None
        trained = (self.state["phase"] + 1) // 2        # phase 1 = stage 1 done, phase 3 = stage 2 done, ...
        save_checkpoint(self.ckpt_path, self.model_cfg, [m.state_dict() for m in self.model],
                        trained_stages=max(1, min(trained, self.model_cfg.num_stages)), train_state=self.state,
                        train_config=dataclasses.asdict(self.cfg))

    def _record(self, **entry):
        self.state["history"].append(entry)
        with open(os.path.join(self.cfg.out, "history.json"), "w") as f:
            json.dump(self.state["history"], f, indent=1)
        loss, metric = {}, {}
        for h in self.state["history"]:
            key = f"stage {h['stage']}"
            if "loss" in h:
                loss.setdefault(key, []).append((h["epoch"], h["loss"]))
            if "val_pck" in h:
                metric.setdefault(key, []).append((h["epoch"], h["val_pck"]))
        write_curves(os.path.join(self.cfg.out, "curves.png"), loss, metric)

    # -- evaluation helpers ---------------------------------------------------------------------------
    def cascade(self, stages: int):
        from pose_track.engines.torch_backend import TorchBackend
        return Cascade(TorchBackend(self.model), self.model_cfg, stages=stages)

    def validate(self, stages: int) -> float:
        from .metrics import pck
        preds = predict_set(self.cascade(stages), self.val_set)
        self.model.train()
        return float(pck(preds[-1], self.val_set.joints, self.val_set.valid))

    def _error_bank(self, stages: int):
        """Errors of the first `stages` stages on training images, per joint, in torso diameters."""
        idx = self._training_sample(stages)
        self._start_bar(f"stage {stages} errors", len(idx))
        errors = [[] for _ in range(NUM_JOINTS)]
        results = predict_each(self.cascade(stages), zip((self.images[i] for i in idx), self._eval_boxes(idx)),
                               rgb=True, progress=self.progress)
        for i, result in zip(idx, results):
            pred = result.joints[0]
            diam = float(torso_diameters(self.joints[i][None])[0])
            if diam < 1:
                continue
            for j in np.flatnonzero(self.valid[i]):
                errors[j].append((pred[j] - self.joints[i][j]) / diam)
        self.model.train()
        bank = [np.array(e, np.float32) if e else np.zeros((1, 2), np.float32) for e in errors]
        med = [float(np.median(np.linalg.norm(b, axis=1))) for b in bank]
        self.log(f"stage {stages} median error per joint (torso diameters): " + " ".join(f"{m:.2f}" for m in med))
        return bank

    def _training_sample(self, seed_offset: int) -> np.ndarray:
        """`bank_images` training images drawn without replacement; one seed offset per use."""
        rng = np.random.default_rng(self.cfg.seed + seed_offset)
        return rng.choice(len(self.images), min(self.cfg.bank_images, len(self.images)), replace=False)

    def _stage1_crop(self, i: int, size: int, rng):
        """A stage-1 training crop of image i, or, for `negative_share` of draws with a person head, a crop with
        nobody framed in it: (crop, targets, mask, inside, inside_known, presence)."""
        cfg = self.cfg
        if self.scenes is not None and rng.random() < cfg.negative_share:
            from .framing import background_crop, degrade, unframed_crop
            found = background_crop(self.scenes, size, rng) if rng.random() < 0.6 else None
            crop = unframed_crop(self.scenes, size, rng) if found is None else found[0]
            if cfg.real_video:
                crop = degrade(crop, rng)
            zeros = np.zeros(NUM_JOINTS, np.float32)
            return crop, np.zeros((NUM_JOINTS, 2), np.float32), zeros, zeros, zeros, np.float32(0)
        truncate = cfg.truncate_share if self.model_cfg.person_head else 0.0
        crop, target, mask, inside, known = stage1_sample(self.images[i], self.joints[i], self.valid[i], size, rng,
                                                          truncate_p=truncate, real_video=cfg.real_video)
        return crop, target, mask, inside, known, np.float32(1)

    def _eval_boxes(self, idx):
        boxes = []
        for i in idx:
            valid = self.valid[i] if self.valid[i].any() else np.ones(NUM_JOINTS, bool)
            pts = self.joints[i][valid]
            lo, hi = pts.min(0), pts.max(0)
            boxes.append([*(lo + hi) / 2.0, max(hi - lo) * EVAL_BOX_SCALE])
        return np.array(boxes, np.float32)

    def _fit_refine_gains(self):
        """Stage by stage: how much of each refiner's displacement helps each joint on training images."""
        from .refine_gain import best_gains, collect_stage

        idx = self._training_sample(77)
        gains = [[1.0] * NUM_JOINTS for _ in range(self.model_cfg.num_stages - 1)]
        for stage in range(2, self.model_cfg.num_stages + 1):
            self.model_cfg.refine_gain = tuple(tuple(g) for g in gains)
            self._start_bar(f"stage {stage} gains", len(idx))
            before, after = collect_stage(self.cascade(stage), (self.images[i] for i in idx), self._eval_boxes(idx),
                                          progress=self.progress)
            gains[stage - 2] = best_gains(before, after - before, self.joints[idx], self.valid[idx]).tolist()
            self.log(f"stage {stage} refinement gain per joint: " + " ".join(f"{g:.2f}" for g in gains[stage - 2]))
        self.model.train()
        self.model_cfg.refine_gain = tuple(tuple(g) for g in gains)
        self.state["refine_gain"] = gains

    def _fit_confidence(self):
        from .confidence import fit_confidence

        idx = self._training_sample(99)
        self._start_bar("confidence", len(idx))
        coefs, stats = fit_confidence(self.cascade(self.model_cfg.num_stages), (self.images[i] for i in idx),
                                      self.joints[idx], self.valid[idx], self._eval_boxes(idx),
                                      progress=self.progress)
        self.model.train()
        self.model_cfg.confidence = coefs
        self.state["confidence"] = {"coefficients": coefs, **stats}
        self.log(f"confidence model {np.round(coefs, 3).tolist()}: {stats}")

    # -- phases ---------------------------------------------------------------------------------------
    def run(self):
        self._load_cache()
        while self.state["phase"] <= self.fit_phase:
            phase = self.state["phase"]
            if phase == self.fit_phase:
                self._fit_refine_gains()
                self._fit_confidence()
                self.state["phase"] += 1
                self._save()
            elif phase == 0:
                self._train_stage(0)
            elif phase % 2 == 1:
                stage = (phase + 1) // 2          # bank of stages 1..stage for refiner stage+1
                self.state["banks"][str(stage)] = [b.tolist() for b in self._error_bank(stage)]
                self.state["phase"] += 1
                self._save()
            else:
                self._train_stage(phase // 2)
        return self.write_release()

    def write_release(self) -> str:
        """model.pt beside the resumable checkpoint: config + weights only (what ships)."""
        path = os.path.join(self.cfg.out, "model.pt")
        save_checkpoint(path, self.model_cfg, [m.state_dict() for m in self.model],
                        trained_stages=self.model_cfg.num_stages, train_config=dataclasses.asdict(self.cfg),
                        history=self.state["history"])
        return path

    def _train_stage(self, stage: int):
        import torch

        cfg = self.cfg
        net = self.model[stage]
        net.train()
        n = len(self.images)
        if stage == 0:
            per_step, epochs, base_lr = cfg.batch_size, cfg.epochs, cfg.lr
        else:
            per_step, epochs, base_lr = cfg.refiner_batch_images, cfg.refiner_epochs, cfg.refiner_lr
            bank = [np.asarray(b, np.float32) for b in self.state["banks"][str(stage)]]
        steps_per_epoch = max(1, n // per_step)
        if epochs <= 0:                 # keep this stage's weights as they are (e.g. --init-from, new fits only)
            self.log(f"stage {stage + 1}: 0 epochs, weights kept")
            self.state["phase"] += 1
            self.state["epoch_step"] = 0
            self._save()
            return
        total = max(1, int(round(epochs * steps_per_epoch)))
        optimizer = torch.optim.AdamW(net.parameters(), lr=base_lr, weight_decay=cfg.weight_decay)
        start = self.state["epoch_step"]
        if start and self.state.get("optimizer"):
            optimizer.load_state_dict(self.state["optimizer"])
        loss_fn = LOSSES[cfg.loss]
        size = self.model_cfg.stage1_input if stage == 0 else self.model_cfg.refiner_input
        rng_seed = cfg.seed * 1000 + stage * 100

        def make_batch(step):
            rng = np.random.default_rng((rng_seed, start + step))
            pick = rng.integers(0, n, per_step)
            if stage == 0:
                out = [self._stage1_crop(i, size, rng) for i in pick]
                crops, targets, masks, inside, inside_known, presence = (np.stack(c) for c in zip(*out))
                person = tuple(torch.from_numpy(a).float() for a in (presence, inside, inside_known))
                return _to_tensor(crops), torch.from_numpy(targets), torch.from_numpy(masks).float(), person
            out = [refiner_samples(self.images[i], self.joints[i], self.valid[i], size, self.model_cfg.sigma,
                                   bank, rng) for i in pick]
            crops, targets, channels, masks = (np.concatenate(c) for c in zip(*out))
            return (_to_tensor(crops), torch.from_numpy(targets), torch.from_numpy(masks).float(),
                    torch.from_numpy(channels))

        self._start_bar(f"stage {stage + 1}", total - start)
        self.log(f"stage {stage + 1}: {total} steps ({epochs} epochs of {steps_per_epoch}), from step {start}")
        running, person_running, count, t0 = 0.0, 0.0, 0, time.time()
        save_every = max(1, min(steps_per_epoch // 2, 600))
        aug_rng = np.random.default_rng(rng_seed + start)
        for k, (x, target, mask, extra) in enumerate(_Prefetch(make_batch, total - start)):
            step = start + k
            for g in optimizer.param_groups:
                g["lr"] = _lr_at(step, total, base_lr)
            colour_jitter(x, aug_rng, white_balance=cfg.real_video)
            coords, _, logits, person_logits = net.train_outputs(x)
            channels = extra if stage > 0 else None
            if channels is not None:       # a refiner: crop k is about joint channels[k]
                pick = torch.arange(len(channels))
                coords, logits = coords[pick, channels][:, None], logits[pick, channels][:, None]
                target, mask = target[:, None], mask[:, None]
            loss = loss_fn(coords, target, mask)
            if cfg.heatmap_weight and logits is not None:      # FC heads have no heatmap
                loss = loss + cfg.heatmap_weight * heatmap_kl(logits, target, mask, net.head.input_size,
                                                              net.head.stride)
            if person_logits is not None:
                person_loss = _person_loss(person_logits, *extra)
                loss = loss + cfg.person_weight * person_loss
                person_running += person_loss.item()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += loss.item(); count += 1
            if self.progress:
                self.progress(1)
            self.state["epoch_step"] = step + 1
            last = step + 1 == total
            if (step + 1) % steps_per_epoch == 0 or last:
                epoch = (step + 1) / steps_per_epoch
                val = self.validate(stage + 1)
                self._record(stage=stage + 1, epoch=round(epoch, 3), step=step + 1, loss=running / max(count, 1),
                             person_loss=person_running / max(count, 1), val_pck=val,
                             images_per_s=count * per_step / (time.time() - t0))
                self.log(f"stage {stage + 1} epoch {epoch:.2f}: loss {running / max(count, 1):.4f} "
                         f"(person {person_running / max(count, 1):.4f}) "
                         f"val PCK@0.2 {val:.3f} ({count * per_step / (time.time() - t0):.0f} samples/s)")
                running, person_running, count, t0 = 0.0, 0.0, 0, time.time()
            if last:
                self.state["phase"] += 1
                self.state["epoch_step"] = 0
                self._save()
            elif (step + 1) % save_every == 0:
                self._save(optimizer)
