"""`pose-track train` on bad input: one line on stderr and a non-zero exit, never a traceback; no file of the
user's replaced; no empty run folder left behind. A run folder of pose-track's own still resumes."""
import json
import os
import shutil

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")

from pose_track.cli import cli
from pose_track.engines.outputs import OWN_OUTPUTS

from conftest import REPO, refused_in_one_line

# One step per network, on 8 drawn figures, one stage.
QUICK = ["--tiny", "--stages", "1", "--epochs", "0.01", "--refiner-epochs", "0", "--max-images", "8"]


def _train(fake_lsp, out, *args):
    return CliRunner().invoke(cli, ["train", *QUICK, "--data", fake_lsp, "--out", str(out), *args])


@pytest.mark.parametrize("name", ["checkpoint.pt", "model.pt", "history.json", "curves.png",
                                  os.path.join("onnx", "manifest.json"), os.path.join("onnx", "stage1.onnx")])
def test_train_refuses_to_replace_a_file_it_did_not_write(fake_lsp, tmp_path, name):
    out = tmp_path / "run"
    (out / "onnx").mkdir(parents=True)
    (out / name).write_text("mine")
    error = refused_in_one_line(_train(fake_lsp, out), exit_code=2)
    assert str(out / name) in error and "not a file pose-track wrote there" in error
    assert (out / name).read_text() == "mine"
    assert sorted(os.listdir(out)) == sorted({"onnx", name.split(os.sep)[0]})


def test_a_run_stopped_while_it_rewrote_its_history_resumes(fake_lsp, tmp_path):
    out = tmp_path / "run"
    assert _train(fake_lsp, out, "--no-export").exit_code == 0
    (out / "history.json").write_text('[{"stage": 1, "ep')          # cut short mid-write: not the file listed
    res = _train(fake_lsp, out, "--no-export")
    assert res.exit_code == 0 and f"resuming {out / 'checkpoint.pt'}" in res.output, res.output


def test_a_run_lists_every_file_it_writes_and_resumes_with_or_without_lists(fake_lsp, tmp_path, monkeypatch):
    import pose_track.engines.outputs as outputs

    out = tmp_path / "run"
    res = _train(fake_lsp, out)
    assert res.exit_code == 0, res.output
    listed = {p: set(outputs.own_outputs(p)) for p in (out, out / "onnx")}
    assert listed[out] == {"checkpoint.pt", "model.pt", "history.json", "curves.png"}
    assert listed[out / "onnx"] == {"manifest.json", "stage1.onnx"}
    assert {p for p in os.listdir(out / "onnx") if not p.startswith(".")} == listed[out / "onnx"]
    # The same run again resumes (nothing left to train) and writes the same files.
    res = _train(fake_lsp, out)
    assert res.exit_code == 0 and f"resuming {out / 'checkpoint.pt'}" in res.output, res.output
    # A run folder from before the lists (another command's list beside it at most): its checkpoint makes it
    # pose-track's; it resumes, and is listed.
    os.remove(out / "onnx" / OWN_OUTPUTS)
    (out / OWN_OUTPUTS).write_text("eval.csv\n")
    monkeypatch.setattr(outputs, "_noted", {})         # what a new process knows of the lists
    res = _train(fake_lsp, out, "--no-export")
    assert res.exit_code == 0 and f"resuming {out / 'checkpoint.pt'}" in res.output, res.output
    assert set(outputs.own_outputs(out)) == listed[out] | {"eval.csv"}


def test_a_folder_where_train_writes_a_file_is_refused(fake_lsp, tmp_path):
    out = tmp_path / "run"
    (out / "history.json").mkdir(parents=True)
    error = refused_in_one_line(_train(fake_lsp, out), exit_code=2)
    assert str(out / "history.json") in error and "is a folder" in error


def test_an_out_folder_that_cannot_be_made_is_one_line(fake_lsp, tmp_path):
    afile = tmp_path / "mine.csv"
    afile.write_text("keep me")
    assert "--out" in refused_in_one_line(_train(fake_lsp, afile), exit_code=2)
    for out in [afile / "sub"] + (["/proc/pose-track-run"] if os.path.isdir("/proc/self") else []):
        assert f"cannot make --out {out}" in refused_in_one_line(_train(fake_lsp, out), exit_code=1)
    assert afile.read_text() == "keep me" and os.listdir(tmp_path) == ["mine.csv"]


@pytest.mark.parametrize("args, says", [
    (["--refiner-input", "0"], "--refiner-input takes a whole number from 16 up"),
    (["--refiner-input", "40", "--refiner-blocks", "8"], "--refiner-input takes a multiple of 16 with 8 refiner"),
    (["--refiner-blocks", "0"], "--refiner-blocks takes a whole number from 1 to 11"),
    (["--refiner-blocks", "99"], "--refiner-blocks takes a whole number from 1 to 11"),
    (["--lr", "nan"], "--lr takes a finite number above 0"),
    (["--refiner-lr", "inf"], "--refiner-lr takes a finite number above 0"),
    (["--sigma", "0"], "--sigma takes a finite number above 0"),
    (["--sigma", "-1"], "--sigma takes a finite number above 0"),
    (["--person-weight", "nan"], "--person-weight takes a finite number from 0 up"),
    (["--heatmap-weight", "-1"], "--heatmap-weight takes a finite number from 0 up"),
    (["--negative-share", "nan"], "--negative-share takes a number from 0 to 1"),
    (["--decode-window", "-1"], "--decode-window takes a whole number from 0 up"),
    (["--clean-max-error", "0"], "--clean-max-error takes a finite number above 0"),
    (["--seed", "-1"], "--seed takes a whole number from 0 up"),
    (["--scales", "100"], "--scales takes input sizes, each a multiple of 32"),
    (["--cut-shares", "1,2"], "--cut-shares takes four shares"),
    (["--cut-shares", "a,b,c,d"], "--cut-shares takes four shares"),
    (["--cut-shares", "0,0,0,0"], "--cut-shares takes four shares"),
    (["--cut-shares", "nan,1,1,1"], "--cut-shares takes four shares"),
    (["--cut-shares", "inf,1,1,1"], "--cut-shares takes four shares"),
])
def test_option_values_training_cannot_use_are_refused_in_one_line(fake_lsp, tmp_path, args, says):
    out = tmp_path / "runs" / "run"
    error = refused_in_one_line(_train(fake_lsp, out, *args), exit_code=2)
    assert says in error
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("recipe, says", [
    ([], "a recipe is a JSON object of settings"),
    ({"batch_size": 0}, "batch_size takes a whole number from 1 up, not 0"),
    ({"epochs": "abc"}, 'epochs takes a finite number from 0 up, not "abc"'),
    ({"stage1_input": 100}, "stage1_input takes a multiple of 32 from 32 up, not 100"),
    ({"loss": "l7"}, 'loss takes "l1" or "l2", not "l7"'),
    ({"negative_share": 5}, "negative_share takes a number from 0 to 1, not 5"),
    ({"sigma": 0}, "sigma takes a finite number above 0"),
    ({"person_weight": float("nan")}, "person_weight takes a finite number from 0 up, not NaN"),
    ({"refiner_blocks": 12}, "refiner_blocks takes a whole number from 1 to 11"),
    ({"pretrained": "no"}, "pretrained takes true or false"),
    ({"init_from": 5}, "init_from takes a checkpoint path"),
    ({"stage1_scales": [100]}, "stage1_scales takes input sizes"),
    ({"cut_shares": [0, 0, 0, 0]}, "cut_shares takes four shares"),
    ({"std": [1, 0, 1]}, "std takes 3 finite numbers above 0"),
])
def test_recipe_values_training_cannot_use_are_refused_in_one_line(fake_lsp, tmp_path, recipe, says):
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe))
    out = tmp_path / "runs" / "run"
    res = CliRunner().invoke(cli, ["train", "--recipe", str(path), "--data", fake_lsp, "--out", str(out),
                                   "--no-export"])
    error = refused_in_one_line(res, exit_code=2)
    assert f"{path}: {says}" in error
    assert not (tmp_path / "runs").exists()


def test_a_reference_model_that_cannot_load_is_one_line_and_leaves_no_folder(fake_lsp, tmp_path, monkeypatch):
    shipped = os.path.join(REPO, "models", "deeppose_lsp", "onnx")
    if not os.path.isfile(os.path.join(shipped, "manifest.json")):
        pytest.skip(f"the shipped bundle is missing ({shipped})")
    garbage = tmp_path / "garbage"
    shutil.copytree(shipped, garbage)
    (garbage / "stage1.onnx").write_text("junk")
    out = tmp_path / "runs" / "run"
    error = refused_in_one_line(_train(fake_lsp, out, "--no-export", "--clean-labels", str(garbage)), exit_code=1)
    assert "cannot load the model" in error and "stage1.onnx" in error
    assert not (tmp_path / "runs").exists()

    import pose_track.engines.torch_backend as engine_loading

    class InvalidProtobuf(RuntimeError):       # as onnxruntime's own errors are
        pass

    def runtime_fails(path):
        raise InvalidProtobuf("[ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Load model failed\nmore detail")

    monkeypatch.setattr(engine_loading, "load_any_cascade", runtime_fails)
    error = refused_in_one_line(_train(fake_lsp, out, "--no-export", "--clean-labels", str(garbage)), exit_code=1)
    assert error == "Error: cannot load the model: [ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Load model failed"
    assert not (tmp_path / "runs").exists()


def test_init_from_a_folder_says_it_is_a_folder(fake_lsp, tmp_path):
    (tmp_path / "somefolder").mkdir()
    out = tmp_path / "runs" / "run"
    error = refused_in_one_line(_train(fake_lsp, out, "--no-export", "--init-from", str(tmp_path / "somefolder")),
                                 exit_code=1)
    assert f"--init-from {tmp_path / 'somefolder'} is a folder, not a checkpoint file" in error
    assert not (tmp_path / "runs").exists()


def test_every_setting_has_a_check_that_its_default_and_the_shipped_recipes_pass():
    import glob

    from pose_track.training.settings import _READ, _RULES, TINY, TrainConfig, setting_names

    assert set(setting_names()) == set(_RULES) | set(_READ)
    for settings in [TrainConfig().settings(), TrainConfig.from_settings(TINY).settings()]:
        assert TrainConfig.from_settings(settings).settings() == settings
    for path in glob.glob(os.path.join(REPO, "recipes", "*.json")):
        with open(path) as f:
            recipe = json.load(f)
        recipe.pop("command", None)
        TrainConfig.from_settings(recipe)


def test_tiny_keeps_no_crop_cache_as_it_says(fake_lsp, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = _train(fake_lsp, tmp_path / "run", "--no-export")
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_a_model_file_copied_in_as_checkpoint_does_not_make_a_users_folder_a_run(fake_lsp, tmp_path):
    run = tmp_path / "run"
    assert _train(fake_lsp, run, "--no-export").exit_code == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copyfile(run / "model.pt", mine / "checkpoint.pt")      # weights and config, no training state
    (mine / "model.pt").write_text("my own")
    (mine / OWN_OUTPUTS).write_text("eval.csv\n")
    error = refused_in_one_line(_train(fake_lsp, mine, "--no-export"), exit_code=2)
    assert "not a file pose-track wrote there" in error
    assert (mine / "model.pt").read_text() == "my own" and (mine / OWN_OUTPUTS).read_text() == "eval.csv\n"


@pytest.mark.parametrize("recipe, says", [
    ({"out": "/tmp/somewhere"}, "a recipe does not say where the run writes (out): give --out"),
    ({"cache_dir": "/tmp/elsewhere"}, "a recipe's cache_dir is null or a folder under the working folder"),
    ({"cache_dir": "../../elsewhere"}, "a recipe's cache_dir is null or a folder under the working folder"),
])
def test_a_recipe_does_not_choose_where_the_run_writes(fake_lsp, tmp_path, recipe, says):
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe))
    res = CliRunner().invoke(cli, ["train", "--recipe", str(path), "--data", fake_lsp, "--out",
                                   str(tmp_path / "runs" / "run"), "--no-export"])
    assert says in refused_in_one_line(res, exit_code=2)
    assert not (tmp_path / "runs").exists()
