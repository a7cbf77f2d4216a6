"""One picture, three commands: `images`, `video FOLDER` and `eval` run the same PoseEstimator on the shipped
model and write identical joints."""
import os
import shutil

import cv2
import numpy as np
import pytest
import scipy.io
from click.testing import CliRunner

from pose_track.cli import cli
from pose_track.commands.demo import DemoError, sample_photo_path
from pose_track.tracker.sinks import read_pose_csv


def photo_path() -> str:
    """The demo's public-domain portrait (scikit-image, a dev dependency)."""
    try:
        return sample_photo_path()
    except DemoError as exc:
        pytest.skip(str(exc))


def test_images_video_folder_and_eval_give_identical_joints(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "im1001.jpg"), cv2.imread(photo_path()))
    lsp = tmp_path / "lsp"             # an LSP-layout folder whose first test image is that picture
    (lsp / "images").mkdir(parents=True)
    shutil.copy(photos / "im1001.jpg", lsp / "images" / "im1001.jpg")
    joints = np.zeros((3, 14, 1001))
    scipy.io.savemat(str(lsp / "joints.mat"), {"joints": joints})

    runner = CliRunner()
    for args in (["images", str(photos), "--csv", str(tmp_path / "images.csv")],
                 ["video", str(photos), "--csv", str(tmp_path / "video.csv")],
                 ["eval", "--data", str(lsp), "--limit", "1", "--csv", str(tmp_path / "eval.csv")]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, (args[0], result.output)
    answers = [read_pose_csv(str(tmp_path / f"{name}.csv"))["im1001.jpg"] for name in ("images", "video", "eval")]
    first = answers[0]
    assert np.isfinite(first["joints"]).any()           # the model reported something to compare
    for other in answers[1:]:
        np.testing.assert_array_equal(np.isnan(other["joints"]), np.isnan(first["joints"]))
        np.testing.assert_allclose(other["joints"], first["joints"], atol=1e-3, equal_nan=True)
        np.testing.assert_allclose(other["conf"], first["conf"], atol=1e-4, equal_nan=True)
    assert os.listdir(photos) == ["im1001.jpg"]


def test_eval_with_its_csv_on_stdout_says_its_table_on_stderr(tmp_path):
    lsp = tmp_path / "lsp"
    (lsp / "images").mkdir(parents=True)
    cv2.imwrite(str(lsp / "images" / "im1001.jpg"), cv2.imread(photo_path()))
    scipy.io.savemat(str(lsp / "joints.mat"), {"joints": np.zeros((3, 14, 1001))})
    result = CliRunner().invoke(cli, ["eval", "--data", str(lsp), "--limit", "1", "--csv", "-"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("source,frame,time_s,") and lines[1].startswith("im1001.jpg,0,")
    assert len(lines) == 2 and "PCK@0.2" in result.stderr


def _eval_process(tmp_path, **popen):
    import subprocess
    import sys

    lsp = tmp_path / "lsp"
    (lsp / "images").mkdir(parents=True)
    for k in (1001, 1002):
        cv2.imwrite(str(lsp / "images" / f"im{k}.jpg"), cv2.imread(photo_path()))
    scipy.io.savemat(str(lsp / "joints.mat"), {"joints": np.zeros((3, 14, 1002))})
    return subprocess.Popen([sys.executable, "-m", "pose_track.cli", "eval", "--data", str(lsp), "--csv", "-"],
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), stderr=subprocess.PIPE,
                            text=True, **popen)


def test_eval_with_a_closed_stdout_is_one_line_before_any_work(tmp_path):
    proc = _eval_process(tmp_path, preexec_fn=lambda: os.close(1))          # `>&-`
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 1 and err.strip().splitlines() == [
        "Error: cannot write CSV to stdout ('-'): stdout is closed"], err


def test_eval_whose_csv_reader_leaves_ends_quietly_with_its_table_on_stderr(tmp_path):
    import subprocess

    proc = _eval_process(tmp_path, stdout=subprocess.PIPE)                 # `| head -0`
    proc.stdout.close()
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 0, err
    assert "PCK@0.2" in err and "Traceback" not in err and "Error" not in err, err
