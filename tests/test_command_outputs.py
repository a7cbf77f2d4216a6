"""The files bench-tracking, eval-framing and build-engine name themselves in their output folder replace only
what pose-track wrote there (engines.outputs: the folder's OWN_OUTPUTS); a user's file of that name is refused in
one line before any work and left as it was, and a second run into the same folder works."""
import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

import pose_track.commands.bench as bench_command
import pose_track.commands.evaluate as evaluate_command
from pose_track.cli import cli
from pose_track.engines.outputs import OWN_OUTPUTS, own_outputs
from conftest import make_fake_lsp
from fakes import FakeCascade, estimator_of


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """lsp/ with three LSP test images (im1001-im1003) and lspet/ with three held-out images."""
    root = tmp_path_factory.mktemp("data")
    make_fake_lsp(str(root / "lsp"), n=1003)
    make_fake_lsp(str(root / "lspet"), n=3)
    return root


@pytest.fixture
def fake_model(monkeypatch):
    for module in (bench_command, evaluate_command):
        monkeypatch.setattr(module, "load_estimator", estimator_of(FakeCascade(np.zeros((1, 14, 2)))))


def _refused(res):
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    assert "which is not a file pose-track wrote there" in res.output, res.output


def _listed(folder):
    return sorted(own_outputs(folder))


def _bench(data, workdir, *extra):
    return CliRunner().invoke(cli, ["bench-tracking", "--data", str(data / "lsp"), "--workdir", str(workdir),
                                    "--frames", "30", "--empty-scene", "", *extra])


@pytest.mark.parametrize("hard, name", [(False, "clip_0.mp4"), (True, "hard_00.npz"), (True, "hard_00.mp4")])
def test_bench_tracking_refuses_a_users_file_of_a_clips_name_and_reruns_in_its_own_workdir(
        data, fake_model, tmp_path, hard, name):
    extra = ["--clips", "1"] + (["--hard"] if hard else [])
    mine = tmp_path / "mine"
    mine.mkdir()
    if name.endswith(".npz"):
        np.savez(mine / name, weights=np.arange(3))
    else:
        (mine / name).write_bytes(b"my own video")
    before = (mine / name).read_bytes()
    _refused(_bench(data, mine, *extra))
    assert (mine / name).read_bytes() == before and os.listdir(mine) == [name]

    for _ in range(2):
        res = _bench(data, tmp_path / "work", *extra)
        assert res.exit_code == 0, res.output
    written = ["hard_00.mp4", "hard_00.npz", "hard_00_tracked.npz"] if hard else ["clip_0.mp4"]
    assert _listed(tmp_path / "work") == written
    assert sorted(os.listdir(tmp_path / "work")) == sorted([OWN_OUTPUTS, *written])


def test_bench_tracking_hard_takes_a_workdir_from_before_the_lists_by_its_files_contents(data, fake_model, tmp_path):
    res = _bench(data, tmp_path / "made", "--hard", "--clips", "2")
    assert res.exit_code == 0, res.output
    old = tmp_path / "old"                      # as runs made before the lists left it
    shutil.copytree(tmp_path / "made", old, ignore=shutil.ignore_patterns(OWN_OUTPUTS))
    res = _bench(data, old, "--hard", "--clips", "1")
    assert res.exit_code == 0, res.output
    assert _listed(old) == [f"hard_0{k}{end}" for k in (0, 1) for end in (".mp4", ".npz", "_tracked.npz")]

    # Without a list, a video beside no clip truth, or an npz of other arrays, stays the user's.
    other = tmp_path / "other"
    shutil.copytree(tmp_path / "made", other, ignore=shutil.ignore_patterns(OWN_OUTPUTS, "hard_00.npz"))
    np.savez(other / "hard_00.npz", weights=np.arange(3))
    before = {p.name: p.read_bytes() for p in other.iterdir()}
    _refused(_bench(data, other, "--hard", "--clips", "1"))
    assert {p.name: p.read_bytes() for p in other.iterdir()} == before


def test_eval_framing_sets_refuse_a_users_picture_and_are_written_again(data, fake_model, tmp_path):
    args = ["eval-framing", "--data", str(data), "--holdout", "2", "--sets"]
    mine = tmp_path / "mine"
    (mine / "waist_up").mkdir(parents=True)
    (mine / "waist_up" / "0001.jpg").write_bytes(b"my photo")
    _refused(CliRunner().invoke(cli, [*args, str(mine)]))
    assert (mine / "waist_up" / "0001.jpg").read_bytes() == b"my photo"
    assert os.listdir(mine) == ["waist_up"] and os.listdir(mine / "waist_up") == ["0001.jpg"]

    for _ in range(2):
        res = CliRunner().invoke(cli, [*args, str(tmp_path / "sets")])
        assert res.exit_code == 0, res.output
    assert _listed(tmp_path / "sets" / "waist_up") == ["0000.jpg", "0001.jpg", "0002.jpg", "truth.json"]


def test_build_engine_replaces_only_a_bundle_it_built_there(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from pose_track.engines.checkpoint import save_checkpoint
    from pose_track.engines.model import build_stages
    from pose_track.training.settings import TINY, TrainConfig

    torch.manual_seed(0)
    cfg = TrainConfig.from_settings(TINY).model_config()        # untrained: the export only has to match torch
    checkpoint = str(tmp_path / "tiny.pt")
    save_checkpoint(checkpoint, cfg, [m.state_dict() for m in build_stages(cfg)], trained_stages=3)
    build = ["build-engine", checkpoint, "--threads", "1", "-o"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "manifest.json").write_text('{"my": "bundle"}')
    (mine / "stage1.onnx").write_bytes(b"my model")
    _refused(CliRunner().invoke(cli, [*build, str(mine)]))
    assert (mine / "manifest.json").read_text() == '{"my": "bundle"}'
    assert (mine / "stage1.onnx").read_bytes() == b"my model"
    assert sorted(os.listdir(mine)) == ["manifest.json", "stage1.onnx"]

    for _ in range(2):
        res = CliRunner().invoke(cli, [*build, str(tmp_path / "bundle")])
        assert res.exit_code == 0, res.output
    assert _listed(tmp_path / "bundle") == ["manifest.json", "stage1.onnx", "stage2.onnx", "stage3.onnx"]
    assert sorted(os.listdir(tmp_path / "bundle")) == [OWN_OUTPUTS, *_listed(tmp_path / "bundle")]

    # Another bundle, even one pose-track built elsewhere: no record of this folder's files being written here.
    copied = tmp_path / "copied"
    shutil.copytree(tmp_path / "bundle", copied, ignore=shutil.ignore_patterns(OWN_OUTPUTS))
    before = {p.name: p.read_bytes() for p in copied.iterdir()}
    _refused(CliRunner().invoke(cli, [*build, str(copied)]))
    assert {p.name: p.read_bytes() for p in copied.iterdir()} == before


def test_bench_tracking_shows_each_clip_and_keeps_what_it_measured_when_interrupted(data, fake_model, tmp_path,
                                                                                      monkeypatch):
    from pose_track.benchmarks import tracking

    measured = tracking.benchmark_clip

    def interrupted_on_the_second_clip(*args, seed=0, **kw):
        if seed == 1:
            raise KeyboardInterrupt
        return measured(*args, seed=seed, **kw)

    monkeypatch.setattr(tracking, "benchmark_clip", interrupted_on_the_second_clip)
    res = _bench(data, tmp_path / "work", "--clips", "3", "--json", str(tmp_path / "figures.json"))
    assert res.exit_code == 1 and "tracking clip 1 of 3" in res.output and "tracking clip 2 of 3" in res.output
    assert "interrupted after 1 of 3 clips" in res.output and "\nmean " in res.output
    import json

    figures = json.loads((tmp_path / "figures.json").read_text())
    assert len(figures["rows"]) == 1 and figures["clips"] == ["im1001.jpg"]


def test_bench_tracking_stopped_by_a_fault_keeps_the_clips_measured_before_it(data, fake_model, tmp_path,
                                                                              monkeypatch):
    import errno
    import json

    from pose_track.benchmarks import tracking

    measured = tracking.benchmark_clip

    def disk_full_on_the_second_clip(*args, seed=0, **kw):
        if seed == 1:
            raise OSError(errno.ENOSPC, "No space left on device", "clip_1.mp4")
        return measured(*args, seed=seed, **kw)

    monkeypatch.setattr(tracking, "benchmark_clip", disk_full_on_the_second_clip)
    res = _bench(data, tmp_path / "work", "--clips", "3", "--json", str(tmp_path / "figures.json"))
    assert res.exit_code == 1 and "stopped by an error after 1 of 3 clips" in res.output and "\nmean " in res.output
    assert res.output.strip().splitlines()[-1] == "Error: clip_1.mp4: No space left on device", res.output
    assert len(json.loads((tmp_path / "figures.json").read_text())["rows"]) == 1


def test_bench_tracking_interrupted_on_its_first_clip_ends_as_interrupted(data, fake_model, tmp_path, monkeypatch):
    from pose_track.benchmarks import tracking

    def interrupted(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(tracking, "benchmark_clip", interrupted)
    res = _bench(data, tmp_path / "work", "--clips", "2", "--json", str(tmp_path / "figures.json"))
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    assert "KeyError" not in repr(res.exception) and not (tmp_path / "figures.json").exists()


@pytest.mark.parametrize("scene", ["a_file.txt", "person.png"])
def test_bench_tracking_hard_refuses_an_empty_scene_it_cannot_read_or_with_a_person(data, fake_model, tmp_path, scene):
    import cv2

    (tmp_path / "a_file.txt").write_text("not a video")
    cv2.imwrite(str(tmp_path / "person.png"), np.full((48, 64, 3), 90, np.uint8))    # the fake model sees one
    res = _bench(data, tmp_path / "work", "--hard", "--clips", "1", "--empty-scene", str(tmp_path / scene))
    assert res.exit_code == 1 and "--empty-scene" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "work").exists()


def test_bench_tracking_workdir_under_a_file_is_one_line(data, fake_model, tmp_path):
    (tmp_path / "a_file").write_text("mine")
    res = _bench(data, tmp_path / "a_file" / "work", "--clips", "1")
    assert res.exit_code == 1 and "cannot make --workdir" in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1 and (tmp_path / "a_file").read_text() == "mine"
