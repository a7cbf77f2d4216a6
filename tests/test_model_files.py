"""Model files are data: a crafted checkpoint that would run code when unpickled is refused through every option
that takes a model path, and its code never runs."""
import os
import pickle

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")

from pose_track.cli import cli  # noqa: E402


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))        # unpickling would create the marker file


@pytest.fixture()
def crafted(tmp_path):
    """A checkpoint-shaped pickle whose loading creates `marker`; returns (model file, marker)."""
    marker = str(tmp_path / "code_ran")
    path = str(tmp_path / "evil.pt")
    with open(path, "wb") as f:
        pickle.dump({"format": "pose-track-checkpoint", "version": 1, "payload": _RunsCode(marker)}, f)
    return path, marker


def _invocations(model, tmp):
    lsp = os.path.join(tmp, "no_data")
    return {
        "images --checkpoint": ["images", tmp, "--csv", os.path.join(tmp, "o.csv"), "--checkpoint", model],
        "images --engine": ["images", tmp, "--csv", os.path.join(tmp, "o.csv"), "--engine", model],
        "video --engine": ["video", tmp, "--csv", os.path.join(tmp, "v.csv"), "--engine", model],
        "eval --checkpoint": ["eval", "--data", lsp, "--checkpoint", model],
        "build-engine": ["build-engine", model, "-o", os.path.join(tmp, "bundle")],
        "bench --engine": ["bench", "--engine", model, "--images", "0", "--runs", "1"],
        "train --init-from": ["train", "--tiny", "--data", lsp, "--out", os.path.join(tmp, "run"), "--init-from", model],
        "train --clean-labels": ["train", "--tiny", "--data", lsp, "--out", os.path.join(tmp, "run2"),
                                 "--clean-labels", model],
    }


@pytest.mark.parametrize("option", list(_invocations("m", "t")))
def test_crafted_model_file_is_refused_and_its_code_never_runs(option, crafted, tmp_path, fake_lsp):
    model, marker = crafted
    args = _invocations(model, str(tmp_path))[option]
    args = [fake_lsp if a == os.path.join(str(tmp_path), "no_data") else a for a in args]
    import cv2
    import numpy as np
    cv2.imwrite(str(tmp_path / "a.jpg"), np.full((64, 48, 3), 90, np.uint8))
    result = CliRunner().invoke(cli, args)
    assert not os.path.exists(marker), f"{option}: the model file's code ran"
    assert result.exit_code != 0, f"{option}: {result.output}"
    assert not isinstance(result.exception, pickle.UnpicklingError) and "Traceback" not in result.output
    assert "evil.pt" in result.output, result.output


def test_checkpoint_with_numpy_values_saves_as_plain_data(tmp_path):
    import numpy as np
    from pose_track.engines.checkpoint import load_checkpoint, save_checkpoint
    from pose_track.engines.config import ModelConfig

    path = str(tmp_path / "c.pt")
    save_checkpoint(path, ModelConfig(), [], trained_stages=1, train_state={"gain": np.float32(0.5),
                                                                           "bank": np.zeros((2, 2))})
    state = load_checkpoint(path)["train_state"]
    assert state == {"gain": 0.5, "bank": [[0.0, 0.0], [0.0, 0.0]]}
