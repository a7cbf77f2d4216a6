"""End-to-end commands through click's runner: errors are one line, outputs follow the CSV schema."""
import csv
import os

import numpy as np
import pytest
from click.testing import CliRunner

from pose_track.cli import cli
from pose_track.engines.joints import JOINT_NAMES
from conftest import refused_in_one_line

torch = pytest.importorskip("torch")


@pytest.fixture(scope="session")
def tiny_checkpoint(fake_lsp, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_run")
    result = CliRunner().invoke(cli, ["train", "--tiny", "--data", fake_lsp, "--out", str(out), "--no-export",
                                      "--lr", "3e-3", "--refiner-lr", "7e-4"])
    assert result.exit_code == 0, result.output
    return str(out / "checkpoint.pt")


def test_train_records_both_learning_rates(tiny_checkpoint):
    from pose_track.engines.checkpoint import load_checkpoint

    recorded = load_checkpoint(tiny_checkpoint)["train_config"]
    assert (recorded["lr"], recorded["refiner_lr"]) == (3e-3, 7e-4)


def test_images_writes_the_csv_schema(fake_lsp, tiny_checkpoint, tmp_path):
    out = tmp_path / "poses.csv"
    result = CliRunner().invoke(cli, ["images", os.path.join(fake_lsp, "images"), "--csv", str(out),
                                      "--checkpoint", tiny_checkpoint, "--render", str(tmp_path / "render")])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(open(out)))
    assert rows[0][:3] == ["source", "frame", "time_s"] and rows[0][3:6] == [f"{JOINT_NAMES[0]}_{k}" for k in "xyc"[:2]] + [f"{JOINT_NAMES[0]}_conf"]
    assert len(rows[0]) == 3 + 14 * 3 and len(rows) == 1 + 12
    assert rows[1][0] == "im0001.jpg" and rows[1][1] == "0"
    values = np.array([float(v) if v else np.nan for v in rows[1][3:]]).reshape(14, 3)
    given = np.isfinite(values).all(1)
    assert (given | np.isnan(values).all(1)).all()            # a joint's three cells are all there or all empty
    assert np.all((values[given, 2] >= 0) & (values[given, 2] <= 1))
    assert len(os.listdir(tmp_path / "render")) == 12 + 1      # the annotated images and OWN_OUTPUTS


def test_images_errors_are_one_line(tiny_checkpoint, tmp_path):
    empty = tmp_path / "empty"; empty.mkdir()
    result = CliRunner().invoke(cli, ["images", str(empty), "--csv", str(tmp_path / "x.csv"),
                                      "--checkpoint", tiny_checkpoint])
    assert "no images" in refused_in_one_line(result)
    (empty / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    result = CliRunner().invoke(cli, ["images", str(empty), "--csv", str(tmp_path / "x.csv"),
                                      "--checkpoint", tiny_checkpoint])
    assert "no readable image" in refused_in_one_line(result)


def test_a_checkpoint_of_another_architecture_is_refused_in_one_line(fake_lsp, tmp_path):
    """A valid torch file whose weights do not fit its own architecture (junk bytes: test_model_files.py)."""
    from pose_track.engines.checkpoint import save_checkpoint
    from pose_track.engines.config import Architecture, ModelConfig
    from pose_track.engines.model import build_stages

    path = tmp_path / "model.pt"
    cfg = ModelConfig(Architecture(stage1_input=64, refiner_input=32, refiner_blocks=5))
    states = [m.state_dict() for m in build_stages(ModelConfig(Architecture(stage1_input=64, refiner_input=32,
                                                                            refiner_blocks=8)))]
    save_checkpoint(str(path), cfg, states, trained_stages=3)
    result = CliRunner().invoke(cli, ["images", os.path.join(fake_lsp, "images"), "--csv",
                                      str(tmp_path / "o.csv"), "--checkpoint", str(path)])
    refused_in_one_line(result)


def test_eval_prints_every_stage_and_the_paper(lsp_data, tiny_checkpoint):
    result = CliRunner().invoke(cli, ["eval", "--data", lsp_data, "--limit", "5", "--checkpoint", tiny_checkpoint])
    assert result.exit_code == 0, result.output
    for text in ("stage 1", "stage 2", "stage 3", "paper", "PCK@0.2", "0.610"):
        assert text in result.output


def test_images_passes_are_reported_and_no_recrop_runs_once(fake_lsp, tiny_checkpoint, tmp_path):
    folder = os.path.join(fake_lsp, "images")
    once = CliRunner().invoke(cli, ["images", folder, "--csv", str(tmp_path / "a.csv"), "--no-recrop",
                                    "--checkpoint", tiny_checkpoint])
    assert once.exit_code == 0, once.output
    assert "(1.00 passes per image)" in once.stderr
    again = CliRunner().invoke(cli, ["images", folder, "--csv", str(tmp_path / "b.csv"), "--checkpoint",
                                     tiny_checkpoint])
    assert again.exit_code == 0, again.output
    passes = float(again.stderr.split("(")[-1].split()[0])
    assert 1.0 <= passes <= 4.0      # 3 recrop passes, and a look past a cut crop


def test_eval_says_whether_it_recropped_and_padded(lsp_data, tiny_checkpoint):
    result = CliRunner().invoke(cli, ["eval", "--data", lsp_data, "--limit", "3", "--recrop",
                                      "--checkpoint", tiny_checkpoint])
    assert result.exit_code == 0, result.output
    assert "recropped" in result.output and "PCK@0.2" in result.output
    once = CliRunner().invoke(cli, ["eval", "--data", lsp_data, "--limit", "3", "--no-recrop", "--pad", "1.5",
                                    "--checkpoint", tiny_checkpoint])
    assert once.exit_code == 0, once.output
    assert "one pass" in once.output and "padded 1.5x" in once.output


def test_train_with_a_reference_model_that_does_not_load_is_one_line(fake_lsp, tmp_path):
    result = CliRunner().invoke(cli, ["train", "--tiny", "--data", fake_lsp, "--out", str(tmp_path / "run"),
                                      "--no-export", "--clean-labels", str(tmp_path / "no_such_bundle")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.output.strip().startswith("Error: cannot load the model") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_train_seed_is_recorded_and_sets_the_batches(fake_lsp, tmp_path):
    from pose_track.engines.checkpoint import load_checkpoint

    def run(name, seed):
        out = tmp_path / name
        result = CliRunner().invoke(cli, ["train", "--tiny", "--data", fake_lsp, "--out", str(out), "--no-export",
                                          "--stages", "2", "--refiner-epochs", "0", "--seed", str(seed)])
        assert result.exit_code == 0, result.output
        return load_checkpoint(str(out / "checkpoint.pt"))

    first, again, other = run("a", 1), run("b", 1), run("c", 0)
    assert first["train_config"]["seed"] == 1
    # --tiny never overrides options given with it.
    assert first["train_config"]["num_stages"] == 2 and first["train_config"]["refiner_epochs"] == 0
    weights = [p["stages"][0] for p in (first, again, other)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])


def test_train_reads_its_settings_from_a_recipe_and_the_command_line_wins(fake_lsp, tmp_path):
    import json

    from pose_track.engines.checkpoint import load_checkpoint

    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"data": fake_lsp, "epochs": 1, "refiner_epochs": 0, "max_images": 8,
                                  "batch_size": 4, "stage1_input": 64, "refiner_input": 32, "refiner_blocks": 5,
                                  "num_stages": 2, "val_images": 2, "bank_images": 4, "pretrained": False,
                                  "cache_dir": None, "scene_images": 4, "seed": 5}))
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--recipe", str(recipe), "--out", str(out), "--no-export",
                                      "--seed", "7"])
    assert result.exit_code == 0, result.output
    recorded = load_checkpoint(str(out / "checkpoint.pt"))["train_config"]
    assert recorded["stage1_input"] == 64 and recorded["batch_size"] == 4 and recorded["seed"] == 7
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"epochz": 1}))
    result = CliRunner().invoke(cli, ["train", "--recipe", str(bad), "--out", str(tmp_path / "r2")])
    assert result.exit_code == 2 and "unknown settings epochz" in result.output


def test_a_recipes_teacher_is_found_from_the_repository_and_a_missing_one_is_one_line(fake_lsp, tmp_path):
    import json

    recipes = tmp_path / "repo" / "recipes"
    recipes.mkdir(parents=True)
    recipe = recipes / "r.json"
    recipe.write_text(json.dumps({"data": fake_lsp, "epochs": 1, "refiner_epochs": 0, "max_images": 8,
                                  "batch_size": 4, "stage1_input": 64, "refiner_input": 32, "refiner_blocks": 5,
                                  "num_stages": 1, "val_images": 2, "bank_images": 4, "pretrained": False,
                                  "cache_dir": None, "scene_images": 4, "teacher": "teachers/t.pt",
                                  "teacher_weight": 1.0}))
    result = CliRunner().invoke(cli, ["train", "--recipe", str(recipe), "--out", str(tmp_path / "run"), "--no-export"])
    assert result.exit_code == 1
    assert f"--teacher: checkpoint not found: {tmp_path / 'repo' / 'teachers' / 't.pt'}" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 3


def test_a_model_whose_training_stopped_after_stage_1_says_so(fake_lsp, tiny_checkpoint, tmp_path):
    from pose_track.training.settings import TINY, TrainConfig
    from pose_track.training.train import train

    cfg = TrainConfig.from_settings({**TINY, "data": fake_lsp, "out": str(tmp_path / "run")})
    checkpoint = train(cfg, log=lambda message: None, stop_after="stage1")
    result = CliRunner().invoke(cli, ["images", os.path.join(fake_lsp, "images"), "--csv", str(tmp_path / "o.csv"),
                                      "--checkpoint", checkpoint])
    assert result.exit_code == 0, result.output
    assert "this model's training stopped after stage 1 of 3: stages 2-3 hold the weights its run started from" in (
        result.stderr)
    whole = CliRunner().invoke(cli, ["images", os.path.join(fake_lsp, "images"), "--csv", str(tmp_path / "p.csv"),
                                     "--checkpoint", tiny_checkpoint])
    assert whole.exit_code == 0 and "training stopped" not in whole.stderr          # a run that trained them all
