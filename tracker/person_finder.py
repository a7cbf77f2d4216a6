"""The person finder: where a person is when the tracker has none (first frame, after a loss).

    finder = PersonFinder(cascade)
    found = finder(image_bgr, near=last_box)     # Found(box, presence, joints) or None

Stage 1 of the cascade alone, on square windows of the frame, then a closer look:
  1. windows: two around `near` (the last tracked box: its centre, 1.5 and 2.5 times its side), then the next
     ones of a fixed cycle over the frame: windows of side = the frame's short side, the whole-frame box, then
     windows of half the short side, each level at a stride of half its side. A call runs `windows_per_call`
     windows, those around `near` included, in ONE backend call, and the next call resumes the cycle where
     this one stopped (a 720p frame's 25 windows take 9 calls of 3): each window is a whole stage-1 crop
     (192 px for the shipped model), so one re-acquisition's time budget covers a few windows, not the frame
     at every scale. Stage 1 at a smaller input is no way out: its presence collapses there
     (results/person_finder.json, `stage1_input_size`).
     No window is smaller than `MIN_WINDOW_SHARE` (1/20) of the frame's long side, so that no frame has more
     than 144 windows (a 20x3000 strip: 40, not 2097): frames up to 10 times wider than high, or higher than
     wide, keep the windows above (an 8000x800 panorama: 137). A larger floor misses people a panorama's
     half-short-side windows find (LSP people pasted into an 8000x800 one, 240 px tall: 4 of 5 found; with 1/16
     of the long side 2, with 1/12 none; docs/experiments.md, "Pictures of extreme shape"). A frame with a side
     under `MIN_PICTURE_SIDE` pixels (engines.geometry) holds nobody and is not looked at.
  2. candidates: the square box around each window's joints that land in the frame (stage 1 places the joints
     of a person it sees in part, or small, roughly where they are), duplicates dropped; the `confirm` best
     (the one nearest `near` first, then the most present) get a closer look, one backend call, and up to
     `looks` in all: another on the box around a look's joints when that look saw a person (the plain
     presence threshold) whose box still moves by `TOLERANCE` or more (a window that cut a person off); a look
     that sees nobody ends there, so person-free frames rarely take a second one.
  3. a person is found when the last look reaches `threshold`, by default the model's `second_look_threshold`:
     the closer box is centred on whatever a window saw, a person or not, as for every second look. With
     `near`, the find nearest to it; else the most confident, then the largest. Nobody: None.

The found box is `PERSON_BOX_SCALE` times the extent of the joints the last look places in the picture (inside
its crop and the frame): the box the tracker crops at.

A still picture's search (`search_picture`) takes every window of the cycle in one finder call, in backend calls
of at most `SEARCH_BATCH` (32) windows: a whole cycle in one batch held 3.6 GB for an 8000x800 panorama's 137
windows on ONNX Runtime, CPU (docs/experiments.md, "Pictures of extreme shape"). Pictures up to 5:2 (21:9
included) have at most 32 windows: one backend call.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose_track.engines.estimator import TOLERANCE, box_change
from pose_track.engines.geometry import (PERSON_BOX_SCALE, box_from_joints, in_image, too_small_for_a_person,
                                         whole_image_box)

NEAR_SCALES = (1.5, 2.5)    # windows around the last box, times its side (1.5: 1.95x the person's extent)
STRIDE = 0.5                # window stride, in window sides
MIN_WINDOW_SHARE = 1 / 20   # the smallest window side, in the frame's long side
SEARCH_BATCH = 32           # a still picture's search: the most windows per backend call
DUPLICATE_IOU = 0.5         # candidate boxes overlapping more than this are one person
SAME_PRESENCE = 0.05        # without `near`, presences this close count as equally confident: the larger wins
MIN_JOINTS = 4              # fewer joints in the picture than this: the box around all 14


@dataclass
class Found:
    box: tuple              # (cx, cy, side) square, frame pixels
    presence: float         # stage 1's presence on that box's closer look
    joints: np.ndarray      # (14, 2) float32 stage-1 joints of the closer look, NaN where not in the picture


def level_windows(width: int, height: int, side: float) -> np.ndarray:
    """(N, 3) square windows (cx, cy, side) of one side, stride STRIDE sides, covering the frame."""
    def centres(length):
        if side >= length:
            return np.array([(length - 1) / 2.0])
        return np.linspace(side / 2.0, length - side / 2.0, int(np.ceil((length - side) / (side * STRIDE))) + 1)
    xs, ys = centres(width), centres(height)
    return np.array([(x, y, side) for y in ys for x in xs], np.float32)


def search_cycle(width: int, height: int) -> np.ndarray:
    """(N, 3) every window of the cycle, in order: short-side windows, the whole frame, half-short-side windows;
    a level smaller than MIN_WINDOW_SHARE of the long side is raised to it, and the second dropped where that
    makes it the first."""
    short, smallest = float(min(width, height)), MIN_WINDOW_SHARE * max(width, height)
    large, small = max(short, smallest), max(short / 2.0, smallest)
    levels = [level_windows(width, height, large), np.array([whole_image_box(height, width)], np.float32)]
    if small < large:
        levels.append(level_windows(width, height, small))
    return np.concatenate(levels)


def near_windows(near, width: int, height: int) -> np.ndarray:
    cx = float(np.clip(near[0], 0, width - 1))
    cy = float(np.clip(near[1], 0, height - 1))
    return np.array([(cx, cy, float(near[2]) * k) for k in NEAR_SCALES], np.float32)


def square_iou(a, b) -> float:
    """Intersection over union of two square boxes (cx, cy, side)."""
    overlap = [max(0.0, min(a[k] + a[2] / 2, b[k] + b[2] / 2) - max(a[k] - a[2] / 2, b[k] - b[2] / 2)) for k in (0, 1)]
    inter = overlap[0] * overlap[1]
    return inter / (a[2] ** 2 + b[2] ** 2 - inter)


class PersonFinder:
    """`finder(image_bgr, near=None) -> Found | None` over a cascade whose stage 1 has a person head.

    windows_per_call: stage-1 windows per call (those around `near` included); batch: the most of them one
    backend call takes (None: all); confirm: candidates given a closer look; looks: closer looks at most;
    threshold: the presence the last look must reach (None: the model's second_look_threshold). The defaults keep
    a call within 25 ms on 2 idle CPU cores with the shipped fp32 and int8 models (results/person_finder.json).
    """

    def __init__(self, cascade, windows_per_call: int = 3, confirm: int = 1, looks: int = 2,
                 threshold: float | None = None, box_scale: float = PERSON_BOX_SCALE, batch: int | None = None):
        if not cascade.config.architecture.person_head:
            raise ValueError("the person finder needs a model whose stage 1 says whether a person is there "
                             "(a person head)")
        if windows_per_call <= len(NEAR_SCALES) or confirm < 1 or looks < 1 or (batch is not None and batch < 1):
            raise ValueError(f"windows_per_call must exceed {len(NEAR_SCALES)}, confirm, looks and batch be at "
                             "least 1")
        self.cascade = cascade
        self.windows_per_call, self.confirm, self.looks = windows_per_call, confirm, looks
        self.batch = windows_per_call if batch is None else batch
        decoding = cascade.config.decoding
        self.threshold = decoding.second_look_threshold if threshold is None else float(threshold)
        self.presence_threshold, self.inside_threshold = decoding.presence_threshold, decoding.inside_threshold
        self.box_scale = box_scale
        self._cycle, self._cycle_shape, self._next = None, None, 0

    @property
    def batch_sizes(self) -> set:
        """The stage-1 batch sizes a call runs: its windows (in batches of `batch`), then its closer looks."""
        windows = {min(self.batch, self.windows_per_call), self.windows_per_call % self.batch} - {0}
        return windows | {self.confirm}

    def next_windows(self, width: int, height: int, near=None) -> np.ndarray:
        """This call's windows: those around `near`, then the next ones of the cycle (which then moves on)."""
        if self._cycle_shape != (width, height):
            self._cycle, self._cycle_shape, self._next = search_cycle(width, height), (width, height), 0
        extra = near_windows(near, width, height) if near is not None else np.zeros((0, 3), np.float32)
        count = min(self.windows_per_call - len(extra), len(self._cycle))
        take = (self._next + np.arange(count)) % len(self._cycle)
        self._next = int(take[-1] + 1) % len(self._cycle)
        return np.concatenate([extra, self._cycle[take]])

    def __call__(self, image: np.ndarray, near=None) -> Found | None:
        height, width = image.shape[:2]
        if too_small_for_a_person(height, width):
            return None
        windows = self.next_windows(width, height, near)
        joints, presence = self._look_through(image, windows)
        boxes = self._candidates(joints, presence, width, height, near)
        for _ in range(self.looks):
            joints, presence, inside = self.cascade.stage1(image, np.array(boxes, np.float32))
            closer = [self._box_around(j, width, height) for j in joints]
            moved = [box_change(old, new) >= TOLERANCE for old, new in zip(boxes, closer)]
            if not any(m and p >= self.presence_threshold for m, p in zip(moved, presence)):
                break
            boxes = closer
        found = []
        for k in np.flatnonzero(presence >= self.threshold):
            placed = (inside[k] >= self.inside_threshold) & in_image(joints[k], height, width)
            if placed.sum() < 2:
                continue
            box = box_from_joints(joints[k], self.box_scale, placed)
            found.append(Found(box, float(presence[k]), np.where(placed[:, None], joints[k], np.float32(np.nan))))
        return self._choose(found, near)

    def _look_through(self, image: np.ndarray, windows: np.ndarray) -> tuple:
        """Stage 1's joints and presence on the windows, `batch` windows per backend call."""
        parts = [self.cascade.stage1(image, windows[start:start + self.batch])[:2]
                 for start in range(0, len(windows), self.batch)]
        return np.concatenate([joints for joints, _ in parts]), np.concatenate([presence for _, presence in parts])

    def _box_around(self, joints, width: int, height: int):
        """The box around the joints in the frame (a window that cuts a person still places the rest roughly)."""
        ok = in_image(joints, height, width)
        return box_from_joints(joints, self.box_scale, ok if ok.sum() >= MIN_JOINTS else None)

    def _candidates(self, joints, presence, width: int, height: int, near) -> list:
        """Up to `confirm` distinct boxes around the windows' joints: the one nearest `near` first, then the most
        present."""
        boxes = [self._box_around(joints[k], width, height) for k in np.argsort(-presence)]
        if near is not None:
            nearest = min(range(len(boxes)), key=lambda i: np.hypot(boxes[i][0] - near[0], boxes[i][1] - near[1]))
            boxes.insert(0, boxes.pop(nearest))
        kept = []
        for box in boxes:
            if all(square_iou(box, other) <= DUPLICATE_IOU for other in kept):
                kept.append(box)
            if len(kept) == self.confirm:
                break
        return kept

    def _choose(self, found: list, near) -> Found | None:
        if not found:
            return None
        if near is not None:
            return min(found, key=lambda f: np.hypot(f.box[0] - near[0], f.box[1] - near[1]))
        best = max(f.presence for f in found)
        return max((f for f in found if f.presence >= best - SAME_PRESENCE), key=lambda f: f.box[2])


def search_picture(cascade, image: np.ndarray):
    """The box of the person the finder sees in a still picture, every window of its cycle in one finder call,
    `SEARCH_BATCH` windows per backend call (the still-image answer's fallback where the whole picture reads as
    nobody: two people in view, a small person), or None."""
    height, width = image.shape[:2]
    windows = max(len(NEAR_SCALES) + 1, len(search_cycle(width, height)))
    found = PersonFinder(cascade, windows_per_call=windows, batch=SEARCH_BATCH)(image)
    return None if found is None else found.box
