"""Hard clips: what real video does to a tracker, with exact ground truth.

A clip is a sequence of shots joined by hard cuts: person 1 (who walks out of the picture, stays out and walks back
in), then person 2 and an empty scene in either order, then person 3. A person shot films an LSP still pasted
(feathered edges) onto a backdrop made from the same still: the person inpainted, the picture mirrored outwards
and defocused, so the pasted still blends in and the backdrop holds nobody. The camera is the clip maker's path
(drift, zoom, roll of 20-30 degrees either way) plus whip pans: the view moves by a third to two thirds of the
frame width in 3-6 frames. The
empty shot films a person-free scene (`empty_scene`: the street at the end of sports2d_demo.mp4). Each frame then
gets motion blur along its motion (every layer by its own displacement since the previous frame, over half the
frame interval), Gaussian sensor noise and JPEG compression, and the mp4 encoder adds its own.

Ground truth per frame (`ClipTruth`, saved as npz beside the mp4):
- joints (N, 14, 2): the still's joints through the frame's transform, NaN outside the picture and with nobody;
- torso (N,): torso diameter of the whole transformed pose (also when part of it is outside), NaN with nobody;
- nobody: no pixel of the person's picture in the frame (the empty shot, or walked out);
- cut: the first frame of a shot after a hard cut (frame 0 is no cut);
- fast: no cut, and the joints moved on average more than FAST_TORSO torso diameters since the previous frame
  (in these clips: whip pans and the walk out and back in).

    plan = plan_clip(people, empty_scene, n_frames=300, seed=0)     # people: [(image, joints (14, 2), name)]
    truth = write_clip(plan, "hard_00.mp4", "hard_00.npz")

The benchmark on these clips is benchmarks/hard_tracking.py (`pose-track bench-tracking --hard`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from pose_track.benchmarks.clipmaker import camera_path, transform_joints, write_video
from pose_track.engines.geometry import torso_diameter, torso_diameters
from pose_track.engines.joints import SKELETON
from pose_track.engines.outputs import write_npz

FAST_TORSO = 0.3       # a fast frame: mean joint displacement since the previous frame, in torso diameters
EXPOSURE = 0.5         # shutter open for this fraction of the frame interval (the motion blur length)


@dataclass
class ClipTruth:
    joints: np.ndarray     # (N, 14, 2) float32
    torso: np.ndarray      # (N,)
    nobody: np.ndarray     # (N,) bool
    cut: np.ndarray        # (N,) bool
    fast: np.ndarray       # (N,) bool
    shot: np.ndarray       # (N,) int, the shot of each frame
    people: list = field(default_factory=list)   # the name of each shot's person ("" for the empty scene)
    fps: float = 30.0

    def save(self, path) -> None:
        write_npz(path, {k: np.asarray(v) for k, v in asdict(self).items()}, compressed=True)

    @classmethod
    def load(cls, path) -> "ClipTruth":
        with np.load(path) as z:
            d = {k: z[k] for k in z.files}
        return cls(**{**d, "people": [str(p) for p in d["people"]], "fps": float(d["fps"])})


@dataclass
class Scene:
    backdrop: np.ndarray               # BGR, person-free
    still: np.ndarray | None = None    # the person's picture, pasted at `placement` (backdrop <- still)
    alpha: np.ndarray | None = None    # float32, 1 inside the still, feathered to 0 at its edges
    joints: np.ndarray | None = None   # (14, 2) in still pixels
    placement: np.ndarray | None = None
    name: str = ""


@dataclass
class ClipPlan:
    size: tuple
    fps: float
    scenes: list
    scene_of_frame: np.ndarray   # (N,) index into scenes
    camera: np.ndarray           # (N, 2, 3) backdrop -> frame
    person: np.ndarray           # (N, 2, 3) still -> frame (NaN in the empty shot)
    truth: ClipTruth
    noise: float = 4.0           # sensor noise std, grey levels
    jpeg_quality: int = 60


def _compose(a, b) -> np.ndarray:
    """The 2x3 affine of `a` after `b`."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.concatenate([a[:, :2] @ b[:, :2], (a[:, :2] @ b[:, 2] + a[:, 2])[:, None]], axis=1)


def _smoothstep(u):
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def person_free(image, joints) -> np.ndarray:
    """The still with its person inpainted: the skeleton drawn thick, dilated, filled from around it."""
    torso = torso_diameter(joints)
    mask = np.zeros(image.shape[:2], np.uint8)
    pts = np.round(np.asarray(joints, np.float64)).astype(np.int32)
    for a, b in SKELETON:
        cv2.line(mask, tuple(pts[a]), tuple(pts[b]), 255, max(3, int(0.45 * torso)))
    cv2.fillConvexPoly(mask, cv2.convexHull(pts[[2, 3, 8, 9, 12]]), 255)
    cv2.circle(mask, tuple(pts[13]), max(3, int(0.35 * torso)), 255, -1)
    k = max(3, int(0.25 * torso)) | 1
    mask = cv2.dilate(mask, np.ones((k, k), np.uint8))
    return cv2.inpaint(image, mask, 5, cv2.INPAINT_TELEA)


def person_scene(image, joints, scale: float, backdrop_size, name: str = "") -> Scene:
    """The still at `scale`, its person centre at the backdrop centre, on its own person-free surroundings."""
    joints = np.asarray(joints, np.float64)
    bw, bh = backdrop_size
    centre = joints.mean(0) * scale
    shift = np.array([(bw - 1) / 2.0, (bh - 1) / 2.0]) - centre
    placement = np.array([[scale, 0, shift[0]], [0, scale, shift[1]]])
    empty = cv2.resize(person_free(image, joints), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = empty.shape[:2]
    left, top = int(round(shift[0])), int(round(shift[1]))
    pad = ((max(top, 0), max(bh - top - h, 0)), (max(left, 0), max(bw - left - w, 0)), (0, 0))
    backdrop = np.pad(empty, pad, mode="symmetric")[max(-top, 0):, max(-left, 0):][:bh, :bw]
    small = cv2.resize(backdrop, (bw // 4, bh // 4), interpolation=cv2.INTER_AREA)   # defocused: blur it small
    backdrop = cv2.resize(cv2.GaussianBlur(small, (0, 0), 0.025 * bw / 4), (bw, bh), interpolation=cv2.INTER_LINEAR)
    h0, w0 = image.shape[:2]
    ramp = max(2.0, 0.08 * min(h0, w0))
    ys, xs = np.mgrid[0:h0, 0:w0]
    edge = np.minimum(np.minimum(xs + 0.5, w0 - 0.5 - xs), np.minimum(ys + 0.5, h0 - 0.5 - ys))
    alpha = np.clip(edge / ramp, 0.0, 1.0).astype(np.float32)
    return Scene(np.ascontiguousarray(backdrop), image, alpha, joints, placement, name)


def _whips(rng, n, size, x0, count, allowed) -> np.ndarray:
    """(n, 2) view offsets in frame pixels: x0 first, then `count` whip pans, each to the other side."""
    w, h = size
    starts = []
    for _ in range(count):
        free = [s for s in range(4, n - 10) if allowed[s:s + 8].all() and all(abs(s - p) >= 15 for p in starts)]
        if free:
            starts.append(int(rng.choice(free)))
    off, cur = np.tile([x0, 0.0], (n, 1)), np.array([x0, 0.0])
    for s in sorted(starts):
        target = np.array([-np.sign(cur[0] or 1.0) * rng.uniform(0.25, 0.35) * w, rng.uniform(-0.06, 0.06) * h])
        off += _smoothstep((np.arange(n) - s) / rng.integers(3, 7))[:, None] * (target - cur)
        cur = target
    return off


def _walk(rng, n, distance) -> tuple:
    """(n, 2) backdrop offsets of the person: out of the picture, a while away, back in; and where it is still."""
    t = np.arange(n)
    spans = ((0.1, 0.15), (0.18, 0.22), (0.2, 0.25), (0.18, 0.22))
    start, leave, away, back = (int(n * rng.uniform(*r)) for r in spans)
    x = _smoothstep((t - start) / leave) - _smoothstep((t - start - leave - away) / back)
    still = (t < start - 8) | (t > start + leave + away + back + 2)
    return np.stack([distance * x, 0 * x], axis=1), still


def plan_clip(people, empty_scene, n_frames: int = 300, size=(640, 480), fps: float = 30.0, seed: int = 0,
              noise=(2.0, 7.0), jpeg=(35, 75)) -> ClipPlan:
    """people: [(image, joints (14, 2), name)] for the three person shots (reused when fewer); empty_scene: a
    person-free picture (or None: the first person's backdrop, without them)."""
    rng = np.random.default_rng(seed)
    w, h = size
    lengths = [rng.uniform(0.36, 0.44), rng.uniform(0.18, 0.26), rng.uniform(0.09, 0.13)]
    lengths = [int(v * n_frames) for v in lengths] + [0]
    lengths[3] = n_frames - sum(lengths)
    kinds = [0, 1, None, 2] if rng.random() < 0.5 else [0, None, 1, 2]
    lengths = lengths if kinds[1] == 1 else [lengths[0], lengths[2], lengths[1], lengths[3]]
    backdrop_size = (int(2.5 * w), int(2.5 * h))
    scenes = []
    for k in kinds:
        if k is None:
            scenes.append(None)
            continue
        image, joints, name = people[k % len(people)]
        extent = float(np.max(np.ptp(np.asarray(joints, np.float64), axis=0)))
        scenes.append(person_scene(image, joints, rng.uniform(0.45, 0.7) * h / extent, backdrop_size, name))
    empty = Scene(np.ascontiguousarray(empty_scene)) if empty_scene is not None else Scene(scenes[0].backdrop)
    scenes = [s if s is not None else empty for s in scenes]
    camera, person, starts = [], [], np.cumsum([0] + lengths[:-1])
    for i, (scene, n) in enumerate(zip(scenes, lengths)):
        bh, bw = scene.backdrop.shape[:2]
        centre = np.array([(bw - 1) / 2.0, (bh - 1) / 2.0])
        cam = camera_path(n, size, centre, seed=int(rng.integers(1 << 30)), fps=fps, translate=0.06, zoom=0.12,
                          rotate_deg=rng.uniform(20.0, 30.0), fast_segments=0)
        cam[:, :, 2] += np.array([(w - 1) / 2.0, (h - 1) / 2.0]) - centre
        if scene.still is None:
            camera += list(cam)
            person += [np.full((2, 3), np.nan)] * n
            continue
        walk, allowed = np.zeros((n, 2)), np.ones(n, bool)
        x0 = rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 0.22) * w
        if i == 0:      # far enough to leave the picture whatever the roll and zoom
            patch = float(np.hypot(*scene.still.shape[:2])) * scene.placement[0, 0]
            distance = (0.5 * np.hypot(w, h) + abs(x0) + 0.06 * w) / 0.88 + 0.6 * patch
            walk, allowed = _walk(rng, n, np.sign(x0) * distance)
        cam[:, :, 2] += _whips(rng, n, size, x0, 1 if i == 0 else int(rng.integers(1, 3)), allowed)
        camera += list(cam)
        person += [_compose(cam[t], scene.placement + np.c_[np.zeros((2, 2)), walk[t]]) for t in range(n)]
    camera, person = np.array(camera), np.array(person)
    scene_of_frame = np.repeat(np.arange(len(scenes)), lengths)
    truth = _truth(scenes, scene_of_frame, person, size, starts, fps)
    return ClipPlan(size, fps, scenes, scene_of_frame, camera, person, truth,
                    float(rng.uniform(*noise)), int(rng.integers(jpeg[0], jpeg[1] + 1)))


def _visible(scene: Scene, matrix, size) -> bool:
    """Whether any of the still's rectangle is in the picture."""
    h, w = scene.still.shape[:2]
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64) @ matrix[:, :2].T + matrix[:, 2]
    frame = np.array([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]], np.float32)
    area, _ = cv2.intersectConvexConvex(corners.astype(np.float32), frame)
    return area > 0


def _truth(scenes, scene_of_frame, person, size, shot_starts, fps) -> ClipTruth:
    n = len(scene_of_frame)
    w, h = size
    full = np.full((n, 14, 2), np.nan)
    nobody = np.ones(n, bool)
    for t in range(n):
        scene = scenes[scene_of_frame[t]]
        if scene.still is not None and _visible(scene, person[t], size):
            full[t] = transform_joints(person[t][None], scene.joints)[0]
            nobody[t] = False
    torso = torso_diameters(full).astype(np.float64)
    inside = (full[..., 0] >= 0) & (full[..., 0] <= w - 1) & (full[..., 1] >= 0) & (full[..., 1] <= h - 1)
    joints = np.where(inside[..., None], full, np.nan).astype(np.float32)
    cut = np.zeros(n, bool)
    cut[[s for s in shot_starts if s > 0]] = True
    moved = np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        moved[1:] = np.linalg.norm(np.diff(full, axis=0), axis=-1).mean(1) / torso[1:]
        fast = ~cut & (moved > FAST_TORSO)
    names = [s.name if s.still is not None else "" for s in scenes]
    return ClipTruth(joints, torso, nobody, cut, fast, scene_of_frame.astype(np.int32), names, float(fps))


def _line_blur(image, d):
    """Motion blur over the displacement d (pixels) the layer moves while the shutter is open."""
    length = float(np.hypot(*d))
    if length < 1.5:
        return image
    k = int(np.ceil(min(length, 81.0))) | 1
    kernel = np.zeros((k, k), np.float32)
    u = np.asarray(d, np.float64) / length * (min(length, 81.0) - 1) / 2.0
    c = (k - 1) / 2.0
    cv2.line(kernel, (int(round(c - u[0])), int(round(c - u[1]))), (int(round(c + u[0])), int(round(c + u[1]))),
             1.0, 1, cv2.LINE_AA)
    return cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REPLICATE)


def _displacement(plan: ClipPlan, matrices, t, point) -> np.ndarray:
    """How far `point` (in the layer's own pixels) moves in the frame from the previous frame of the shot."""
    a, b = (t - 1, t) if t > 0 and plan.scene_of_frame[t - 1] == plan.scene_of_frame[t] else (t, t + 1)
    if b >= len(matrices) or plan.scene_of_frame[b] != plan.scene_of_frame[a]:
        return np.zeros(2)
    p = np.asarray(point, np.float64)
    return EXPOSURE * ((matrices[b][:, :2] @ p + matrices[b][:, 2]) - (matrices[a][:, :2] @ p + matrices[a][:, 2]))


def render_frame(plan: ClipPlan, t: int, rng=None) -> np.ndarray:
    """Frame t; with `rng`, also motion blur, sensor noise and JPEG (without: the clean picture, for tests)."""
    scene = plan.scenes[plan.scene_of_frame[t]]
    size = tuple(int(v) for v in plan.size)
    frame = cv2.warpAffine(scene.backdrop, plan.camera[t].astype(np.float32), size, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE).astype(np.float32)   # float: filter2D is far faster
    if rng is not None:
        centre = cv2.invertAffineTransform(plan.camera[t]) @ np.array([(size[0] - 1) / 2.0, (size[1] - 1) / 2.0, 1])
        frame = _line_blur(frame, _displacement(plan, plan.camera, t, centre))
    if scene.still is not None and not plan.truth.nobody[t]:
        m = plan.person[t].astype(np.float32)
        fg = cv2.warpAffine(scene.still, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        fg = fg.astype(np.float32)
        alpha = cv2.warpAffine(scene.alpha, m, size, flags=cv2.INTER_LINEAR, borderValue=0)
        if rng is not None:
            d = _displacement(plan, plan.person, t, scene.joints.mean(0))
            fg, alpha = _line_blur(fg, d), _line_blur(alpha, d)
        frame += alpha[..., None] * (fg - frame)
    if rng is not None:
        frame += rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(plan.noise)
    frame = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
    if rng is not None:
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, plan.jpeg_quality])
        frame = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return frame


def write_clip(plan: ClipPlan, video_path, truth_path=None, seed: int = 0, written=None) -> ClipTruth:
    """The clip as an mp4 (mp4v) and its ground truth as npz; both appear whole or not at all. `written` is
    called with each file's path once it is there."""
    rng = np.random.default_rng(seed)
    frames = (render_frame(plan, t, rng) for t in range(len(plan.scene_of_frame)))
    write_video(video_path, frames, plan.fps, plan.size)
    if written:
        written(video_path)
    if truth_path is not None:
        plan.truth.save(truth_path)
        if written:
            written(truth_path)
    return plan.truth
