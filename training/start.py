"""The model a run starts from: the run folder's own checkpoint when there is one (resume), else new networks
with ImageNet backbones, or other runs' weights (`init_from`)."""
from __future__ import annotations

import dataclasses
import os

from pose_track.engines.checkpoint import CheckpointError, build_model, load_checkpoint
from .run_folder import RunState
from .settings import TrainConfig

# Architecture fields that only the refiners are built from: while no refiner has trained, they may change.
REFINER_FIELDS = {"refiner_input", "refiner_blocks", "sigma", "num_stages"}


def start_model(cfg: TrainConfig, checkpoint: str, log=print):
    """(model config, torch ModuleList, RunState) for a run whose resumable checkpoint is `checkpoint`.

    Resuming keeps the saved weights and calibration, takes the decoding from `cfg`, and refuses (CheckpointError)
    another architecture, except refiner settings before any refiner has trained: those refiners start afresh.
    `cfg.refit` reopens the fits of a finished run.
    """
    if not os.path.isfile(checkpoint):
        return cfg.model_config(), _new_model(cfg, log), RunState()
    payload = load_checkpoint(checkpoint)
    saved = payload["config"]
    state = RunState.from_dict(payload.get("train_state") or {}, saved.architecture.num_stages, checkpoint)
    model_cfg = cfg.model_config(calibration=saved.calibration)
    wanted, had = model_cfg.architecture.to_dict(), saved.architecture.to_dict()
    changed = {k for k in wanted if wanted[k] != had[k]}
    started = state.done + ([state.stopped["phase"]] if state.stopped else [])
    refiners_untouched = not any(name.startswith("refiner") for name in started)
    if changed and not (changed <= REFINER_FIELDS and refiners_untouched):
        raise CheckpointError(f"{checkpoint} was trained with another model config "
                              f"({', '.join(sorted(changed))}); use another --out")
    if changed:
        from pose_track.engines.model import build_stages
        model = build_stages(model_cfg)
        model[0].load_state_dict(payload["stages"][0])
        if cfg.pretrained:
            for stage in list(model)[1:]:
                stage.backbone.load_imagenet()
        log(f"refiner settings changed ({', '.join(sorted(changed))}): refiners start afresh")
    else:
        model = build_model({**payload, "config": dataclasses.replace(saved, decoding=model_cfg.decoding)})
    if cfg.refit and "fits" in state.done:
        state.done.remove("fits")
    where = f"; {state.stopped['phase']} from step {state.stopped['step']}" if state.stopped else ""
    log(f"resuming {checkpoint}: done {', '.join(state.done) or 'nothing'}{where}")
    recorded, now = payload.get("train_config") or {}, cfg.settings()
    other = sorted(k for k in now if k in recorded and k not in ("out", "refit") and now[k] != recorded[k])
    if other:
        changes = ", ".join(f"{k} {now[k]!r}, was {recorded[k]!r}" for k in other)
        log(f"other settings than the run's last ones ({changes}): they apply to the phases not done yet")
    return model_cfg, model, state


def _new_model(cfg: TrainConfig, log):
    from pose_track.engines.model import build_stages

    model = build_stages(cfg.model_config())
    if cfg.pretrained:
        for stage in model:
            stage.backbone.load_imagenet()
    if cfg.init_from:
        _init_from(model, [cfg.init_from] if isinstance(cfg.init_from, str) else list(cfg.init_from), log)
    return model


def _init_from(model, paths: list, log):
    """Start from other runs' weights wherever the tensors fit (a new input size keeps every weight). Several
    checkpoints: the mean of their weights (runs of one lineage, e.g. a run and its fine-tune: a "model soup")."""
    import torch

    for p in paths:
        if os.path.isdir(p):
            raise CheckpointError(f"--init-from {p} is a folder, not a checkpoint file: give a checkpoint (.pt), "
                                  "e.g. a run folder's model.pt")
    payloads = [load_checkpoint(p) for p in paths]
    for i, stage in enumerate(model):
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
        log(f"stage {i + 1}: {len(fits)} of {len(own)} tensors from {', '.join(paths)}")
        if not fits and saved:
            raise CheckpointError(f"{', '.join(paths)}: no weights fit stage {i + 1} of this model config")
