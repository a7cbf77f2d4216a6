"""File names that are not UTF-8 text (made on a system with another encoding) are read and written like any
other: OpenCV crashes the process on them (engines.opencv_files)."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from pose_track.engines.opencv_files import FileAlias, opencv_takes, read_picture, write_picture

from conftest import STANDING, draw_person

LATIN1 = "caf\udce9"        # b"caf\xe9": café in Latin-1, as Python gives such a name


@pytest.fixture
def latin1_ok(tmp_path):
    try:
        (tmp_path / (LATIN1 + ".probe")).write_bytes(b"")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system takes only UTF-8 file names")
    os.remove(tmp_path / (LATIN1 + ".probe"))
    return tmp_path


def test_opencv_takes_utf8_names_only():
    assert opencv_takes("café.jpg") and opencv_takes(b"plain.jpg".decode())
    assert not opencv_takes(LATIN1 + ".jpg")


def test_pictures_under_a_latin1_name_read_and_write_as_under_a_plain_one(latin1_ok):
    picture = draw_person(STANDING)
    plain, odd = latin1_ok / "plain.png", latin1_ok / (LATIN1 + ".png")
    assert write_picture(plain, picture) and write_picture(odd, picture)
    assert os.fsencode(odd).endswith(b"caf\xe9.png")
    assert np.array_equal(read_picture(odd), read_picture(plain))
    assert np.array_equal(read_picture(odd), picture)
    assert read_picture(latin1_ok / (LATIN1 + "-missing.png")) is None
    (latin1_ok / (LATIN1 + ".jpg")).write_bytes(b"not a picture")
    assert read_picture(latin1_ok / (LATIN1 + ".jpg")) is None


def test_a_video_written_and_read_under_an_alias_keeps_its_frames_and_the_alias_goes(latin1_ok):
    path = latin1_ok / (LATIN1 + ".avi")
    with FileAlias(path) as name:
        assert opencv_takes(name) and name.endswith(".avi")
        writer = cv2.VideoWriter(name, cv2.VideoWriter_fourcc(*"MJPG"), 10, (48, 32))
        for k in range(3):
            writer.write(np.full((32, 48, 3), 60 * k, np.uint8))
        writer.release()
    assert not os.path.exists(name) and not os.path.exists(os.path.dirname(name))
    assert path.is_file()
    alias = FileAlias(path)
    cap = cv2.VideoCapture(alias.name)
    frames = 0
    while cap.read()[0]:
        frames += 1
    cap.release()
    alias.close()
    assert frames == 3
    assert FileAlias(latin1_ok / "plain.avi").name == str(latin1_ok / "plain.avi")


def _run_cli(args, cwd):
    """The CLI in a child process (a crash in OpenCV ends the process, not the test run), with a fake model."""
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r})\n"
            "from conftest import STANDING\n"
            "from fakes import FakeCascade, estimator_of\n"
            "import pose_track.commands.video as video, pose_track.commands.images as images\n"
            "video.load_estimator = images.load_estimator = estimator_of(FakeCascade(STANDING[None]))\n"
            "from pose_track.cli import main\n"
            f"sys.argv = ['pose-track', *{args!r}]\n"
            "main()\n")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, env={**os.environ,
                          "LC_ALL": "C.UTF-8"})


def test_images_and_video_take_latin1_names_for_inputs_and_outputs(latin1_ok):
    folder = latin1_ok / "photos"
    folder.mkdir()
    assert write_picture(folder / (LATIN1 + ".png"), draw_person(STANDING))
    clip = latin1_ok / (LATIN1 + ".avi")
    with FileAlias(clip) as name:
        writer = cv2.VideoWriter(name, cv2.VideoWriter_fourcc(*"MJPG"), 10, (120, 160))
        for _ in range(4):
            writer.write(draw_person(STANDING))
        writer.release()
    (latin1_ok / LATIN1).mkdir()

    run = _run_cli(["images", "photos", "--csv", f"{LATIN1}.csv", "--render", f"{LATIN1}/"], latin1_ok)
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    rows = (latin1_ok / f"{LATIN1}.csv").read_bytes().splitlines()
    assert len(rows) == 2 and rows[1].startswith(b"caf\xe9.png,0,")
    assert rows[1].split(b",")[3] != b""                       # the person's joints are there
    assert read_picture(latin1_ok / LATIN1 / (LATIN1 + ".png.jpg")) is not None

    run = _run_cli(["video", f"{LATIN1}.avi", "--csv", "-", "--render", f"{LATIN1}/{LATIN1}.mp4"], latin1_ok)
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    rows = run.stdout.splitlines()
    assert len(rows) == 5 and all(r.startswith(b"caf\xe9.avi,") for r in rows[1:])
    with FileAlias(latin1_ok / LATIN1 / (LATIN1 + ".mp4")) as name:
        cap = cv2.VideoCapture(name)
        assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
        cap.release()
    assert not [f for f in os.listdir(latin1_ok / LATIN1) if "partial" in f]


def test_a_pose_track_csv_naming_a_latin1_file_reads_as_pose_tracks_own(latin1_ok):
    from pose_track.engines.outputs import reads_as_ours
    from pose_track.tracker.sinks import csv_header

    table = latin1_ok / "poses.csv"
    table.write_bytes((",".join(csv_header()) + "\n").encode() + b"caf\xe9.avi,0,0.0" + b"," * 42 + b"\n")
    assert reads_as_ours(str(table))


def test_training_curves_are_drawn_into_a_latin1_run_folder(latin1_ok):
    from pose_track.training.curves import write_curves

    folder = latin1_ok / LATIN1
    folder.mkdir()
    write_curves(str(folder / "curves.png"), {"stage 1": [(1, 0.5), (2, 0.3)]}, {})
    assert read_picture(folder / "curves.png") is not None
