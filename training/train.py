"""The training loop: stage 1, then each refiner on simulated previous-stage estimates, then the fits. Resumable.

    train(TrainConfig.from_settings({...}))   -> path of OUT/model.pt

The phases (run_folder.phases) run in order: stage1; per refiner s, error_bank<s> (the errors of stages
1..s-1 on training images) and refiner<s>; fits (refinement gains, joint confidence). When a phase ends, the
run folder's checkpoint records it done; a network's training also saves part way. Called again on the same
folder, training goes on at the first phase not done, from the step where it stopped.
"""
from __future__ import annotations

import os

from .data import load_sets, load_training_data
from .fits import error_bank, fit_calibration
from .label_cleaning import load_reference, repair_crowd_labels
from .networks import load_teacher, train_network
from .run_folder import RELEASE, RunFolder, phases
from .settings import TrainConfig
from .start import start_model


def train(cfg: TrainConfig, progress=None, log=print, stop_after: str | None = None) -> str:
    """Runs the phases not done yet in cfg.out; returns model.pt once every phase is done. `stop_after`: the
    name of the last phase to run now (a ValueError if the run has none of that name); returns checkpoint.pt
    while phases remain."""
    import torch

    every_phase = phases(cfg.architecture.num_stages)
    names = [p.name for p in every_phase]
    if stop_after is not None and stop_after not in names:
        raise ValueError(f"no phase {stop_after!r} in this run (its phases: {', '.join(names)})")
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    os.makedirs(cfg.out, exist_ok=True)
    run = RunFolder(cfg.out)
    train_set, val_set = load_sets(cfg)
    model_cfg, model, state = start_model(cfg, run.checkpoint, log)
    # A reference model is loaded before the crops are cached, so that one that does not load fails at once; a
    # resumed run keeps its repairs in the state and needs no reference.
    reference = load_reference(cfg.clean_labels) if cfg.clean_labels and state.label_fixes is None else None
    teacher = (load_teacher(cfg.teacher, model_cfg)
               if cfg.teacher and cfg.teacher_weight and "stage1" not in state.done else None)
    now = every_phase[:names.index(stop_after) + 1] if stop_after else every_phase
    todo = [p for p in now if p.name not in state.done]
    settings = cfg.settings()
    if todo:
        data = load_training_data(cfg, train_set, val_set, model_cfg.architecture.person_head, progress, log)
        if cfg.clean_labels:
            state.label_fixes = repair_crowd_labels(data, state.label_fixes, reference, cfg.clean_max_error,
                                                    progress, log)
    for phase in todo:
        if phase.kind == "network":
            train_network(phase, model, model_cfg, data, cfg, state, run, progress, log, teacher)
        elif phase.kind == "error_bank":
            bank = error_bank(model, model_cfg, data, cfg, phase.stage - 1, progress, log)
            state.banks[str(phase.stage)] = [b.tolist() for b in bank]
        else:
            model_cfg.calibration, state.fitted = fit_calibration(model, model_cfg, data, cfg, progress, log)
        state.finish(phase.name)
        run.save(model_cfg, model, state, settings)
    if all(name in state.done for name in names):
        release = os.path.join(cfg.out, RELEASE)
        if not todo and os.path.isfile(release):     # nothing trained now: model.pt keeps what it was made with
            log(f"{cfg.out}: every phase is done; {RELEASE} is kept as it is (--refit redoes the fits)")
            return release
        return run.write_release(model_cfg, model, state, settings)
    return run.checkpoint
