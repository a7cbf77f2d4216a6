"""The checkpoint file: one torch file holding the model config and the weights of every stage.

Saved and loaded as plain tensors and values only (`torch.load(weights_only=True)`): a model file that would
run code when unpickled is refused, never executed. Version 2 writes the config as its three parts
(architecture, decoding, calibration); version 1 files, whose config is one flat dict, still load.
"""
from __future__ import annotations

import os
import pickle

from .bundle import check_file_format
from .config import ModelConfig

FORMAT = "pose-track-checkpoint"
VERSION = 2
READABLE_VERSIONS = (1, 2)


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message is one line for the user."""


def save_checkpoint(path: str, cfg: ModelConfig, stage_states: list, trained_stages: int, **extra) -> None:
    import torch

    payload = _plain({"format": FORMAT, "version": VERSION, "config": cfg.to_dict(), "stages": stage_states,
                      "trained_stages": trained_stages, **extra})
    tmp = path + ".tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)   # never leave a half-written checkpoint behind


def _plain(value):
    """numpy scalars and arrays as Python values, so that the file loads with weights_only=True."""
    import numpy as np

    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return value


def load_checkpoint(path: str) -> dict:
    import torch

    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    with open(path, "rb") as f:
        head = f.read(4)
    if not (head == b"PK\x03\x04" or head[:1] == b"\x80"):     # torch's zip format, or a bare pickle
        raise CheckpointError(f"{path} is not a model file: give an engine bundle folder (pose-track build-engine) "
                              "or a checkpoint (.pt)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"refused {path}: it holds Python objects, not just weights, and loading it could "
                              f"run code; pose-track reads only plain-tensor checkpoints") from None
    except Exception as exc:
        raise CheckpointError(f"{path} is not a readable pose-track checkpoint ({type(exc).__name__})") from None
    check_file_format(payload, FORMAT, "version", READABLE_VERSIONS, path, "checkpoint", CheckpointError)
    try:
        payload["config"] = ModelConfig.from_dict(payload["config"])
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise CheckpointError(f"{path}: its model config cannot be read ({type(exc).__name__}: {exc})") from None
    stages, trained = payload.get("stages"), payload.get("trained_stages", 1)
    if (not isinstance(stages, list) or not all(isinstance(st, dict) for st in stages)
            or not all(isinstance(t, torch.Tensor) for st in stages for t in st.values())):
        raise CheckpointError(f"{path}: its stages are not lists of weights; it is not a pose-track checkpoint")
    if not isinstance(trained, int) or isinstance(trained, bool):
        raise CheckpointError(f"{path}: its trained_stages is {trained!r}, not a whole number")
    return payload


def build_model(payload: dict, stages: int | None = None):
    """torch ModuleList with the checkpoint's weights; a shape mismatch is reported as another architecture."""
    from .model import build_stages

    cfg = payload["config"]
    if not payload["stages"]:
        raise CheckpointError("the checkpoint holds no weights (no stages)")
    model = build_stages(cfg)
    n = len(payload["stages"]) if stages is None else stages
    for i in range(min(n, len(payload["stages"]))):
        try:
            model[i].load_state_dict(payload["stages"][i])
        except RuntimeError:
            raise CheckpointError(f"stage {i + 1} weights do not fit the architecture in the checkpoint's config "
                                  f"(a checkpoint of another architecture?)") from None
    return model
