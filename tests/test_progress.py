"""Long work shows progress where stderr is no terminal (a log file, a pipe): a line every so often."""
import cv2
import numpy as np
from click.testing import CliRunner

import pose_track.commands.images as images_commands
import pose_track.commands.progress as progress
from pose_track.benchmarks.clipmaker import synthetic_person
from pose_track.commands.progress import ProgressLines

from fakes import FakeCascade, estimator_of


def test_lines_give_the_label_then_the_count_at_most_every_interval(capsys):
    now = [0.0]
    lines = ProgressLines(230, "clip.mp4", item_show_func=lambda fps: f"{fps} frames/s", every_s=10.0,
                          clock=lambda: now[0])
    with lines as bar:
        for step in range(230):
            now[0] = step * 0.25           # 4 frames a second: a line every 40 frames
            bar.update(1, 4.0)
    assert capsys.readouterr().err.splitlines() == [
        "clip.mp4", *[f"clip.mp4: {n + 1} of 230 ({100 * (n + 1) // 230} %), 4.0 frames/s" for n in range(40, 230, 40)]]


def test_a_length_not_known_gives_the_count_alone(capsys):
    now = [0.0]
    bar = ProgressLines(0, "camera0", every_s=1.0, clock=lambda: now[0])
    bar.update(5)
    now[0] = 1.0
    bar.update(5)
    assert capsys.readouterr().err.splitlines() == ["camera0", "camera0: 10"]


def test_images_into_a_log_file_says_how_far_it_got(tmp_path, monkeypatch):
    img, joints = synthetic_person(64, 48, 0)
    for name in ("a.png", "b.png", "c.png"):
        cv2.imwrite(str(tmp_path / name), img)
    monkeypatch.setattr(images_commands, "load_estimator", estimator_of(FakeCascade(np.asarray(joints)[None])))
    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.0)
    res = CliRunner().invoke(images_commands.images, [str(tmp_path), "--csv", str(tmp_path / "o.csv")])
    assert res.exit_code == 0, res.output
    assert [line for line in res.output.splitlines() if line.startswith("images")] == [
        "images", "images: 1 of 3 (33 %)", "images: 2 of 3 (66 %)", "images: 3 of 3 (100 %)"]


def test_a_line_for_a_reader_of_stderr_that_left_is_dropped(monkeypatch):
    def echo(line, err=False):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(progress.click, "echo", echo)
    progress.tell("clip.mp4: 230 frames in 5.18 s")      # no exception: the run goes on to its next input


def test_a_reader_of_stderr_that_leaves_ends_the_lines_not_the_work(monkeypatch):
    said = []

    def echo(line, err=False):
        if said:
            raise BrokenPipeError(32, "Broken pipe")
        said.append(line)

    monkeypatch.setattr(progress.click, "echo", echo)
    bar = ProgressLines(100, "images", every_s=0.0)
    for _ in range(100):
        bar.update(1)
    assert said == ["images"] and bar.pos == 100
