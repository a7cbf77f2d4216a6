"""A run folder and the state that resumes it.

    checkpoint.pt   weights, model config, the run's settings and its state (rewritten as training goes)
    history.json    one entry per epoch of every network; curves.png draws it
    model.pt        config and weights only, written when every phase is done (what ships)
    onnx/           the ONNX Runtime bundle `pose-track train` exports from model.pt

Each file is listed in its folder's OWN_OUTPUTS (engines.outputs) once written, so that a later run (a resume)
may replace it; `pose-track train` replaces no file that is not listed there, except in a run folder from
before runs listed their files (`made_before_lists`), whose files it lists when it starts.

Training runs in named phases (`phases`). The state lists the phases that are done and, for a network whose
training stopped part way, the phase, the step and the optimizer to go on from. A state written with the
earlier integer phase counter reads into the same names: counter value k was the k-th phase of `phases`.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import NamedTuple

from pose_track.engines.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from pose_track.engines.outputs import OWN_OUTPUTS, note_own_output, parse_own_outputs
from .curves import write_curves

CHECKPOINT, RELEASE, HISTORY, CURVES, ONNX = "checkpoint.pt", "model.pt", "history.json", "curves.png", "onnx"


def run_files(path: str, num_stages: int, export: bool = True) -> list:
    """Every file a run of `num_stages` writes in the run folder `path`, with its exported bundle's (`export`)."""
    from pose_track.engines.bundle import MANIFEST
    from pose_track.engines.export import engine_file

    files = [os.path.join(path, name) for name in (CHECKPOINT, RELEASE, HISTORY, CURVES)]
    if export:
        names = [MANIFEST] + [engine_file(k, "fp32", "onnxruntime") for k in range(1, num_stages + 1)]
        files += [os.path.join(path, ONNX, name) for name in names]
    return files


def made_before_lists(path: str) -> bool:
    """A run folder written before runs listed their files in OWN_OUTPUTS: its list (if any: other commands
    wrote there) does not name its checkpoint.pt, which holds a training state a run resumes (a model file
    copied there does not). Its files are taken as pose-track's."""
    try:
        with open(os.path.join(path, OWN_OUTPUTS), encoding="utf-8", errors="surrogateescape", newline="\n") as f:
            if CHECKPOINT in parse_own_outputs(f):
                return False
    except FileNotFoundError:
        pass
    except OSError:
        return False
    try:
        state = load_checkpoint(os.path.join(path, CHECKPOINT)).get("train_state")
    except CheckpointError:
        return False
    return isinstance(state, dict) and ("done" in state or "phase" in state)    # what RunState.from_dict resumes


class Phase(NamedTuple):
    name: str
    kind: str       # network | error_bank | fits
    stage: int      # the cascade stage (1-based) it trains, or measures errors for


def phases(num_stages: int) -> list:
    """Stage 1; per refiner s: the errors of stages 1..s-1 on training images, then refiner s; the fits."""
    out = [Phase("stage1", "network", 1)]
    for s in range(2, num_stages + 1):
        out += [Phase(f"error_bank{s}", "error_bank", s), Phase(f"refiner{s}", "network", s)]
    return out + [Phase("fits", "fits", num_stages)]


@dataclasses.dataclass
class RunState:
    done: list = dataclasses.field(default_factory=list)          # names of the finished phases, in order
    stopped: dict | None = None       # {"phase", "step", "optimizer"}: a network's training stopped part way
    banks: dict = dataclasses.field(default_factory=dict)         # "s": refiner s's simulated errors, per joint
    history: list = dataclasses.field(default_factory=list)
    label_fixes: dict | None = None   # crowd labels repaired once per run (training.label_cleaning)
    fitted: dict = dataclasses.field(default_factory=dict)        # what the fits measured, for the record

    def finish(self, name: str):
        self.done.append(name)
        self.stopped = None

    def step_of(self, name: str) -> tuple:
        """(step, optimizer state or None) to resume phase `name` from; (0, None) to start it."""
        if self.stopped and self.stopped["phase"] == name:
            return self.stopped["step"], self.stopped.get("optimizer")
        return 0, None

    def trained_stages(self, num_stages: int) -> int:
        trained = sum(p.kind == "network" and p.name in self.done for p in phases(num_stages))
        return max(1, min(trained, num_stages))

    @classmethod
    def from_dict(cls, d: dict, num_stages: int, path: str) -> "RunState":
        """A saved state; one written with the integer phase counter is mapped onto the phase names of a run of
        `num_stages` (the run it was saved with)."""
        if "done" in d:
            return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})
        if "phase" not in d:
            raise CheckpointError(f"{path} holds no training state this pose-track can resume; use another --out")
        names = [p.name for p in phases(num_stages)]
        counter, step = int(d["phase"]), int(d.get("epoch_step", 0))
        stopped = None
        if counter < len(names) and step > 0:
            stopped = {"phase": names[counter], "step": step, "optimizer": d.get("optimizer")}
        fitted = {k: d[k] for k in ("refine_gain", "confidence") if k in d}
        # The counter's banks were keyed by the number of stages measured, the refiner after them uses it.
        banks = {str(int(k) + 1): v for k, v in d.get("banks", {}).items()}
        return cls(done=names[:counter], stopped=stopped, banks=banks, history=d.get("history", []),
                   label_fixes=d.get("label_fixes"), fitted=fitted)


class RunFolder:
    def __init__(self, path: str):
        self.path = path
        self.checkpoint = os.path.join(path, CHECKPOINT)

    def save(self, model_cfg, model, state: RunState, settings: dict):
        """The resumable checkpoint: weights, config, settings and state, replaced in one move."""
        num_stages = model_cfg.architecture.num_stages
        save_checkpoint(self.checkpoint, model_cfg, [m.state_dict() for m in model],
                        trained_stages=state.trained_stages(num_stages), train_state=dataclasses.asdict(state),
                        train_config=settings)
        note_own_output(self.checkpoint)

    def record(self, state: RunState, **entry):
        """One epoch's figures into the history, history.json and curves.png."""
        state.history.append(entry)
        history = os.path.join(self.path, HISTORY)
        with open(history, "w") as f:
            json.dump(state.history, f, indent=1)
        note_own_output(history)
        loss, metric = {}, {}
        for h in state.history:
            key = f"stage {h['stage']}"
            if "loss" in h:
                loss.setdefault(key, []).append((h["epoch"], h["loss"]))
            if "val_pck" in h:
                metric.setdefault(key, []).append((h["epoch"], h["val_pck"]))
        write_curves(os.path.join(self.path, CURVES), loss, metric)
        note_own_output(os.path.join(self.path, CURVES))

    def write_release(self, model_cfg, model, state: RunState, settings: dict) -> str:
        """model.pt beside the resumable checkpoint: config, weights and the history, no training state."""
        path = os.path.join(self.path, RELEASE)
        save_checkpoint(path, model_cfg, [m.state_dict() for m in model],
                        trained_stages=model_cfg.architecture.num_stages, train_config=settings,
                        history=state.history)
        note_own_output(path)
        return path
