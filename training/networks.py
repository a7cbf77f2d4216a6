"""Training one network of the cascade: stage 1 on person crops (and, with a person head, crops with nobody
framed), a refiner on joint crops around simulated estimates of the stages before it.

AdamW with a warm-up and a cosine schedule; batches are built in a thread while torch trains. The phase saves
the run part way (step and optimizer) and validates once per epoch.
"""
from __future__ import annotations

import math
import os
import queue
import threading
import time

import numpy as np

from pose_track.engines.joints import NUM_JOINTS
from .augment import colour_jitter, refiner_samples, stage1_sample
from .fits import torch_cascade
from .evaluate import predict_set
from .losses import LOSSES, heatmap_kl, masked_l1
from .progress import start_bar


class _Prefetch:
    """Builds batches in a thread (OpenCV releases the GIL) while torch trains on the previous one."""

    def __init__(self, make_batch, steps: int, depth: int = 3):
        self.q = queue.Queue(depth)
        self.thread = threading.Thread(target=self._work, args=(make_batch, steps), daemon=True)
        self.thread.start()

    def _work(self, make_batch, steps):
        try:
            for step in range(steps):
                self.q.put(make_batch(step))
        except BaseException as exc:        # raised again in the training loop, which would wait forever
            self.q.put(_Failed(exc))
            return
        self.q.put(None)

    def __iter__(self):
        while (item := self.q.get()) is not None:
            if isinstance(item, _Failed):
                raise item.exc
            yield item


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


def to_tensor(crops: np.ndarray):
    import torch
    return torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 3, 1, 2))).float()


def lr_at(step: int, total: int, base: float) -> float:
    warmup = min(200, total // 10)
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def person_loss(person_logits, presence, inside, inside_known):
    """Binary cross-entropy of presence (every crop) and of in-picture (labelled joints of person crops)."""
    import torch.nn.functional as F

    presence_loss = F.binary_cross_entropy_with_logits(person_logits[:, 0], presence)
    per_joint = F.binary_cross_entropy_with_logits(person_logits[:, 1:], inside, reduction="none")
    return presence_loss + (per_joint * inside_known).sum() / inside_known.sum().clamp(min=1)


def sample_images(valid: np.ndarray, rng, count: int) -> np.ndarray:
    """`count` training images drawn with replacement among those with a labelled joint: an image whose labels a
    repair emptied (label cleaning) would be framed on made-up places and still be taught "a person"."""
    usable = np.flatnonzero(np.asarray(valid).any(1))
    return usable[rng.integers(0, len(usable), count)]


def stage1_crop(data, cfg, person_head: bool, i: int, size: int, rng):
    """A stage-1 training crop of image i, or, for `negative_share` of draws when there are scenes, a crop with
    nobody framed in it: (crop, targets, mask, inside, inside_known, presence)."""
    if data.scenes is not None and rng.random() < cfg.negative_share:
        from .framing import background_crop, degrade, unframed_crop
        found = background_crop(data.scenes, size, rng) if rng.random() < 0.6 else None
        crop = unframed_crop(data.scenes, size, rng) if found is None else found[0]
        if cfg.real_video:
            crop = degrade(crop, rng, glare_p=cfg.glare_share, blur_max=cfg.blur_max)
        zeros = np.zeros(NUM_JOINTS, np.float32)
        return crop, np.zeros((NUM_JOINTS, 2), np.float32), zeros, zeros, zeros, np.float32(0)
    truncate = cfg.truncate_share if person_head else 0.0
    crop, target, mask, inside, known = stage1_sample(data.images[i], data.joints[i], data.valid[i], size, rng,
                                                      truncate_p=truncate, real_video=cfg.real_video,
                                                      edge_p=cfg.edge_share, cut_shares=cfg.cut_shares or None,
                                                      portrait_p=cfg.portrait_share if person_head else 0.0,
                                                      sharpness_p=cfg.sharpness_share if person_head else 0.0,
                                                      glare_p=cfg.glare_share, blur_max=cfg.blur_max)
    return crop, target, mask, inside, known, np.float32(1)


def load_teacher(path: str, model_cfg):
    """Stage 1 of the checkpoint at `path`, frozen, for `teacher_loss`; CheckpointError if it does not load or reads
    another crop size than the model trained."""
    from pose_track.engines.checkpoint import CheckpointError, build_model, load_checkpoint

    if os.path.isdir(path):
        raise CheckpointError(f"--teacher {path} is a folder: give a checkpoint (.pt)")
    try:
        payload = load_checkpoint(path)
    except CheckpointError as exc:
        raise CheckpointError(f"--teacher: {exc}") from None
    size = payload["config"].architecture.stage1_input
    if size != model_cfg.architecture.stage1_input:
        raise CheckpointError(f"--teacher {path} reads {size} px crops, the model trains at "
                              f"{model_cfg.architecture.stage1_input} px: give a teacher of the same stage-1 input")
    return _frozen(build_model(payload, stages=1)[0])


def _frozen(net):
    """`net` in eval mode (BatchNorm statistics kept) with no parameter to train."""
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def teacher_loss(teacher, x, coords, presence, inside, inside_known):
    """L1 from the student's joints to the teacher's on crops that frame a whole person (no labelled joint cut
    off): a teacher that never saw crops with nobody or cut bodies is trusted only where it was trained."""
    import torch

    whole = (presence > 0.5) & ((inside_known * (1 - inside)).sum(1) == 0)
    if not bool(whole.any()):
        return coords.sum() * 0
    with torch.no_grad():
        taught = teacher.train_outputs(x[whole])[0]
    mask = taught.new_ones(taught.shape[:2])
    return masked_l1(coords[whole], taught, mask)


def validate(model, model_cfg, val_set, stages: int) -> float:
    """PCK@0.2 of the first `stages` stages on the monitoring set (a curve, not a model selection)."""
    from .metrics import pck

    preds = predict_set(torch_cascade(model, model_cfg, stages), val_set)
    model.train()
    return float(pck(preds[-1], val_set.joints, val_set.valid))


def _person_head_alone(net, log):
    """Freezes stage 1 but its person head: the backbone's BatchNorm statistics stay those it was trained with (eval
    mode), so the joints it gives do not move; returns the head, the one part to train."""
    _frozen(net)
    net.person.train()
    for p in net.person.parameters():
        p.requires_grad_(True)
    log("stage 1: the person head alone trains (backbone and joint head frozen)")
    return net.person


def train_network(phase, model, model_cfg, data, cfg, state, run, progress=None, log=print, teacher=None):
    """Trains model[phase.stage - 1] for its epochs, from the step `state` says it stopped at; stage 1 also
    follows `teacher` (load_teacher) with cfg.teacher_weight."""
    import torch

    stage = phase.stage - 1
    arch = model_cfg.architecture
    net = model[stage]
    net.train()
    n = len(data.images)
    if stage == 0:
        per_step, epochs, base_lr, size = cfg.batch_size, cfg.epochs, cfg.lr, arch.stage1_input
    else:
        per_step, epochs, base_lr = cfg.refiner_batch_images, cfg.refiner_epochs, cfg.refiner_lr
        size = arch.refiner_input
        bank = [np.asarray(b, np.float32) for b in state.banks[str(phase.stage)]]
    steps_per_epoch = max(1, n // per_step)
    if epochs <= 0:                 # keep this stage's weights as they are (e.g. --init-from, new fits only)
        log(f"stage {stage + 1}: 0 epochs, weights kept")
        return
    total = max(1, int(round(epochs * steps_per_epoch)))
    trained = net
    if stage == 0 and cfg.person_head_only:
        trained = _person_head_alone(net, log)
    optimizer = torch.optim.AdamW(trained.parameters(), lr=base_lr, weight_decay=cfg.weight_decay)
    start, optimizer_state = state.step_of(phase.name)
    if start and optimizer_state:
        optimizer.load_state_dict(optimizer_state)
    loss_fn = LOSSES[cfg.loss]
    rng_seed = cfg.seed * 1000 + stage * 100

    def make_batch(step):
        rng = np.random.default_rng((rng_seed, start + step))
        pick = sample_images(data.valid, rng, per_step)
        if stage == 0:
            out = [stage1_crop(data, cfg, arch.person_head, i, size, rng) for i in pick]
            crops, targets, masks, inside, inside_known, presence = (np.stack(c) for c in zip(*out))
            person = tuple(torch.from_numpy(a).float() for a in (presence, inside, inside_known))
            return to_tensor(crops), torch.from_numpy(targets), torch.from_numpy(masks).float(), person
        out = [refiner_samples(data.images[i], data.joints[i], data.valid[i], size, arch.sigma, bank, rng)
               for i in pick]
        crops, targets, channels, masks = (np.concatenate(c) for c in zip(*out))
        return to_tensor(crops), torch.from_numpy(targets), torch.from_numpy(masks).float(), torch.from_numpy(channels)

    start_bar(progress, f"stage {stage + 1}", total - start)
    passes = f"{epochs:g} epoch{'' if epochs == 1 else 's'}"
    log(f"stage {stage + 1}: {total} steps ({passes} of {steps_per_epoch} steps), from step {start}")
    running, person_running, taught_running, count, t0 = 0.0, 0.0, 0.0, 0, time.time()
    save_every = max(1, min(steps_per_epoch // 2, 600))
    aug_rng = np.random.default_rng(rng_seed + start)
    for k, (x, target, mask, extra) in enumerate(_Prefetch(make_batch, total - start)):
        step = start + k
        for g in optimizer.param_groups:
            g["lr"] = lr_at(step, total, base_lr)
        colour_jitter(x, aug_rng, white_balance=cfg.real_video)
        coords, _, logits, person_logits = net.train_outputs(x)
        if stage > 0:                  # a refiner: crop k is about joint channels[k]
            pick = torch.arange(len(extra))
            coords, logits = coords[pick, extra][:, None], logits[pick, extra][:, None]
            target, mask = target[:, None], mask[:, None]
        loss = loss_fn(coords, target, mask)
        if cfg.heatmap_weight and logits is not None:      # FC heads have no heatmap
            loss = loss + cfg.heatmap_weight * heatmap_kl(logits, target, mask, net.head.input_size, net.head.stride)
        if person_logits is not None:
            p_loss = person_loss(person_logits, *extra)
            loss = loss + cfg.person_weight * p_loss
            person_running += p_loss.item()
        if stage == 0 and teacher is not None:
            t_loss = teacher_loss(teacher, x, coords, *extra)
            loss = loss + cfg.teacher_weight * t_loss
            taught_running += t_loss.item()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running += loss.item(); count += 1
        if progress:
            progress(1)
        if (step + 1) % steps_per_epoch == 0 or step + 1 == total:
            epoch = (step + 1) / steps_per_epoch
            val = validate(model, model_cfg, data.val_set, stage + 1)
            if trained is not net:          # validate left every network in training mode
                net.eval(); trained.train()
            speed = count * per_step / (time.time() - t0)
            run.record(state, stage=stage + 1, epoch=round(epoch, 3), step=step + 1, loss=running / max(count, 1),
                       person_loss=person_running / max(count, 1), val_pck=val, images_per_s=speed,
                       **({"teacher_loss": taught_running / max(count, 1)} if teacher is not None else {}))
            taught = f", teacher {taught_running / max(count, 1):.4f}" if teacher is not None else ""
            log(f"stage {stage + 1} epoch {epoch:.2f}: loss {running / max(count, 1):.4f} "
                f"(person {person_running / max(count, 1):.4f}{taught}) val PCK@0.2 {val:.3f} ({speed:.0f} samples/s)")
            running, person_running, taught_running, count, t0 = 0.0, 0.0, 0.0, 0, time.time()
        if step + 1 < total and (step + 1) % save_every == 0:
            state.stopped = {"phase": phase.name, "step": step + 1, "optimizer": optimizer.state_dict()}
            run.save(model_cfg, model, state, cfg.settings())
