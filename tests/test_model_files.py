"""Model files are data: a crafted checkpoint that would run code when unpickled is refused through every option
that takes a model path, and its code never runs."""
import os
import pickle
import shutil

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
        "bench --engine": ["bench", "--engine", model, "--images", "0", "--runs", "1", "--data", lsp],
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
    assert result.exception is None or isinstance(result.exception, SystemExit), f"{option}: {result.exception!r}"
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


def test_a_checkpoint_holds_the_architecture_decoding_and_calibration_as_three_parts(tmp_path):
    import torch
    from pose_track.engines.checkpoint import VERSION, load_checkpoint, save_checkpoint
    from pose_track.engines.config import Architecture, Calibration, Decoding, ModelConfig

    cfg = ModelConfig(Architecture(stage1_input=96, num_stages=2, person_head=True),
                      Decoding(decode_window=3, stage1_flip=True, stage1_scales=(128, 64)),
                      Calibration(confidence=(-2.0, -1.5, -0.25), refine_gain=((1.0, 0.5) + (0.0,) * 12,)))
    path = str(tmp_path / "c.pt")
    save_checkpoint(path, cfg, [], trained_stages=1)
    raw = torch.load(path, weights_only=True)
    assert raw["version"] == VERSION == 2
    assert set(raw["config"]) == {"architecture", "decoding", "calibration"}
    assert raw["config"]["architecture"]["stage1_input"] == 96 and "decode_window" not in raw["config"]["architecture"]
    assert raw["config"]["decoding"]["stage1_scales"] == [128, 64]
    assert raw["config"]["calibration"]["refine_gain"][0][:2] == [1.0, 0.5]
    assert load_checkpoint(path)["config"] == cfg


def test_a_flat_config_of_the_earlier_format_loads_into_the_three_parts(tmp_path):
    import torch
    from conftest import REPO
    from pose_track.engines.backends import DEFAULT_CHECKPOINT
    from pose_track.engines.checkpoint import load_checkpoint
    from pose_track.engines.config import ModelConfig

    # The previous shipped model (version 1, one flat config), kept as the start of the shipped recipe's lineage.
    earlier = os.path.join(REPO, "recipes", "deeppose_lsp_v2.pt")
    flat = torch.load(earlier, map_location="cpu", weights_only=True)["config"]
    cfg = ModelConfig.from_dict(flat)
    assert (cfg.architecture.stage1_input, cfg.architecture.num_stages, cfg.architecture.person_head) == (192, 2, True)
    assert cfg.decoding.decode_window == 3
    assert cfg.decoding.second_look_threshold == 0.9          # absent from the file: the default
    assert cfg.calibration.confidence == tuple(flat["confidence"]) and len(cfg.calibration.refine_gain) == 1
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert load_checkpoint(earlier)["config"] == cfg
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({**flat, "colour": "red"})
    # The shipped checkpoint (version 2: the config in three parts) has the same architecture.
    assert load_checkpoint(DEFAULT_CHECKPOINT)["config"].architecture == cfg.architecture
    v1 = load_checkpoint(os.path.join(REPO, "recipes", "deeppose_lsp_v1.pt"))["config"]
    assert v1.architecture.person_head is False and v1.architecture.num_stages == 2
    # A version-1 file (flat config) loads too.
    path = str(tmp_path / "old.pt")
    torch.save({"format": "pose-track-checkpoint", "version": 1, "config": flat, "stages": [], "trained_stages": 2},
               path)
    assert load_checkpoint(path)["config"] == cfg


@pytest.mark.parametrize("content", [b"hello\n", b"\x1aE\xdf\xa3 a video's first bytes"])
def test_a_file_that_is_no_model_is_called_so(content, tmp_path):
    import cv2
    import numpy as np
    cv2.imwrite(str(tmp_path / "a.jpg"), np.full((64, 48, 3), 90, np.uint8))
    model = tmp_path / "clip.pt"
    model.write_bytes(content)
    result = CliRunner().invoke(cli, ["images", str(tmp_path), "--csv", str(tmp_path / "o.csv"), "--checkpoint",
                                      str(model)])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
    assert f"{model} is not a model file" in result.output and "Python objects" not in result.output


def test_checkpoints_and_manifests_of_the_wrong_shape_are_refused_in_one_line(tmp_path):
    """Files that load as plain data but are not laid out as pose-track's: each refused naming the file."""
    import json

    import torch

    from pose_track.engines.bundle import BundleError, load_bundle
    from pose_track.engines.checkpoint import CheckpointError, load_checkpoint
    from conftest import REPO

    shipped = torch.load(os.path.join(REPO, "models", "deeppose_lsp", "checkpoint.pt"), map_location="cpu",
                         weights_only=True)
    for change in ({"config": [1]}, {"config": "abc"}, {"stages": 5}, {"stages": [5, 6]}, {"trained_stages": "x"}):
        path = tmp_path / "bad.pt"
        torch.save({**shipped, **change}, path)
        with pytest.raises(CheckpointError) as refusal:
            load_checkpoint(str(path))
        assert str(path) in str(refusal.value) and "\n" not in str(refusal.value), change
    bundle = tmp_path / "bundle"
    shutil.copytree(os.path.join(REPO, "models", "deeppose_lsp", "int8"), bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    for config in (["not", "a", "config"],
                   {**manifest["model_config"], "calibration": {"confidence": ["a", "b", "c"]}},
                   {**manifest["model_config"], "decoding": {"presence_threshold": "x"}},
                   {**manifest["model_config"], "architecture": {**manifest["model_config"]["architecture"],
                                                                 "num_stages": 2.5}}):
        (bundle / "manifest.json").write_text(json.dumps({**manifest, "model_config": config}))
        with pytest.raises(BundleError, match="has an unreadable model config") as refusal:
            load_bundle(str(bundle))
        assert "\n" not in str(refusal.value)
