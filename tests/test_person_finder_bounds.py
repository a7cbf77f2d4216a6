"""The person finder's work on pictures of any size and shape: a bounded number of windows, searched in bounded
batches, and nobody looked for in a picture a few pixels high or wide."""
import csv

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from pose_track.engines.config import Architecture, ModelConfig
from pose_track.engines.estimator import PoseEstimator
from pose_track.engines.geometry import MIN_PICTURE_SIDE, whole_image_box
from pose_track.engines.joints import NUM_JOINTS
from pose_track.tracker.person_finder import (MIN_WINDOW_SHARE, SEARCH_BATCH, PersonFinder, level_windows,
                                              search_cycle, search_picture)

MOST_WINDOWS = 144          # the most windows search_cycle gives, whatever the picture (at about 13:1)
EXTREME = [(2, 3000), (3000, 3), (800, 8000), (6, 3000), (3000, 20), (600, 8000), (1, 1)]   # (height, width)


class WindowCascade:
    """Stage 1 with a person head that notes each batch it gets: the joints spread over each box, presence
    `presence(boxes)` (default: nobody anywhere). A full cascade pass is not expected."""

    def __init__(self, presence=None):
        self.config = ModelConfig(architecture=Architecture(person_head=True))
        self.presence = presence or (lambda boxes: np.zeros(len(boxes), np.float32))
        self.batches = []

    def stage1(self, image, boxes):
        boxes = np.asarray(boxes, np.float32).reshape(-1, 3)
        self.batches.append(len(boxes))
        spread = np.linspace(-0.3, 0.3, NUM_JOINTS, dtype=np.float32)[None, :, None]
        joints = boxes[:, None, :2] + spread * boxes[:, None, 2:3]
        return joints, self.presence(boxes), np.ones((len(boxes), NUM_JOINTS), np.float32)

    def predict(self, image, boxes, rgb=False):
        raise AssertionError("a cascade pass on a picture too small to hold a person")


def grey(height, width):
    return np.full((height, width, 3), 128, np.uint8)


def uncapped_cycle(width, height):
    """The cycle without a smallest window: short-side windows, the whole frame, half-short-side windows."""
    short = float(min(width, height))
    return np.concatenate([level_windows(width, height, short), np.array([whole_image_box(height, width)], np.float32),
                           level_windows(width, height, short / 2.0)])


@pytest.mark.parametrize("width,height", [(640, 480), (480, 640), (1280, 720), (720, 1280), (1920, 1080),
                                          (4032, 3024), (2560, 1080), (95, 169), (201, 128), (5000, 1000),
                                          (8000, 800), (800, 8000)])
def test_ordinary_and_panorama_windows_are_unchanged(width, height):
    assert np.array_equal(search_cycle(width, height), uncapped_cycle(width, height))


def test_no_picture_has_more_windows_than_the_bound():
    counts = []
    for height in (6, 20, 100, 600, 1000):
        for width in list(range(height, 40 * height, max(1, height // 25))) + [100 * height]:
            for w, h in ((width, height), (height, width)):
                cycle = search_cycle(w, h)
                assert cycle[:, 2].min() >= MIN_WINDOW_SHARE * max(w, h) - 1e-3
                counts.append(len(cycle))
    assert max(counts) <= MOST_WINDOWS
    assert len(search_cycle(3000, 20)) == 40 < len(uncapped_cycle(3000, 20)) == 2097


@pytest.mark.parametrize("height,width", EXTREME)
def test_search_runs_in_bounded_batches(height, width):
    cascade = WindowCascade()
    assert search_picture(cascade, grey(height, width)) is None
    assert max(cascade.batches, default=0) <= SEARCH_BATCH
    assert sum(cascade.batches) <= MOST_WINDOWS + 1
    if min(height, width) < MIN_PICTURE_SIDE:
        assert cascade.batches == []


def test_the_tracker_finder_does_not_look_at_a_strip():
    cascade = WindowCascade()
    finder = PersonFinder(cascade)
    assert finder(grey(2, 3000)) is None and finder(grey(3000, 3), near=(1.0, 1500.0, 40.0)) is None
    assert cascade.batches == []
    assert finder(grey(720, 1280)) is None and cascade.batches == [3, 1]


def test_batches_find_what_one_call_finds():
    def presence(boxes):      # a person seen best from the window centred nearest (5310, 420)
        return (0.99 * np.exp(-np.hypot(boxes[:, 0] - 5310, boxes[:, 1] - 420) / 3000)).astype(np.float32)

    image = grey(800, 8000)
    windows = len(search_cycle(8000, 800))
    whole, batched = WindowCascade(presence), WindowCascade(presence)
    one = PersonFinder(whole, windows_per_call=windows)(image)
    several = PersonFinder(batched, windows_per_call=windows, batch=SEARCH_BATCH)(image)
    assert one is not None and several is not None and one.box == several.box and one.presence == several.presence
    assert whole.batches[0] == windows == 137 and max(batched.batches) == SEARCH_BATCH
    assert PersonFinder(batched, windows_per_call=windows, batch=SEARCH_BATCH).batch_sizes == {32, 9, 1}


@pytest.mark.parametrize("height,width", [(2, 3000), (3000, 3), (5, 5)])
def test_the_estimator_answers_nobody_in_a_strip_without_the_model(height, width):
    cascade = WindowCascade()
    estimator = PoseEstimator(cascade=cascade, search=lambda image: search_picture(cascade, image),
                              look_past_crop=True)
    pose = estimator(grey(height, width))
    assert not pose.found and np.isnan(pose.joints).all() and pose.passes == 0
    assert cascade.batches == [] and estimator.calls == 0


class RecordingBackend:
    def __init__(self, backend):
        self.backend, self.batches = backend, []

    def run(self, stage, batch):
        self.batches.append((stage, len(batch)))
        return self.backend.run(stage, batch)


def test_a_person_free_panorama_in_bounded_batches_of_the_shipped_model():
    from pose_track.commands.model import load_estimator
    estimator = load_estimator(stills=True)
    recorder = estimator.cascade.backend = RecordingBackend(estimator.cascade.backend)
    rng = np.random.default_rng(0)
    panorama = cv2.GaussianBlur(rng.integers(0, 255, (800, 8000, 3), np.uint8), (0, 0), 8)
    assert not estimator(panorama).found
    stage1 = [n for stage, n in recorder.batches if stage == 0]
    assert sum(stage1) >= len(search_cycle(8000, 800)) and max(stage1) == SEARCH_BATCH


def test_images_command_on_a_strip_writes_an_empty_row(tmp_path):
    from pose_track.cli import cli
    folder = tmp_path / "strip"
    folder.mkdir()
    cv2.imwrite(str(folder / "s.png"), grey(2, 3000))
    out = tmp_path / "s.csv"
    result = CliRunner().invoke(cli, ["images", str(folder), "--csv", str(out)])
    assert result.exit_code == 0, result.output
    header, *rows = list(csv.reader(out.open()))
    assert len(rows) == 1 and rows[0][0] == "s.png"
    joint_cells = [cell for name, cell in zip(header, rows[0]) if name.endswith(("_x", "_y", "_conf"))]
    assert len(joint_cells) == 3 * NUM_JOINTS and all(cell == "" for cell in joint_cells)
