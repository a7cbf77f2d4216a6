"""Bad input to the commands: one line on stderr and a non-zero exit, never a traceback; nothing left behind."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import pose_track.commands.images as images_commands
import pose_track.commands.video as video_commands
import pose_track.tracker.render as render
import pose_track.tracker.sinks as sinks
from pose_track.benchmarks.clipmaker import make_clip, synthetic_person
from pose_track.commands.demo import demo
from pose_track.commands.images import images
from pose_track.engines.backends import DEFAULT_BUNDLE
from pose_track.tracker.sinks import csv_header

from conftest import REPO, STANDING, draw_person, refused_in_one_line
from fakes import FakeCascade, NobodyThere, estimator_of, open_failing_after, writer_the_disk_cuts_short

N_FRAMES = 40


@pytest.fixture
def one_image(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), draw_person(STANDING))
    return folder


def _bundle_copy(folder, edit):
    """The shipped bundle's engine files (copied: a bundle's stage files are its own, not links) under a manifest
    changed by `edit`."""
    import shutil

    if not os.path.isfile(os.path.join(DEFAULT_BUNDLE, "manifest.json")):
        pytest.skip(f"the shipped bundle is missing ({DEFAULT_BUNDLE})")
    folder.mkdir()
    for name in ("stage1.onnx", "stage2.onnx"):
        shutil.copyfile(os.path.join(DEFAULT_BUNDLE, name), folder / name)
    with open(os.path.join(DEFAULT_BUNDLE, "manifest.json")) as f:
        manifest = json.load(f)
    edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _swap_stage_files(manifest):
    first, second = manifest["stages"]
    first["file"], second["file"] = second["file"], first["file"]


def _bigger_stage1_input(manifest):
    manifest["model_config"]["architecture"]["stage1_input"] = 256


@pytest.mark.parametrize("edit", [_swap_stage_files, _bigger_stage1_input])
def test_a_bundle_whose_engines_do_not_take_its_crops_is_refused_at_load(tmp_path, one_image, edit):
    bundle = _bundle_copy(tmp_path / "bundle", edit)
    res = CliRunner().invoke(images, [str(one_image), "--csv", str(tmp_path / "c.csv"), "--engine", str(bundle)])
    error = refused_in_one_line(res, exit_code=1)
    assert "cannot load the model" in error and "(stage 1)" in error and "build-engine" in error
    assert not (tmp_path / "c.csv").exists()


@pytest.mark.parametrize("args", [["--frames", "0"], ["--frames", "-5"]])
def test_demo_refuses_a_clip_without_frames(tmp_path, args):
    out = tmp_path / "demo"
    res = CliRunner().invoke(demo, [*args, "--out", str(out)])
    assert "--frames" in refused_in_one_line(res, exit_code=2)
    assert not out.exists()


def test_demo_refuses_a_file_as_its_out_folder(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    res = CliRunner().invoke(demo, ["--out", str(afile), "--frames", "2"])
    assert "--out" in refused_in_one_line(res, exit_code=2)
    assert afile.read_text() == "keep me" and os.listdir(tmp_path) == ["afile"]


def test_demo_out_folder_that_cannot_be_made_is_one_line(tmp_path):
    pytest.importorskip("skimage")
    (tmp_path / "afile").write_text("")
    for out in [str(tmp_path / "afile" / "demo")] + (["/proc/demo"] if os.path.isdir("/proc/self") else []):
        res = CliRunner().invoke(demo, ["--out", out, "--frames", "2"])
        assert f"cannot write to --out {out}" in refused_in_one_line(res, exit_code=1)
    assert os.listdir(tmp_path) == ["afile"]


def test_demo_with_a_model_that_cannot_load_writes_nothing(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{")
    out = tmp_path / "demo"
    res = CliRunner().invoke(demo, ["--out", str(out), "--frames", "2", "--engine", str(broken)])
    assert "cannot load the model" in refused_in_one_line(res, exit_code=1)
    assert not out.exists()



def test_demo_refuses_a_users_video_beside_a_demo_csv_in_a_folder_without_a_list(tmp_path, monkeypatch):
    pytest.importorskip("skimage")
    import pose_track.commands.demo as demo_command

    monkeypatch.setattr(demo_command, "load_estimator", estimator_of(FakeCascade(STANDING[None])))
    out = tmp_path / "demo"
    out.mkdir()
    (out / "astronaut.csv").write_text(",".join(csv_header()) + "\n")
    (out / "astronaut_tracked.mp4").write_text("my own video")
    res = CliRunner().invoke(demo, ["--out", str(out), "--frames", "2"])
    assert "astronaut_tracked.mp4" in refused_in_one_line(res, exit_code=2)
    assert (out / "astronaut_tracked.mp4").read_text() == "my own video"


def test_an_interrupted_demo_lists_what_it_kept_so_the_next_demo_may_replace_it(tmp_path, monkeypatch):
    pytest.importorskip("skimage")
    import pose_track.commands.demo as demo_command

    def interrupted_after_the_csv(args, standalone_mode=True):
        with open(args[args.index("--csv") + 1], "w") as f:
            f.write(",".join(csv_header()) + "\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_command, "load_estimator", estimator_of(FakeCascade(STANDING[None])))
    monkeypatch.setattr(demo_command.video, "main", interrupted_after_the_csv)
    out = tmp_path / "demo"
    res = CliRunner().invoke(demo, ["--out", str(out), "--frames", "2"])
    assert res.exit_code != 0          # click takes the KeyboardInterrupt as an abort
    from pose_track.engines.outputs import own_outputs

    assert sorted(own_outputs(out)) == ["astronaut.csv", "astronaut.mp4"]

@pytest.fixture
def clip_and_fake_model(tmp_path, monkeypatch):
    img, joints = synthetic_person(64, 48, 0)
    info = make_clip(img, joints, tmp_path / "clip.avi", n_frames=N_FRAMES, fps=25, seed=0, translate=0.08)
    monkeypatch.setattr(video_commands, "load_estimator", estimator_of(FakeCascade(info.joints)))
    return tmp_path / "clip.avi"


def test_max_frames_is_no_truncated_file_but_a_cut_file_is(tmp_path, clip_and_fake_model):
    clip = clip_and_fake_model
    res = CliRunner().invoke(video_commands.video, [str(clip), "--max-frames", "5", "--csv", str(tmp_path / "a.csv")])
    assert res.exit_code == 0 and "stopped: max 5 frames" in res.output, res.output
    assert "decoding stopped" not in res.output
    res = CliRunner().invoke(video_commands.webcam, ["--device", str(clip), "--max-frames", "5",
                                                     "--csv", str(tmp_path / "b.csv")])
    assert res.exit_code == 0 and "decoding stopped" not in res.output, res.output

    cut = tmp_path / "cut.avi"
    data = clip.read_bytes()
    cut.write_bytes(data[:len(data) * 6 // 10])
    res = CliRunner().invoke(video_commands.video, [str(cut), "--csv", str(tmp_path / "c.csv")])
    # The frames it holds are kept; that the rest could not be read is an error, for scripts to see.
    assert res.exit_code == 1 and f"of {N_FRAMES} frames (truncated file?)" in res.output, res.output
    assert res.output.strip().splitlines()[-1].startswith("Error: ")
    rows = (tmp_path / "c.csv").read_text().splitlines()[1:]
    assert 0 < len(rows) < N_FRAMES


def test_unreadable_images_in_a_folder_exit_non_zero_after_the_readable_ones_are_written(tmp_path, monkeypatch):
    img, joints = synthetic_person(64, 48, 0)
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(folder / name), img)
    (folder / "broken.jpg").write_text("not a picture")
    whole = cv2.imencode(".jpg", img)[1].tobytes()
    (folder / "c.jpg").write_bytes(whole)
    (folder / "d_cut.jpg").write_bytes(whole[:len(whole) // 2])     # OpenCV would decode its missing half grey
    monkeypatch.setattr(video_commands, "load_estimator", estimator_of(FakeCascade(np.asarray(joints)[None])))
    res = CliRunner().invoke(video_commands.video, [str(folder), "--csv", str(tmp_path / "o.csv")])
    assert res.exit_code == 1, res.output
    assert res.output.strip().splitlines()[-1] == (f"Error: {folder}: 2 unreadable image(s) skipped (not an image, "
                                                   "or cut short): broken.jpg, d_cut.jpg")
    assert [r.split(",")[0] for r in (tmp_path / "o.csv").read_text().splitlines()[1:]] == ["a.png", "b.png", "c.jpg"]


def test_video_over_two_folders_names_each_picture_by_its_path_unreadable_ones_too(tmp_path, monkeypatch):
    img, joints = synthetic_person(64, 48, 0)
    for folder in ("dA", "dB"):
        (tmp_path / folder).mkdir()
        cv2.imwrite(str(tmp_path / folder / "x.jpg"), img)
    (tmp_path / "dB" / "y.jpg").write_text("not a picture")
    monkeypatch.setattr(video_commands, "load_estimator", estimator_of(FakeCascade(np.asarray(joints)[None])))
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(video_commands.video, ["dA", "dB/", "--csv", "o.csv"])
    assert res.exit_code == 1 and "skipped (not an image, or cut short): dB/y.jpg\n" in res.output, res.output
    rows = (tmp_path / "o.csv").read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == [os.path.join("dA", "x.jpg"), os.path.join("dB", "x.jpg")]
    res = CliRunner().invoke(video_commands.video, ["dA", "--csv", "one.csv"])
    assert res.exit_code == 0 and (tmp_path / "one.csv").read_text().splitlines()[1].startswith("x.jpg,0,")


def _png_claiming(width: int, height: int, image) -> bytes:
    """A PNG of `image` whose header claims another size (its checksum made right)."""
    import struct
    import zlib

    data = bytearray(cv2.imencode(".png", image)[1].tobytes())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.mark.parametrize("command", ["images", "video"])
def test_a_picture_claiming_more_pixels_than_opencv_decodes_is_skipped_and_the_next_ones_written(
        command, tmp_path, monkeypatch):
    img, joints = synthetic_person(64, 48, 0)
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), img)
    (folder / "b_huge.png").write_bytes(_png_claiming(40000, 30000, img))
    cv2.imwrite(str(folder / "c.png"), img)
    module = images_commands if command == "images" else video_commands
    monkeypatch.setattr(module, "load_estimator", estimator_of(FakeCascade(np.asarray(joints)[None])))
    res = CliRunner().invoke(module.images if command == "images" else module.video,
                             [str(folder), "--csv", str(tmp_path / "o.csv")])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output
    assert res.output.strip().splitlines()[-1].startswith("Error: ")
    assert res.output.strip().endswith("b_huge.png (40000 x 30000 pixels, over the 1073741824 OpenCV reads: set "
                                       "OPENCV_IO_MAX_IMAGE_PIXELS to read it, or shrink it)")
    assert [r.split(",")[0] for r in (tmp_path / "o.csv").read_text().splitlines()[1:]] == ["a.png", "c.png"]


def _cli(args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    env.update(env_extra or {})
    code = "import sys; from pose_track.cli import main; sys.argv[0] = 'pose-track'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)


def test_ffmpeg_log_lines_stay_quiet_unless_the_user_asks(tmp_path):
    # A fresh process: OpenCV reads the variable once, at the process's first FFmpeg use.
    text = tmp_path / "text.mp4"
    text.write_text("not a video\n" * 10)
    run = _cli(["video", str(text), "--csv", str(tmp_path / "x.csv")])
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [f"Error: cannot open video {text}: corrupt, truncated or "
                                               "unsupported format"], run.stderr
    # OpenCV prints FFmpeg's lines on stdout once the variable is set.
    run = _cli(["video", str(text), "--csv", str(tmp_path / "x.csv")], {"OPENCV_FFMPEG_LOGLEVEL": "16"})
    assert run.returncode == 1 and "moov atom not found" in run.stdout + run.stderr, run.stdout + run.stderr


@pytest.mark.parametrize("option, name", [("--checkpoint", "missing.pt"), ("--engine", "missing.pt"),
                                          ("--engine", "missing_dir")])
def test_a_model_path_that_does_not_exist_says_so(tmp_path, one_image, option, name):
    missing = tmp_path / name
    res = CliRunner().invoke(images, [str(one_image), "--csv", str(tmp_path / "c.csv"), option, str(missing)])
    assert refused_in_one_line(res, exit_code=1) == f"Error: cannot load the model: {missing}: no such file or folder"


def test_images_never_replace_a_picture_of_the_users_in_the_render_folder(tmp_path):
    img, _ = synthetic_person(64, 48, 0)
    photos, annotated = tmp_path / "new", tmp_path / "old"
    photos.mkdir()
    annotated.mkdir()
    cv2.imwrite(str(photos / "IMG_1.jpg"), img)
    (annotated / "IMG_1.jpg").write_bytes(b"an older photo of the user's")
    res = CliRunner().invoke(images, [str(photos), "--csv", str(tmp_path / "o.csv"), "--render", str(annotated)])
    assert "which is not a file pose-track wrote there" in refused_in_one_line(res, exit_code=2)
    assert (annotated / "IMG_1.jpg").read_bytes() == b"an older photo of the user's"
    assert not (tmp_path / "o.csv").exists()


def test_images_with_no_readable_picture_leave_no_render_folder(tmp_path, monkeypatch):
    import pose_track.commands.images as images_command
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_text("not a picture")
    monkeypatch.setattr(images_command, "load_estimator", estimator_of(FakeCascade(np.zeros((1, 14, 2)))))
    res = CliRunner().invoke(images, [str(photos), "--csv", str(tmp_path / "o.csv"), "--render",
                                      str(tmp_path / "annotated")])
    assert "no readable image" in refused_in_one_line(res, exit_code=1)
    assert sorted(os.listdir(tmp_path)) == ["photos"]


@pytest.mark.parametrize("args", [
    ["bench", "--runs", "0"], ["bench", "--frames", "0"], ["bench", "--threads", "-1"], ["bench", "--images", "-5"],
    ["bench-tracking", "--frames", "5"], ["bench-tracking", "--clips", "-1"], ["bench-tracking", "--clips", "0"],
    ["train", "--tiny", "--max-images", "0"], ["train", "--tiny", "--batch-size", "0"], ["train", "--tiny", "--lr", "-1"],
    ["train", "--tiny", "--input-size", "33"], ["train", "--tiny", "--epochs", "-1"], ["train", "--tiny", "--stages", "0"],
    ["train", "--tiny", "--negative-share", "2"]])
def test_nonsense_numbers_are_refused_in_one_line(args, tmp_path):
    from pose_track.cli import cli
    res = CliRunner().invoke(cli, [*args, *(["--out", str(tmp_path / "run")] if args[0] == "train" else [])])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert res.output.strip().splitlines()[-1].startswith("Error: Invalid value"), res.output
    assert not (tmp_path / "run").exists()


def test_bench_without_the_lsp_data_says_so(tmp_path):
    from pose_track.cli import cli
    res = CliRunner().invoke(cli, ["bench", "--data", str(tmp_path / "nowhere"), "--images", "0", "--runs", "1",
                                   "--frames", "2"])
    assert "data folder not found" in refused_in_one_line(res, exit_code=1)


def test_outputs_inside_the_data_folder_are_refused(fake_lsp, tmp_path):
    from pose_track.cli import cli
    inside = os.path.join(fake_lsp, "images", "run")
    for args in (["train", "--tiny", "--data", fake_lsp, "--out", inside, "--no-export"],
                 ["bench-tracking", "--data", fake_lsp, "--workdir", inside, "--clips", "1", "--frames", "30"]):
        res = CliRunner().invoke(cli, args)
        assert "is inside the input folder" in refused_in_one_line(res, exit_code=2)
        assert not os.path.exists(inside)


def test_lsp_extended_is_not_taken_for_lsp_test(tmp_path):
    import scipy.io
    from pose_track.training.datasets import DatasetError, lsp_test
    (tmp_path / "images").mkdir()
    scipy.io.savemat(str(tmp_path / "joints.mat"), {"joints": np.ones((14, 3, 2000))})
    with pytest.raises(DatasetError, match="is LSP-extended"):
        lsp_test(str(tmp_path))


def test_options_that_cannot_go_together_are_refused(fake_lsp, tmp_path):
    from pose_track.cli import cli
    for args in (["eval", "--data", fake_lsp, "--engine", DEFAULT_BUNDLE, "--checkpoint", str(tmp_path / "m.pt")],
                 ["train", "--tiny", "--recipe", str(tmp_path / "r.json"), "--out", str(tmp_path / "run")],
                 ["train", "--tiny", "--refit", "--out", str(tmp_path / "run")]):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 2 and "Traceback" not in res.output, res.output
        assert res.output.strip().splitlines()[-1].startswith("Error: "), res.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args", [["--scales", "0"], ["--calib-images", "-3"], ["--threads", "-2"],
                                  ["--precision", "int8", "--int8-stages", "0"]])
def test_build_engine_refuses_nonsense_in_one_line_and_leaves_no_folder(args, tmp_path):
    from pose_track.cli import cli
    res = CliRunner().invoke(cli, ["build-engine", *args, "--calib", str(tmp_path), "-o", str(tmp_path / "bundle")])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert res.output.strip().splitlines()[-1].startswith("Error: "), res.output
    assert not (tmp_path / "bundle").exists()


def test_train_that_cannot_start_leaves_no_run_folder(tmp_path):
    pytest.importorskip("torch")
    from pose_track.cli import cli
    res = CliRunner().invoke(cli, ["train", "--tiny", "--data", str(tmp_path / "nowhere"), "--out",
                                   str(tmp_path / "runs" / "run"), "--no-export"])
    assert "data folder not found" in refused_in_one_line(res, exit_code=1)
    assert not (tmp_path / "runs").exists()


def test_a_build_that_fails_leaves_no_folder(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from pose_track.cli import cli
    (tmp_path / "calib").mkdir()          # no pictures to calibrate on: found once the build has begun
    res = CliRunner().invoke(cli, ["build-engine", "--precision", "int8", "--calib", str(tmp_path / "calib"),
                                   "-o", str(tmp_path / "engines" / "int8")])
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    assert sorted(os.listdir(tmp_path)) == ["calib"]


def test_train_says_when_the_shipped_recipe_is_not_installed(tmp_path, monkeypatch):
    import pose_track.cli as cli_module

    monkeypatch.setattr(cli_module, "DEFAULT_RECIPE", str(tmp_path / "recipes" / "deeppose_lsp.json"))
    res = CliRunner().invoke(cli_module.cli, ["train", "--out", str(tmp_path / "run"), "--data",
                                              str(tmp_path / "nowhere")])
    assert res.exit_code != 0
    assert "the shipped recipe" in res.output and "is not installed" in res.output, res.output
    assert "Traceback" not in res.output


def test_a_render_the_disk_cannot_hold_is_an_error_and_the_csv_stays_whole(tmp_path, clip_and_fake_model,
                                                                            monkeypatch):
    monkeypatch.setattr(render.cv2, "VideoWriter", writer_the_disk_cuts_short(0.5))
    out, csv = tmp_path / "x.mp4", tmp_path / "all.csv"
    res = CliRunner().invoke(video_commands.video, [str(clip_and_fake_model), "--csv", str(csv),
                                                    "--render", str(out)])
    error = refused_in_one_line(res, exit_code=1)
    assert error.startswith(f"Error: writing video {out} failed: ") and not out.exists()
    assert len(csv.read_text().splitlines()) == 1 + N_FRAMES
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def _many_images(folder, n=6):
    folder.mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f"p{i}.png"), draw_person(STANDING, seed=i))
    return folder


@pytest.mark.parametrize("command", ["video", "images"])
def test_a_full_disk_keeps_the_rows_written_under_the_csvs_name(tmp_path, clip_and_fake_model, monkeypatch,
                                                                 command):
    monkeypatch.setattr(sinks, "open", open_failing_after(5000), raising=False)    # the header and some rows
    csv = tmp_path / "out.csv"
    if command == "video":
        res = CliRunner().invoke(video_commands.video, [str(clip_and_fake_model), "--csv", str(csv)])
    else:
        monkeypatch.setattr(images_commands, "load_estimator", estimator_of(FakeCascade(STANDING[None])))
        res = CliRunner().invoke(images, [str(_many_images(tmp_path / "imgs", 30)), "--csv", str(csv)])
    assert refused_in_one_line(res, exit_code=1) == f"Error: writing {csv} failed: No space left on device"
    rows = csv.read_text().splitlines()
    assert rows[0] == ",".join(csv_header()) and 1 < len(rows) < 30
    assert all(len(r.split(",")) == len(rows[0].split(",")) for r in rows)     # no row cut short
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_images_to_a_full_device_is_one_line(tmp_path, one_image, monkeypatch):
    monkeypatch.setattr(images_commands, "load_estimator", estimator_of(FakeCascade(STANDING[None])))
    res = CliRunner().invoke(images, [str(one_image), "--csv", "/dev/full"])
    assert refused_in_one_line(res, exit_code=1) == "Error: writing /dev/full failed: No space left on device"


_WITH_A_FAKE_MODEL = """
import sys
sys.path.insert(0, {tests!r})
import numpy as np
from conftest import STANDING
from fakes import {model}, estimator_of
import pose_track.commands.images as images
import pose_track.commands.video as video
images.load_estimator = video.load_estimator = estimator_of({model}(STANDING[None]))
from pose_track.cli import main
sys.argv[0] = "pose-track"
main()
"""


def _cli_process(args, model="FakeCascade", **popen):
    """`pose-track ARGS` in a process of its own, on a fake model."""
    code = _WITH_A_FAKE_MODEL.format(tests=os.path.dirname(os.path.abspath(__file__)), model=model)
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, stderr=subprocess.PIPE, text=True,
                            **popen)


@pytest.mark.parametrize("command", ["video", "images"])
def test_a_closed_stdout_is_one_line_before_any_work(tmp_path, command):
    folder = _many_images(tmp_path / "imgs", 2)
    proc = _cli_process([command, str(folder), "--csv", "-"], preexec_fn=lambda: os.close(1))  # `>&-`
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 1 and err.strip().splitlines() == [
        "Error: cannot write CSV to stdout ('-'): stdout is closed"], err


@pytest.mark.parametrize("command, option", [("video", "--ndjson"), ("video", "--csv"), ("images", "--csv")])
def test_a_reader_that_leaves_ends_the_run_quietly(tmp_path, command, option):
    # `| head -1`: the reader is gone before the run's next line (here, before its first).
    folder = _many_images(tmp_path / "imgs", 4)
    proc = _cli_process([command, str(folder), option, "-"], model="NobodyThere", stdout=subprocess.PIPE)
    proc.stdout.close()
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 0, err
    assert "Error" not in err and "Traceback" not in err and "Exception" not in err, err
    assert "stopped" in err and "nobody was found" not in err, err      # the reader left; nobody is not the news
    assert "closed it" in err and "stop requested" not in err, err       # says who stopped it


def test_nothing_reaches_stdout_for_an_input_that_cannot_be_opened(tmp_path, clip_and_fake_model, monkeypatch):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    res = CliRunner().invoke(video_commands.video, [str(text), "--csv", "-"])
    assert res.exit_code == 1 and res.stdout == "" and "cannot open video" in res.stderr, res.output
    # A readable input with nobody in it still gives the header and a row, empty, for each frame.
    monkeypatch.setattr(video_commands, "load_estimator", estimator_of(NobodyThere(STANDING[None])))
    res = CliRunner().invoke(video_commands.video, [str(clip_and_fake_model), "--csv", "-", "--max-frames", "3"])
    rows = res.stdout.splitlines()
    assert res.exit_code == 0 and rows[0] == ",".join(csv_header()) and len(rows) == 4, res.output
    assert rows[1].endswith(",,,")


def test_an_empty_input_name_is_refused(tmp_path, clip_and_fake_model):
    res = CliRunner().invoke(video_commands.video, ["", "--csv", str(tmp_path / "x.csv")])
    assert "an empty input name" in refused_in_one_line(res, exit_code=1)
    res = CliRunner().invoke(video_commands.video, [str(clip_and_fake_model), "", "--csv", str(tmp_path / "x.csv")])
    assert "an empty input name" in refused_in_one_line(res, exit_code=1)
    assert not (tmp_path / "x.csv").exists()


def test_images_takes_several_inputs_in_the_order_given(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    photos.mkdir()
    picture = np.full((40, 30, 3), 90, np.uint8)
    for name in ("b10.png", "b2.png"):
        cv2.imwrite(str(photos / name), picture)
    cv2.imwrite(str(tmp_path / "a.png"), picture)
    monkeypatch.setattr(images_commands, "load_estimator", estimator_of(FakeCascade(STANDING[None])))
    res = CliRunner().invoke(images, [str(tmp_path / "a.png"), str(photos), "--csv", str(tmp_path / "o.csv")])
    assert res.exit_code == 0, res.output
    rows = (tmp_path / "o.csv").read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == [str(tmp_path / "a.png"), str(photos / "b2.png"), str(photos / "b10.png")]
    res = CliRunner().invoke(images, [str(photos), "", "--csv", str(tmp_path / "q.csv")])
    assert "an empty input name" in refused_in_one_line(res, exit_code=1)
    res = CliRunner().invoke(images, [str(tmp_path / "a.png"), str(tmp_path / "gone.png"), "--csv",
                                      str(tmp_path / "p.csv")])
    assert refused_in_one_line(res, exit_code=1) == f"Error: input not found: {tmp_path / 'gone.png'}"
    assert not (tmp_path / "p.csv").exists()


def test_csv_to_dev_stdout_redirected_to_a_log_appends_to_it(tmp_path):
    import subprocess
    import sys

    clip = tmp_path / "c.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (48, 32))
    for _ in range(2):
        writer.write(np.full((32, 48, 3), 60, np.uint8))
    writer.release()
    log = tmp_path / "run.log"
    log.write_text("earlier\n")
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r})\n"
            "import numpy as np\n"
            "from conftest import STANDING\n"
            "from fakes import FakeCascade, estimator_of\n"
            "import pose_track.commands.video as video\n"
            "video.load_estimator = estimator_of(FakeCascade(STANDING[None]))\n"
            "from pose_track.cli import main\n"
            f"sys.argv = ['pose-track', 'video', {str(clip)!r}, '--csv', '/dev/stdout']\n"
            "main()\n")
    with open(log, "a") as out:
        subprocess.run([sys.executable, "-c", code], stdout=out, stderr=subprocess.DEVNULL, check=False)
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier" and lines[1].startswith("source,frame,time_s") and len(lines) == 4
    assert not [f for f in os.listdir(tmp_path) if "partial" in f]


@pytest.mark.parametrize("command", [["bench", "--images", "0"], ["build-engine", "-o", "engines_out"]])
def test_a_thread_count_no_machine_has_is_refused_before_any_work(command, tmp_path, monkeypatch):
    from pose_track.cli import cli

    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, [*command, "--threads", "100000"])
    assert res.exit_code == 2 and "--threads" in res.output and "Traceback" not in res.output, res.output
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("pad", ["nan", "inf", "1e308", "11"])
def test_eval_refuses_a_padding_that_is_no_number_or_too_large_in_one_line(pad):
    from pose_track.commands.evaluate import evaluate

    res = CliRunner().invoke(evaluate, ["--pad", pad, "--limit", "1"])
    assert "--pad" in refused_in_one_line(res, exit_code=2)


def test_a_bundle_whose_onnx_file_is_not_onnx_is_one_line_in_bench_too(tmp_path):
    from pose_track.cli import cli

    bundle = _bundle_copy(tmp_path / "garbage", lambda manifest: None)
    os.remove(bundle / "stage1.onnx")
    (bundle / "stage1.onnx").write_text("junk")
    res = CliRunner().invoke(cli, ["bench", "--engine", str(bundle), "--images", "0", "--runs", "1", "--frames", "2"])
    error = refused_in_one_line(res, exit_code=1)
    assert "ONNX Runtime cannot load" in error and "stage1.onnx" in error


@pytest.mark.parametrize("args", [["bench", "--frames", "100000000"], ["bench-tracking", "--frames", "3001"],
                                  ["bench-tracking", "--clips", "5000"]])
def test_benchmark_sizes_past_their_limits_are_refused_before_any_work(args, tmp_path, monkeypatch):
    from pose_track.cli import cli

    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and args[1] in res.output and "Traceback" not in res.output, res.output
    assert os.listdir(tmp_path) == []


def _lsp_with_pictures_missing(root, lsp_data, test_pictures, held_out):
    """LSP and LSP-extended folders of links to the real labels and to a few of their pictures only."""
    extended = os.path.join(os.path.dirname(lsp_data), "lspet")
    if not os.path.isfile(os.path.join(extended, "joints.mat")):
        pytest.skip("LSP-extended is not here")
    for name, source, pictures in (("lsp", lsp_data, test_pictures), ("lspet", extended, held_out)):
        os.makedirs(os.path.join(root, name, "images"))
        os.symlink(os.path.join(source, "joints.mat"), os.path.join(root, name, "joints.mat"))
        for picture in pictures:
            os.symlink(os.path.join(source, "images", picture), os.path.join(root, name, "images", picture))
    return root


def test_eval_framing_with_a_picture_missing_is_refused_in_one_line(tmp_path, lsp_data):
    from pose_track.cli import cli

    data = _lsp_with_pictures_missing(str(tmp_path / "data"), lsp_data, ["im1001.jpg", "im1002.jpg"],
                                      [f"im{k:05d}.jpg" for k in (9998, 9999, 10000)])
    res = CliRunner().invoke(cli, ["eval-framing", "--data", data, "--holdout", "3", "--limit", "3",
                                   "--json", str(tmp_path / "f.json")])
    assert refused_in_one_line(res, exit_code=1).endswith("im1003.jpg")
    assert not (tmp_path / "f.json").exists()


def test_framing_sets_that_hold_nobody_have_no_score():
    from pose_track.training.framing_eval import evaluate_framing

    r = evaluate_framing(lambda image: None, [], [], [], chest_up_set=[])
    assert r["waist_up_images"] == r["chest_up_images"] == 0
    assert r["waist_up_pck"] is r["chest_up_pck"] is r["waist_up_legs_reported_inside"] is None


def test_eval_on_a_first_picture_too_small_for_a_person_scores_it_as_missed(tmp_path, lsp_data):
    """A test picture a few pixels wide is "nobody" (one empty stage): every stage counts it as missed, whichever
    picture it is."""
    import scipy.io
    from pose_track.cli import cli

    root = tmp_path / "lsp"
    (root / "images").mkdir(parents=True)
    labels = scipy.io.loadmat(os.path.join(lsp_data, "joints.mat"))["joints"][:, :, :1002]
    scipy.io.savemat(str(root / "joints.mat"), {"joints": labels})
    cv2.imwrite(str(root / "images" / "im1001.jpg"), np.zeros((5, 5, 3), np.uint8))
    os.symlink(os.path.join(lsp_data, "images", "im1002.jpg"), root / "images" / "im1002.jpg")
    res = CliRunner().invoke(cli, ["eval", "--data", str(root), "--csv", str(tmp_path / "e.csv")])
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    rows = (tmp_path / "e.csv").read_text().splitlines()[1:]
    assert len(rows) == 2 and rows[0].split(",")[3:] == [""] * 42       # the tiny one: every cell empty


@pytest.mark.parametrize("hard", [False, True])
def test_bench_tracking_without_lsp_test_pictures_is_refused_in_one_line(tmp_path, fake_lsp, lsp_data, hard):
    """An LSP folder with no test pictures (im1001-im2000), or with one the bench needs missing."""
    from pose_track.cli import cli

    extra = ["--hard", "--clips", "1"] if hard else ["--clips", "1"]
    workdir = tmp_path / "clips"
    res = CliRunner().invoke(cli, ["bench-tracking", "--data", fake_lsp, "--frames", "30", "--workdir", str(workdir),
                                   *extra])
    assert "no LSP test images (im1001-im2000)" in refused_in_one_line(res, exit_code=1)
    data = _lsp_with_pictures_missing(str(tmp_path / "data"), lsp_data, ["im1001.jpg"], [])
    res = CliRunner().invoke(cli, ["bench-tracking", "--data", data, "--frames", "30", "--workdir", str(workdir),
                                   *extra])
    assert refused_in_one_line(res, exit_code=1).startswith("Error: cannot read image")
    assert not workdir.exists()
