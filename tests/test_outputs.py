"""Never destroy input: every command refuses, before writing anything, an output that is an input or would
land on one (engines.outputs.check_outputs); a run that fails keeps what it processed and leaves no empty file."""
import hashlib
import os
import shutil
import stat

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import pose_track.commands.video as commands
from pose_track.cli import cli
from pose_track.engines.outputs import OWN_OUTPUTS, OutputConflict, check_outputs, partial_path, write_text
from pose_track.benchmarks.clipmaker import make_clip, synthetic_person
from conftest import REPO
from fakes import FakeCascade, estimator_of
from pose_track.tracker.sinks import read_pose_csv


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    infos = []
    for seed in (0, 1):
        img, joints = synthetic_person(64, 48, seed)
        infos.append(make_clip(img, joints, d / f"c{seed}.mp4", n_frames=20, fps=25, seed=seed))
    return d, infos


@pytest.fixture
def photos(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    for i in range(2):
        cv2.imwrite(str(d / f"p{i}.jpg"), synthetic_person(64, 48, i)[0])
    return d


@pytest.fixture
def fake_model(monkeypatch, clips):
    gt = np.concatenate([i.joints for i in clips[1]])
    monkeypatch.setattr(commands, "load_estimator", estimator_of(FakeCascade(gt, noise=0.01)))


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _one_line_refusal(res):
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1, res.output


def test_check_outputs_rules(tmp_path):
    clip, bundle, folder = tmp_path / "a.mp4", tmp_path / "bundle", tmp_path / "videos"
    clip.write_bytes(b"video")
    bundle.mkdir()
    (bundle / "manifest.json").write_text("{}")
    folder.mkdir()
    (tmp_path / "link.mp4").symlink_to(clip)
    inputs = dict(inputs=[clip, bundle, "0", "rtsp://cam/1", None], input_folders=[folder])
    check_outputs([("--csv", tmp_path / "a.csv"), ("--ndjson", "-"), ("--render", tmp_path / "out/"),
                   ("--json", bundle / "new.json")], **inputs)
    for option, path, says in [("--render", clip, "overwrite the input"),
                               ("--render", tmp_path / "link.mp4", "overwrite the input"),
                               ("--csv", f"{tmp_path}/videos/../a.mp4", "overwrite the input"),
                               ("--json", bundle / "manifest.json", "in the input folder"),
                               ("--csv", f"{folder}/", "is the input folder"),
                               ("--out", bundle, "is the input folder")]:
        with pytest.raises(OutputConflict, match=says) as e:
            check_outputs([(option, str(path))], **inputs)
        assert e.value.exit_code == 2 and "\n" not in e.value.message
    with pytest.raises(OutputConflict, match="--csv and --ndjson would both write"):
        check_outputs([("--csv", tmp_path / "x.csv"), ("--ndjson", f"{tmp_path}/./x.csv")])


def test_write_text_replaces_whole(tmp_path):
    path = tmp_path / "r.json"
    write_text(path, "one")
    write_text(path, "two")
    assert path.read_text() == "two" and os.listdir(tmp_path) == ["r.json"]
    assert partial_path("d/clip.mp4") == f"d/clip.partial-{os.getpid()}.mp4"


def test_a_name_as_long_as_a_file_system_takes_still_gets_a_partial_name_there(tmp_path):
    stem = "\u00e9" * 60 + "x" * 127                                  # 255 bytes with ".raw.csv"
    names = [stem + ".csv", stem + ".raw.csv", "a." + "b" * 250]
    partials = [partial_path(tmp_path / name) for name in names]
    assert len(set(partials)) == 3                  # x.csv and x.raw.csv cut to one beginning: still two files
    for name, partial in zip(names, partials):
        base = os.path.basename(partial)
        assert len(os.fsencode(base)) <= 255 and f".partial-{os.getpid()}" in base and not base.startswith(".")
        write_text(tmp_path / name, name)
    assert sorted(os.listdir(tmp_path)) == sorted(names)
    assert all((tmp_path / name).read_text() == name for name in names)


@pytest.mark.parametrize("render", ["folder", "file"])
def test_video_render_onto_its_input_is_refused_and_the_input_is_untouched(tmp_path, clips, fake_model, render):
    d, _ = clips
    before = _digests(d)
    target = f"{d}/" if render == "folder" else str(d / "c0.mp4")
    inputs = [str(d)] if render == "folder" else [str(d / "c0.mp4")]
    res = CliRunner().invoke(commands.video, [*inputs, "--render", target, "--csv", str(tmp_path / "o.csv")])
    _one_line_refusal(res)
    assert _digests(d) == before and not (tmp_path / "o.csv").exists()


def test_video_outputs_onto_inputs_are_refused(tmp_path, clips, fake_model):
    d, _ = clips
    before = _digests(d)
    for args in (["--csv", d / "c1.mp4"], ["--ndjson", d / "c0.mp4"],
                 ["--csv", tmp_path / "o.csv", "--raw-csv", tmp_path / "o.csv"]):
        res = CliRunner().invoke(commands.video, [str(d / "c0.mp4"), str(d / "c1.mp4"), *map(str, args)])
        _one_line_refusal(res)
    res = CliRunner().invoke(commands.video, [str(d), "--raw-csv", f"{d}/"])
    _one_line_refusal(res)
    res = CliRunner().invoke(commands.video, [str(d / "c0.mp4"), "--csv", "-", "--ndjson", "-"])
    _one_line_refusal(res)
    res = CliRunner().invoke(commands.webcam, ["--device", str(d / "c0.mp4"), "--render", str(d / "c0.mp4")])
    _one_line_refusal(res)
    assert _digests(d) == before and os.listdir(tmp_path) == []


def test_video_render_folder_beside_the_inputs_still_works(tmp_path, clips, fake_model):
    d, _ = clips
    res = CliRunner().invoke(commands.video, [str(d / "c0.mp4"), "--render", f"{tmp_path}/", "--csv",
                                              str(tmp_path / "c0.csv")])
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(tmp_path)) == [OWN_OUTPUTS, "c0.csv", "c0.mp4"]


def test_a_file_of_the_users_in_an_output_folder_is_never_replaced(tmp_path, clips, fake_model):
    # walk.mp4 beside walk.avi: `--render folder/` would name its render walk.mp4.
    d, _ = clips
    folder = tmp_path / "mix"
    folder.mkdir()
    shutil.copy(d / "c0.mp4", folder / "walk.avi")
    (folder / "walk.mp4").write_text("my precious")
    (folder / "walk.csv").write_text("my labels")
    for option in ("--render", "--csv"):
        res = CliRunner().invoke(commands.video, [str(folder / "walk.avi"), option, f"{folder}/"])
        assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
        assert "which is not a file pose-track wrote there" in res.output
    assert (folder / "walk.mp4").read_text() == "my precious" and (folder / "walk.csv").read_text() == "my labels"
    assert sorted(os.listdir(folder)) == ["walk.avi", "walk.csv", "walk.mp4"]


def test_a_csv_of_pose_tracks_format_in_a_listed_folder_is_still_the_users(tmp_path, clips, fake_model):
    # A ground truth in the same schema beside its clip: the folder has a list, and the CSV is not on it.
    d, _ = clips
    shutil.copy(d / "c0.mp4", tmp_path / "walk.mp4")
    args = [str(tmp_path / "walk.mp4"), "--csv", f"{tmp_path}/", "--max-frames", "2"]
    assert CliRunner().invoke(commands.video, args).exit_code == 0
    truth = (tmp_path / "walk.csv").read_text()
    os.rename(tmp_path / "walk.csv", tmp_path / "walk_truth.csv")
    shutil.copy(d / "c0.mp4", tmp_path / "walk_truth.mp4")
    res = CliRunner().invoke(commands.video, [str(tmp_path / "walk_truth.mp4"), "--csv", f"{tmp_path}/"])
    assert res.exit_code == 2 and "not a file pose-track wrote there" in res.output, res.output
    assert (tmp_path / "walk_truth.csv").read_text() == truth


def test_a_csv_folder_written_before_the_list_of_own_outputs_can_be_written_again(tmp_path, clips, fake_model):
    d, _ = clips
    args = [str(d / "c0.mp4"), "--csv", f"{tmp_path}/out/", "--ndjson", f"{tmp_path}/out/"]
    assert CliRunner().invoke(commands.video, args).exit_code == 0
    os.remove(tmp_path / "out" / OWN_OUTPUTS)
    res = CliRunner().invoke(commands.video, args)
    assert res.exit_code == 0, res.output


def test_a_render_folder_can_be_written_again(tmp_path, clips, fake_model):
    d, _ = clips
    for _ in range(2):
        res = CliRunner().invoke(commands.video, [str(d / "c0.mp4"), "--render", f"{tmp_path}/out/",
                                                  "--csv", f"{tmp_path}/out/"])
        assert res.exit_code == 0, res.output
    assert sorted(os.listdir(tmp_path / "out")) == [OWN_OUTPUTS, "c0.csv", "c0.mp4"]


def test_render_without_a_video_suffix_is_one_line_before_anything_is_written(tmp_path, clips, fake_model):
    d, _ = clips
    res = CliRunner().invoke(commands.video, [str(d / "c0.mp4"), "--render", str(tmp_path / "out"),
                                              "--csv", str(tmp_path / "o.csv")])
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1
    assert ".mp4" in res.output and "folder ending with '/'" in res.output
    assert os.listdir(tmp_path) == []


class _FailingCascade(FakeCascade):
    """Fails on the `at`-th frame."""

    def __init__(self, gt, at):
        super().__init__(gt)
        self.at = at

    def predict(self, image, boxes):
        result = super().predict(image, boxes)
        if self.frame >= self.at:
            raise RuntimeError("the model failed")
        return result


@pytest.mark.parametrize("at", [0, 7])
def test_a_failed_run_keeps_what_it_processed_and_leaves_no_empty_file(monkeypatch, tmp_path, clips, at):
    d, infos = clips
    monkeypatch.setattr(commands, "load_estimator", estimator_of(_FailingCascade(infos[0].joints, at)))
    old = tmp_path / "old.csv"
    old.write_text("an earlier run\n")
    res = CliRunner().invoke(commands.video, [str(d / "c0.mp4"), "--csv", str(tmp_path / "o.csv"), "--raw-csv",
                                              str(old), "--ndjson", str(tmp_path / "o.ndjson"), "--render",
                                              str(tmp_path / "o.avi")])
    assert isinstance(res.exception, RuntimeError)
    if at == 0:
        assert os.listdir(tmp_path) == ["old.csv"] and old.read_text() == "an earlier run\n"
    else:
        assert sorted(os.listdir(tmp_path)) == ["o.avi", "o.csv", "o.ndjson", "old.csv"]
        assert list(read_pose_csv(tmp_path / "o.csv")[str(d / "c0.mp4")]["frame"]) == list(range(at))
        assert len(read_pose_csv(old)[str(d / "c0.mp4")]["frame"]) == at
        assert len((tmp_path / "o.ndjson").read_text().splitlines()) == at


def test_images_render_into_the_photo_folder_is_refused_and_the_photos_are_untouched(photos, tmp_path,
                                                                                     fake_model):
    before = _digests(photos)
    for args in (["--render", str(photos)], ["--render", f"{photos}/"], ["--csv", str(photos / "p1.jpg")]):
        res = CliRunner().invoke(cli, ["images", str(photos), "--csv", str(tmp_path / "o.csv"), *args])
        _one_line_refusal(res)
    res = CliRunner().invoke(cli, ["images", str(photos / "p0.jpg"), "--csv", str(tmp_path / "o.csv"),
                                   "--render", str(photos)])
    _one_line_refusal(res)
    assert _digests(photos) == before and not (tmp_path / "o.csv").exists()


def test_a_file_and_a_folder_of_one_path_are_refused_and_a_device_takes_two_outputs(tmp_path):
    for outputs in ([("--csv", tmp_path / "same"), ("--render", f"{tmp_path}/same/")],
                    [("--render", f"{tmp_path}/same/"), ("--csv", tmp_path / "same")]):
        with pytest.raises(OutputConflict, match="would both write"):
            check_outputs(outputs)
    check_outputs([("--csv", f"{tmp_path}/out/"), ("--render", f"{tmp_path}/out/")])    # files of their own there
    check_outputs([("--csv", os.devnull), ("--ndjson", os.devnull)])


def test_images_with_csv_and_render_on_one_path_is_refused_before_anything_is_made(photos, tmp_path, fake_model):
    same = tmp_path / "same.csv"
    res = CliRunner().invoke(cli, ["images", str(photos), "--csv", str(same), "--render", str(same)])
    _one_line_refusal(res)
    assert "would both write" in res.output and not same.exists()


def test_images_render_onto_a_folder_of_an_images_name_is_one_line_before_any_work(photos, tmp_path, fake_model):
    (tmp_path / "r" / "p1.jpg").mkdir(parents=True)
    res = CliRunner().invoke(cli, ["images", str(photos), "--csv", str(tmp_path / "o.csv"),
                                   "--render", str(tmp_path / "r")])
    _one_line_refusal(res)
    assert "p1.jpg, a folder" in res.output and not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("args", [["--render", "-"], ["--engine", "models/deeppose_lsp/int8", "--checkpoint",
                                                      "models/deeppose_lsp/checkpoint.pt"]])
def test_images_render_to_stdout_or_two_models_is_one_line(args, photos, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = [os.path.join(REPO, a) if a.startswith("models/") else a for a in args]
    res = CliRunner().invoke(cli, ["images", str(photos), "--csv", str(tmp_path / "o.csv"), *args])
    assert res.exit_code == 2 and "Traceback" not in res.output and len(res.output.strip().splitlines()) <= 4
    assert res.output.strip().splitlines()[-1].startswith("Error:") and not (tmp_path / "-").exists(), res.output


def test_a_users_file_put_in_place_of_one_pose_track_wrote_is_refused_and_a_copied_folder_still_reruns(
        photos, tmp_path, fake_model, monkeypatch):
    import pose_track.commands.images as images_commands

    monkeypatch.setattr(images_commands, "load_estimator", commands.load_estimator)     # the fake model
    run = ["images", str(photos), "--csv", str(tmp_path / "o.csv")]
    assert CliRunner().invoke(cli, [*run, "--render", str(tmp_path / "r")]).exit_code == 0
    shutil.copytree(tmp_path / "r", tmp_path / "copy")
    res = CliRunner().invoke(cli, [*run, "--render", str(tmp_path / "copy")])
    assert res.exit_code == 0, res.output                 # its files, copied: the same files
    shutil.copyfile(photos / "p1.jpg", tmp_path / "r" / "p0.jpg")     # the user's own file under a listed name
    mine = _digests(tmp_path / "r")["p0.jpg"]
    res = CliRunner().invoke(cli, [*run, "--render", str(tmp_path / "r")])
    _one_line_refusal(res)
    assert "p0.jpg, which is not a file pose-track wrote there" in res.output
    assert _digests(tmp_path / "r")["p0.jpg"] == mine


def test_a_list_from_before_fingerprints_still_names_pose_tracks_files(tmp_path):
    from pose_track.engines.outputs import parse_own_outputs, refuse_replacing_others

    (tmp_path / "a.mp4").write_bytes(b"old run")
    (tmp_path / OWN_OUTPUTS).write_text("a.mp4\n")
    refuse_replacing_others([("--render", tmp_path / "a.mp4")])
    lines = ["a.mp4\n", "tab\tname.csv\n", "b.csv\t12:" + "0" * 32 + "\n", "a.mp4\t7:" + "f" * 32]
    assert parse_own_outputs(lines) == {"a.mp4": {"7:" + "f" * 32}, "tab\tname.csv": None, "b.csv": {"12:" + "0" * 32}}


def test_video_makes_missing_output_folders_and_leaves_none_it_did_not_fill(tmp_path, clips, fake_model):
    d, _ = clips
    res = CliRunner().invoke(cli, ["video", str(d / "c0.mp4"), "--csv", f"{tmp_path}/a/b/", "--render",
                                   f"{tmp_path}/c/d/"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "a" / "b" / "c0.csv").is_file() and (tmp_path / "c" / "d" / "c0.mp4").is_file()
    (tmp_path / "pictures").mkdir()
    (tmp_path / "pictures" / "broken.jpg").write_text("not a picture")      # opens, then gives no frame
    res = CliRunner().invoke(cli, ["video", str(tmp_path / "pictures"), "--csv", f"{tmp_path}/e/f/"])
    assert res.exit_code == 1 and "no readable image" in res.output and not (tmp_path / "e").exists(), res.output
    res = CliRunner().invoke(cli, ["video", str(d / "c0.mp4"), "--csv", f"{tmp_path}/g/h/{'x' * 300}/"])
    assert res.exit_code == 1 and "cannot create output folder" in res.output and not (tmp_path / "g").exists()


def test_every_file_pose_track_wrote_under_a_name_counts_and_names_with_newlines_stay_whole(tmp_path):
    from pose_track.engines.outputs import note_own_output, refuse_replacing_others

    out = tmp_path / "out"
    out.mkdir()
    run = out / "model.pt"
    for version in ("first", "second"):           # rewritten, then a run stopped before listing the third
        run.write_text(version)
        note_own_output(run)
    run.write_text("first")
    refuse_replacing_others([("--out", run)])
    for odd in (out / "x.jpg\nb.jpg", out / "x.jpg\rb.jpg"):
        odd.write_text("pose-track's")
        note_own_output(odd)
        refuse_replacing_others([("--render", odd)])
    (out / "x.jpg").write_text("the user's")        # not listed: the odd name's first line is no name of its own
    with pytest.raises(OutputConflict, match="not a file pose-track wrote there"):
        refuse_replacing_others([("--render", out / "x.jpg")])


def test_two_outputs_to_dev_null_are_taken_also_where_stdout_is_dev_null():
    import subprocess
    import sys

    code = ("from pose_track.engines.outputs import check_outputs; "
            "check_outputs([('--csv', '/dev/null'), ('--ndjson', '/dev/null'), ('--raw-csv', '-')])")
    with open(os.devnull, "w") as null:
        run = subprocess.run([sys.executable, "-c", code], stdout=null, stderr=subprocess.PIPE, text=True)
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("given", ["link", "link/"])
def test_images_render_to_a_link_to_nothing_is_one_line_before_any_work(given, photos, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.symlink("nowhere", "link")
    res = CliRunner().invoke(cli, ["images", str(photos), "--csv", "o.csv", "--render", given])
    _one_line_refusal(res)
    assert "is a link to nothing" in res.output and not (tmp_path / "o.csv").exists()


def test_images_may_write_beside_the_photos_when_nothing_collides(photos, tmp_path):
    from pose_track.commands.images import refuse_overwriting_inputs

    (photos / "poses.csv").write_text("an earlier run\n")     # its own earlier output is not an input
    refuse_overwriting_inputs(str(photos), str(photos / "poses.csv"), str(tmp_path / "r"))
    refuse_overwriting_inputs(str(photos / "p0.jpg"), str(photos / "poses.csv"), str(photos / "annotated"))


def test_other_commands_refuse_outputs_onto_inputs(tmp_path, fake_lsp):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"weights")
    calib = tmp_path / "calib"
    calib.mkdir()
    for args in (["build-engine", str(ckpt), "--calib", str(calib), "-o", str(calib)],
                 ["bench", "--engine", str(ckpt), "--json", str(ckpt)],
                 ["bench-tracking", "--data", fake_lsp, "--workdir", fake_lsp],
                 ["bench-tracking", "--data", fake_lsp, "--engine", str(ckpt), "--json", str(ckpt)],
                 ["train", "--data", fake_lsp, "--out", fake_lsp, "--no-export"],
                 ["train", "--data", fake_lsp, "--out", str(tmp_path), "--init-from", str(tmp_path / "model.pt"),
                  "--no-export"],
                 ["demo", "--out", str(calib), "--engine", str(calib)]):
        res = CliRunner().invoke(cli, args)
        _one_line_refusal(res)
    assert ckpt.read_bytes() == b"weights" and os.listdir(calib) == []
    assert sorted(os.listdir(tmp_path)) == ["calib", "model.pt"]


def test_outputs_inside_a_data_folder_and_two_on_stdout_are_refused(tmp_path):
    data = tmp_path / "data"
    (data / "lsp").mkdir(parents=True)
    (data / "lsp" / "joints.mat").write_bytes(b"labels")
    for outputs, says in [([("--csv", data / "lsp" / "joints.mat")], "in the input folder"),
                          ([("--sets", f"{data}/lsp/new/")], "inside the input folder"),
                          ([("--csv", "-"), ("--ndjson", "-")], "both write to stdout")]:
        with pytest.raises(OutputConflict, match=says):
            check_outputs(outputs, inputs=[data])
    check_outputs([("--csv", "-"), ("--json", tmp_path / "r.json"), ("--sets", f"{tmp_path}/sets/")], inputs=[data])


def test_eval_commands_never_write_over_their_data(tmp_path, fake_lsp):
    labels = os.path.join(fake_lsp, "joints.mat")
    before = open(labels, "rb").read()
    for args in (["eval", "--data", fake_lsp, "--limit", "1", "--csv", labels],
                 ["eval-framing", "--data", fake_lsp, "--json", labels],
                 ["eval-framing", "--data", fake_lsp, "--sets", os.path.join(fake_lsp, "images", "")]):
        _one_line_refusal(CliRunner().invoke(cli, args))
    assert open(labels, "rb").read() == before
    res = CliRunner().invoke(cli, ["eval-framing", "--data", fake_lsp, "--holdout", "0"])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_same_named_inputs_get_different_output_files():
    from pose_track.commands.video_outputs import unique_stems
    from pose_track.commands.images import render_path

    assert unique_stems(["a/x.mp4", "a/x_2.avi", "a/x.avi"]) == ["x", "x_2", "x_3"]
    assert unique_stems(["x.mp4", "b/x.mp4", "x_2.mp4"]) == ["x", "x_3", "x_2"]
    assert render_path("r", "a.jpg") != render_path("r", "a.png")


def test_a_csv_named_as_a_folder_or_in_an_unwritable_place_is_one_line(tmp_path, photos):
    from pose_track.tracker.sinks import SinkError, check_writable

    res = CliRunner().invoke(cli, ["images", str(photos), "--csv", f"{tmp_path}/newdir/"])
    assert res.exit_code == 1 and "folder" in res.output and len(res.output.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == ["photos"]
    if os.path.isdir("/proc/self"):
        with pytest.raises(SinkError):
            check_writable("/proc/self/pose.csv", "CSV")


def test_a_named_pipe_is_written_in_place_not_replaced(tmp_path):
    import threading

    from pose_track.tracker.sinks import OutputFile

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()), daemon=True)
    reader.start()
    out = OutputFile(fifo, "CSV")
    out.stream.write("a,b\n")
    out.close()
    reader.join(5)
    assert got == ["a,b\n"] and stat.S_ISFIFO(os.stat(fifo).st_mode) and os.listdir(tmp_path) == ["pipe"]


def test_a_name_is_listed_as_pose_tracks_only_once_its_file_is_there(tmp_path):
    from pose_track.commands.video_outputs import Outputs
    outputs = Outputs(csv_out=f"{tmp_path}/out/")
    Outputs.close_input(outputs.for_input("nothing_written"))        # no frame: no file, no listing
    assert not (tmp_path / "out" / "nothing_written.csv").exists()
    assert not (tmp_path / "out" / OWN_OUTPUTS).exists()
    (tmp_path / "out" / "nothing_written.csv").write_text("the user's own")
    with pytest.raises(OutputConflict):
        from pose_track.engines.outputs import refuse_replacing_others
        refuse_replacing_others([("--csv", str(tmp_path / "out" / "nothing_written.csv"))])


def test_stdout_by_another_name_counts_as_stdout(tmp_path):
    import subprocess
    import sys

    code = ("from pose_track.engines.outputs import check_outputs, OutputConflict\n"
            "try:\n"
            "    check_outputs([('--csv', '/dev/stdout'), ('--ndjson', '-')])\n"
            "except OutputConflict as e:\n"
            "    print('refused:', e)\n")
    with open(tmp_path / "out.txt", "w") as out:
        subprocess.run([sys.executable, "-c", code], stdout=out, check=True)
    assert "refused: --csv and --ndjson would both write to stdout" in (tmp_path / "out.txt").read_text()


def test_the_list_of_own_outputs_is_never_written_or_read_through_a_link(tmp_path):
    """A folder someone hands over with its `.pose-track-outputs` a link to another file: pose-track must neither
    append to that file nor take what it lists as its own."""
    from pose_track.engines.outputs import OWN_OUTPUTS, note_own_output, own_outputs

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    folder = tmp_path / "out"
    folder.mkdir()
    os.symlink(victim, folder / OWN_OUTPUTS)
    (folder / "pose.csv").write_text("x")
    note_own_output(folder / "pose.csv")
    assert victim.read_text() == "keep me\n" and own_outputs(str(folder)) == {}
