"""The person finder on the shipped video model: people pasted into person-free frames.

The sample photo (scikit-image's astronaut, a waist-up portrait) is the person always at hand; LSP people and
the person-free sports2d frame come from ../shared/data when present.
"""
import os

import cv2
import numpy as np
import pytest

from conftest import SHARED_DATA

FRAME = (1280, 720)
FACE, CHEST = (0.44, 0.23), (0.45, 0.5)     # where the sample photo's person is, in fractions of its side


@pytest.fixture(scope="module")
def cascade():
    from pose_track.engines.backends import load_cascade
    return load_cascade()


@pytest.fixture(scope="module")
def photo():
    pytest.importorskip("skimage")
    from pose_track.commands.demo import sample_photo_path
    return cv2.imread(sample_photo_path())


def grass_frame():
    """scikit-image's grass texture as a frame, or None without scikit-image."""
    try:
        from skimage.data import grass
    except ImportError:
        return None
    return cv2.resize(cv2.cvtColor(grass(), cv2.COLOR_GRAY2BGR), FRAME)


@pytest.fixture(scope="module")
def grass():
    frame = grass_frame()
    if frame is None:
        pytest.skip("scikit-image is not installed")
    return frame


def paste(frame, photo, side: int, x: int, y: int):
    frame = frame.copy()
    frame[y:y + side, x:x + side] = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
    return frame


def photo_point(fraction, side, x, y):
    return x + fraction[0] * side, y + fraction[1] * side


def holds(box, point) -> bool:
    cx, cy, side = box[:3]
    return abs(point[0] - cx) <= side / 2 and abs(point[1] - cy) <= side / 2


def find_within_cycle(finder, frame, near=None):
    from pose_track.tracker.person_finder import search_cycle
    calls = int(np.ceil(len(search_cycle(frame.shape[1], frame.shape[0])) / finder.windows_per_call))
    for _ in range(calls):
        found = finder(frame, near=near)
        if found is not None:
            return found
    return None


@pytest.mark.parametrize("side,x,y", [(260, 900, 400), (420, 80, 250), (700, 300, 10)])
def test_finds_the_sample_person_at_several_scales(cascade, photo, grass, side, x, y):
    from pose_track.tracker.person_finder import PersonFinder
    found = find_within_cycle(PersonFinder(cascade), paste(grass, photo, side, x, y))
    assert found is not None
    assert found.presence >= cascade.config.decoding.second_look_threshold
    assert holds(found.box, photo_point(FACE, side, x, y)) and holds(found.box, photo_point(CHEST, side, x, y))
    assert 0.3 * side <= found.box[2] <= 2.0 * side
    placed = np.isfinite(found.joints).all(1)
    assert placed.sum() >= 4 and all(holds(found.box, p) for p in found.joints[placed])


def whole_cycle_calls(finder, frame) -> int:
    """Calls that take the finder over every window of its cycle on this frame."""
    from pose_track.tracker.person_finder import search_cycle
    windows = len(search_cycle(frame.shape[1], frame.shape[0]))
    return -(-windows // finder.windows_per_call)


def test_refuses_person_free_frames(cascade):
    from pose_track.tracker.person_finder import PersonFinder
    smooth = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 255, (FRAME[1], FRAME[0], 3), np.uint8), (0, 0), 8)
    for frame in [smooth] + [f for f in (grass_frame(),) if f is not None]:
        finder = PersonFinder(cascade)
        calls = whole_cycle_calls(finder, frame)
        assert all(finder(frame) is None for _ in range(calls))      # every window of the cycle


def test_keeps_the_person_near_the_last_box(cascade, photo, grass):
    from pose_track.tracker.person_finder import PersonFinder
    frame = paste(paste(grass, photo, 360, 60, 200), photo, 360, 860, 300)
    for x, y in ((60, 200), (860, 300)):
        near = (x + 0.45 * 360, y + 0.5 * 360, 360.0)
        found = PersonFinder(cascade)(frame, near=near)
        assert found is not None and holds(found.box, photo_point(FACE, 360, x, y))


def test_on_first_sight_takes_the_largest_person(cascade, photo, grass):
    from pose_track.tracker.person_finder import PersonFinder
    frame = paste(paste(grass, photo, 260, 60, 300), photo, 560, 640, 100)
    found = find_within_cycle(PersonFinder(cascade), frame)
    assert found is not None and holds(found.box, photo_point(FACE, 560, 640, 100))


@pytest.mark.parametrize("side,x,y", [(130, 60, 500), (160, 1050, 60)])
def test_a_small_person_in_view_gets_joints_on_the_first_frame(cascade, photo, grass, side, x, y):
    """A first sight looks at every window of the cycle where its first look finds nobody: the person in view
    gets their joints on the frame a track starts, not when the cycle's few windows a frame reach them."""
    from pose_track.engines.joints import J
    from pose_track.tracker.loop import Tracker
    result = Tracker(cascade)(paste(grass, photo, side, x, y), 0.0)
    assert result.lost is None and np.isfinite(result.raw).all(1).sum() >= 8
    face = np.array(photo_point(FACE, side, x, y))
    assert np.linalg.norm(result.raw[J["head_top"]] - face) < 0.3 * side      # on the person, not the grass
    assert Tracker(cascade)(grass, 0.0).lost == "no person"                   # and nobody on the grass alone


def test_windows_cover_the_frame_and_the_cycle_resumes(cascade):
    from pose_track.tracker.person_finder import PersonFinder, search_cycle
    cycle = search_cycle(*FRAME)
    for side in np.unique(cycle[:, 2]):
        level = cycle[cycle[:, 2] == side]
        assert level[:, 0].min() - side / 2 <= 0 and level[:, 0].max() + side / 2 >= FRAME[0] - 1
        assert level[:, 1].min() - side / 2 <= 0 and level[:, 1].max() + side / 2 >= FRAME[1] - 1
    finder = PersonFinder(cascade, windows_per_call=4)
    seen = np.concatenate([finder.next_windows(*FRAME) for _ in range(int(np.ceil(len(cycle) / 4)))])
    assert {tuple(w) for w in cycle} <= {tuple(w) for w in seen}
    near = finder.next_windows(*FRAME, near=(100.0, 50.0, 200.0))
    assert len(near) == 4 and tuple(near[0]) == (100.0, 50.0, 300.0)


def test_needs_a_model_with_a_person_head(cascade):
    import copy
    from pose_track.tracker.person_finder import PersonFinder
    headless = copy.copy(cascade)
    headless.config = copy.deepcopy(cascade.config)
    headless.config.architecture.person_head = False
    with pytest.raises(ValueError, match="person head"):
        PersonFinder(headless)


@pytest.fixture(scope="module")
def lsp_and_plate():
    lsp, clip = os.path.join(SHARED_DATA, "lsp"), os.path.join(SHARED_DATA, "real", "sports2d_demo.mp4")
    if not (os.path.isfile(os.path.join(lsp, "joints.mat")) and os.path.isfile(clip)):
        pytest.skip(f"LSP or the sports2d clip not present under {SHARED_DATA}")
    from pose_track.benchmarks.person_finder_bench import lsp_people, sports2d_plate
    return lsp_people(SHARED_DATA), sports2d_plate(clip)


@pytest.mark.parametrize("height,centre", [(200, (300, 500)), (400, (900, 330)), (620, (640, 360))])
def test_finds_a_pasted_lsp_person(cascade, lsp_and_plate, height, centre):
    from pose_track.benchmarks.person_finder_bench import is_hit, paste_person
    from pose_track.tracker.person_finder import PersonFinder
    people, plate = lsp_and_plate
    path, joints = people[0]          # im1001: a standing person
    frame, placed = paste_person(plate, cv2.imread(path), joints, height, centre)
    found = find_within_cycle(PersonFinder(cascade), frame)
    assert found is not None and is_hit(found, placed)


def test_refuses_the_person_free_sports_frame(cascade, lsp_and_plate):
    from pose_track.tracker.person_finder import PersonFinder
    finder = PersonFinder(cascade)
    frame = lsp_and_plate[1]
    assert all(finder(frame) is None for _ in range(whole_cycle_calls(finder, frame)))
