#!/usr/bin/env python3
"""The person finder (tracker/person_finder.py) against OpenCV's HOG people detector on 1280x720 frames.

Frames: person-free scenes (the sports2d demo clip after its people left, see `sports2d_plate`, whole and
zoomed; hand-checked person-free regions of held-out LSP-extended images, upscaled; scikit-image's person-free
photos), and the same scenes with LSP test people (im1001-im2000) pasted at given heights.

    python benchmarks/person_finder_bench.py --data ../shared/data --input-sizes --json results/person_finder.json

(--input-sizes: stage 1's presence at 64-192 px inputs too; needs the `onnx` package, the dev extra.)

Measures, per bundle: time per call (3 repeats of the median of 25 calls; the calls of both bundles' finders,
stage 1 alone and HOG interleaved, so that all see the same load, recorded before each repeat), recall on
pasted people per height (the found box holds at least 12 of the 14 joints and its side is within 0.5-2x the
person's box), false finds on the person-free frames, and with two pasted people and `near` on one, how often
the finder keeps that one.

One script (about 360 lines): the scenes, the pasting and the measurements are only used together, here and in
tests/test_person_finder.py.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import cv2
import numpy as np

from pose_track.engines.cascade import fill_crops
from pose_track.engines.geometry import PERSON_BOX_SCALE, box_from_joints

FRAME = (1280, 720)
# Held-out LSP-extended images whose region away from the labelled person was checked by eye to hold nobody.
LSPET_BACKGROUNDS = ("im09513", "im09518", "im09523", "im09529", "im09533", "im09544", "im09577", "im09585",
                     "im09629", "im09661", "im09675", "im09691", "im09699", "im09705", "im09722", "im09730",
                     "im09734", "im09755", "im09768", "im09800", "im09810")
SKIMAGE_BACKGROUNDS = ("coffee", "chelsea", "rocket")
HEIGHTS = (120, 180, 260, 380, 540, 680)      # pasted person's joint extent, pixels of a 720-line frame


def person_free_region(shape, joints, valid, aspect: float, margin: float = 0.35):
    """(x, y, w, h) the largest rectangle of the given aspect beside the person's grown joint box."""
    h, w = shape
    pts = joints[valid] if valid.any() else joints
    lo, hi = pts.min(0), pts.max(0)
    grow = margin * float(max(hi - lo))
    x0, y0, x1, y1 = lo[0] - grow, lo[1] - grow, hi[0] + grow, hi[1] + grow
    best = None
    for rx0, ry0, rx1, ry1 in ((0, 0, x0, h), (x1, 0, w, h), (0, 0, w, y0), (0, y1, w, h)):
        rx0, ry0, rx1, ry1 = max(0, rx0), max(0, ry0), min(w, rx1), min(h, ry1)
        if rx1 <= rx0 or ry1 <= ry0:
            continue
        cw = min(rx1 - rx0, (ry1 - ry0) * aspect)
        if best is None or cw > best[2]:
            best = ((rx0 + rx1 - cw) / 2, (ry0 + ry1 - cw / aspect) / 2, cw, cw / aspect)
    return best


def sports2d_plate(clip: str):
    """The clip's last frame (the people have left) with its right strip, where the last runner hides behind a
    tree, from the first frame (nobody there then). Both keep one or two figures far off by a shop door, about
    25 px tall here: far below the finder's smallest window."""
    cap = cv2.VideoCapture(clip)
    ok, first = cap.read()
    cap.set(cv2.CAP_PROP_POS_FRAMES, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) - 1)
    ok_last, last = cap.read()
    if not (ok and ok_last):
        raise RuntimeError(f"cannot read the first and last frames of {clip}")
    plate = last.copy()
    strip = int(0.79 * plate.shape[1])
    plate[:, strip:] = first[:, strip:]
    return cv2.resize(plate, FRAME, interpolation=cv2.INTER_AREA)


def person_free_scenes(data: str):
    from pose_track.training.datasets import load_folder

    scenes = []
    plate = sports2d_plate(os.path.join(data, "real", "sports2d_demo.mp4"))
    scenes += [("sports2d", plate), ("sports2d_mirror", plate[:, ::-1].copy())]
    for zoom, (fx, fy) in ((1.3, (0.0, 0.0)), (1.3, (1.0, 1.0)), (1.6, (0.5, 0.3)), (1.6, (0.1, 0.9))):
        w, h = int(FRAME[0] / zoom), int(FRAME[1] / zoom)
        x, y = int(fx * (FRAME[0] - w)), int(fy * (FRAME[1] - h))
        scenes.append((f"sports2d_zoom{zoom}_{fx}_{fy}", cv2.resize(plate[y:y + h, x:x + w], FRAME)))
    held_out = load_folder(os.path.join(data, "lspet"), 9501, 10000)
    for path, joints, valid in zip(held_out.paths, held_out.joints, held_out.valid):
        name = os.path.splitext(os.path.basename(path))[0]
        if name in LSPET_BACKGROUNDS:
            image = cv2.imread(path)
            x, y, w, h = person_free_region(image.shape[:2], joints, valid, FRAME[0] / FRAME[1])
            scenes.append((name, cv2.resize(image[int(y):int(y + h), int(x):int(x + w)], FRAME,
                                            interpolation=cv2.INTER_CUBIC)))
    try:
        import skimage.data
        for name in SKIMAGE_BACKGROUNDS:
            rgb = getattr(skimage.data, name)()
            bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
            scenes.append((name, cv2.resize(bgr, FRAME, interpolation=cv2.INTER_CUBIC)))
    except ImportError:
        pass
    return scenes


def paste_person(scene, image, joints, height: float, centre, margin: float = 0.2):
    """(frame, joints in it): the person's region of `image` (their joint box grown by `margin` of its extent,
    edges feathered) scaled so that the joints span `height` pixels and pasted centred on `centre`."""
    lo, hi = joints.min(0), joints.max(0)
    extent = float(max(hi - lo))
    k = height / extent
    shift = np.asarray(centre, np.float64) - k * (lo + hi) / 2
    to_frame = np.array([[k, 0, shift[0]], [0, k, shift[1]]], np.float32)
    region = np.zeros(image.shape[:2], np.float32)
    (x0, y0), (x1, y1) = np.maximum(0, lo - margin * extent).astype(int), (hi + margin * extent).astype(int)
    region[y0:y1, x0:x1] = 1
    feather = max(1.0, 0.04 * extent)
    alpha = cv2.GaussianBlur(cv2.erode(region, np.ones((3, 3)), iterations=int(2 * feather)), (0, 0), feather)
    size = scene.shape[1::-1]
    person = cv2.warpAffine(image, to_frame, size, flags=cv2.INTER_CUBIC).astype(np.float32)
    alpha = cv2.warpAffine(alpha, to_frame, size)[..., None]
    frame = (alpha * person + (1 - alpha) * scene.astype(np.float32)).astype(np.uint8)
    return frame, (joints * k + shift).astype(np.float32)


def paste_at_random(frame, person, height: float, rng):
    """`paste_person` of person (path, joints) at a random place that keeps their joints in the frame."""
    path, joints = person
    extent = np.ptp(joints, axis=0)
    half = np.array([extent[0] / max(extent) * height, height]) / 2 + 4
    centre = rng.uniform(half, np.array(FRAME) - half)
    return paste_person(frame, cv2.imread(path), joints, height, centre)


def is_hit(found, joints, min_joints: int = 12) -> bool:
    """The found square box (a Found's, or a box, or None) holds at least `min_joints` of the person's joints
    and its side is within 0.5-2x the side of the person's own box."""
    box = getattr(found, "box", found)
    if box is None:
        return False
    cx, cy, side = (float(v) for v in box[:3])
    inside = (np.abs(joints[:, 0] - cx) <= side / 2) & (np.abs(joints[:, 1] - cy) <= side / 2)
    truth = float(max(np.ptp(joints, axis=0))) * PERSON_BOX_SCALE
    return int(inside.sum()) >= min_joints and 0.5 <= side / truth <= 2.0


def lsp_people(data: str):
    from pose_track.training.datasets import lsp_test

    people = lsp_test(os.path.join(data, "lsp"))
    return [(path, joints) for path, joints in zip(people.paths, people.joints)]


def pasted_trials(scenes, people, per_height: int, seed: int = 0):
    """[(frame, joints, height)]: one LSP test person pasted at a random place, `per_height` frames per height."""
    rng = np.random.default_rng(seed)
    trials = []
    for height in HEIGHTS:
        for _ in range(per_height):
            scene = scenes[rng.integers(len(scenes))][1]
            trials.append((*paste_at_random(scene, people[rng.integers(len(people))], height, rng), height))
    return trials


def two_people_trials(scenes, people, count: int, seed: int = 1):
    """[(frame, joints of the tracked one, joints of the other)]: two people of heights drawn from HEIGHTS[1:4],
    their centres apart by at least their mean height."""
    rng = np.random.default_rng(seed)
    trials = []
    while len(trials) < count:
        frame, pasted = scenes[rng.integers(len(scenes))][1], []
        for _ in range(2):
            height = float(rng.choice(HEIGHTS[1:4]))
            frame, joints = paste_at_random(frame, people[rng.integers(len(people))], height, rng)
            pasted.append(joints)
        centres = [(p.min(0) + p.max(0)) / 2 for p in pasted]
        if np.hypot(*(centres[0] - centres[1])) >= np.mean([max(np.ptp(p, axis=0)) for p in pasted]):
            trials.append((frame, *pasted))
    return trials


def jittered_box(joints, rng, shift: float = 0.2, scale: float = 0.2):
    """The person's box as the tracker last had it: moved by up to `shift` sides, resized by up to `scale`."""
    cx, cy, side = box_from_joints(joints, PERSON_BOX_SCALE)
    return (cx + rng.uniform(-shift, shift) * side, cy + rng.uniform(-shift, shift) * side,
            side * float(np.exp(rng.uniform(-scale, scale))))


def interleaved_ms(fns: dict, calls: int, repeats: int = 3) -> dict:
    """Per name, `repeats` times the median ms of `calls` calls and the median of those; the calls of all names
    interleaved, so that each sees the same load (the 1-minute load average before each repeat: `load`)."""
    for fn in fns.values():
        fn()
    medians, loads = {name: [] for name in fns}, []
    for _ in range(repeats):
        loads.append(round(os.getloadavg()[0], 2))
        times = {name: [] for name in fns}
        for _ in range(calls):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
        for name in fns:
            medians[name].append(round(1000 * float(np.median(times[name])), 1))
    return {"load": loads, **{name: {"median": float(np.median(m)), "repeats": m} for name, m in medians.items()}}


def timings(finders: dict, cascades: dict, hog, trials, person_free, calls: int) -> dict:
    """ms per call of each finder (kept across calls, its window cycle moving on, as the tracker keeps it) on a
    frame with a person, with `near`, and on a person-free frame; of stage 1 alone on 1 and 4 crops; of HOG."""
    rng = np.random.default_rng(3)
    frame, joints, _ = trials[len(trials) // 2]
    fns = {}
    for name, make in finders.items():
        alone, near, empty = make(), make(), make()
        fns[f"finder_{name}"] = lambda f=alone: f(frame)
        fns[f"finder_{name}_near"] = lambda f=near: f(frame, near=jittered_box(joints, rng))
        fns[f"finder_{name}_person_free"] = lambda f=empty: f(person_free)
    for name, cascade in cascades.items():
        size = cascade.config.architecture.stage1_input
        for n in (1, 4):
            batch = np.random.default_rng(0).uniform(0, 255, (n, 3, size, size)).astype(np.float32)
            fns[f"stage1_{name}_batch{n}"] = lambda c=cascade, b=batch: c.backend.run(0, b)
    if hog is not None:
        fns["hog"] = lambda: hog(frame)
    return interleaved_ms(fns, calls)


def finder_recall(make, trials, cycle_calls: int, rng) -> dict:
    """Per height, the share of people hit by the first find of a fresh finder on its first call, within one
    cycle of calls, and on one call with `near` the person's jittered box."""
    first, cycle, near = {}, {}, {}
    for frame, joints, height in trials:
        finder = make()
        for call in range(cycle_calls):
            found = finder(frame)
            if found is not None:
                break
        hit = is_hit(found, joints)
        first.setdefault(height, []).append(hit and call == 0)
        cycle.setdefault(height, []).append(hit)
        found = make()(frame, near=jittered_box(joints, rng))
        near.setdefault(height, []).append(is_hit(found, joints))
    share = lambda d: {str(h): round(float(np.mean(v)), 3) for h, v in d.items()}
    return {"recall_first_call": share(first), "recall_one_cycle": share(cycle), "recall_near": share(near)}


def measure_finder(make, trials, two, scenes) -> dict:
    """Recall (`finder_recall`), with two people how often `near` keeps the tracked one, and false finds on the
    person-free frames on a fresh finder's first call and within one cycle."""
    from pose_track.tracker.person_finder import search_cycle

    probe = make()
    cycle_calls = int(np.ceil(len(search_cycle(*FRAME)) / probe.windows_per_call))
    rng = np.random.default_rng(2)
    out = {"windows_per_call": probe.windows_per_call, "confirm": probe.confirm, "looks": probe.looks,
           "threshold": probe.threshold, "calls_per_cycle": cycle_calls,
           **finder_recall(make, trials, cycle_calls, rng), "trials_per_height": len(trials) // len(HEIGHTS)}
    kept = other = 0
    for frame, tracked, beside in two:
        found = make()(frame, near=jittered_box(tracked, rng))
        kept += is_hit(found, tracked)
        other += is_hit(found, beside)
    out["two_people"] = {"frames": len(two), "kept_the_tracked_one": kept, "took_the_other": other}
    first = cycle = 0
    for _, scene in scenes:
        finder = make()
        finds = [finder(scene) is not None for _ in range(cycle_calls)]
        first, cycle = first + finds[0], cycle + any(finds)
    out["false_finds"] = {"frames": len(scenes), "first_call": first, "within_one_cycle": cycle}
    return out


def hog_recall(hog, trials, scenes) -> dict:
    recall = {}
    for frame, joints, height in trials:
        recall.setdefault(str(height), []).append(is_hit(hog(frame), joints))
    return {"recall": {h: round(float(np.mean(v)), 3) for h, v in recall.items()},
            "false_finds": {"frames": len(scenes), "found": sum(hog(scene) is not None for _, scene in scenes)}}


def presence_at_input_sizes(bundle: str, trials, scenes, sizes=(64, 96, 128, 192)):
    """Stage 1 at other input sizes (its ONNX input made size-free; needs the `onnx` package) on the finder's
    window levels and one of a quarter side: per size, the median of each person's best presence over the
    windows that frame them (side 1-2.6x their extent, centre within a quarter side), the share of people with
    such a window over 0.5, and the share of person-free frames with any window over 0.5."""
    import onnx

    from pose_track.engines.bundle import read_manifest, stage_files
    from pose_track.engines.onnxruntime_backend import import_onnxruntime, session_options
    from pose_track.tracker.person_finder import level_windows

    model = onnx.load(stage_files(bundle, read_manifest(bundle))[0])
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    session = import_onnxruntime().InferenceSession(model.SerializeToString(), sess_options=session_options())
    windows = np.concatenate([level_windows(*FRAME, s) for s in (max(FRAME), 720, 360, 180)])
    out = {}
    for size in sizes:
        batch = np.zeros((len(windows), 3, size, size), np.float32)
        presence = lambda frame: session.run(["presence"], {"image": fill_crops(
            frame, windows[:, :2], windows[:, 2], size, batch, bgr=True)})[0].reshape(-1)
        best = []
        for frame, joints, _ in trials:
            centre, extent = (joints.min(0) + joints.max(0)) / 2, float(max(np.ptp(joints, axis=0)))
            framing = ((np.abs(windows[:, :2] - centre).max(1) <= 0.25 * windows[:, 2])
                       & (windows[:, 2] >= extent) & (windows[:, 2] <= 2.6 * extent))
            best.append(float(presence(frame)[framing].max()) if framing.any() else np.nan)
        out[str(size)] = {"framing_window_presence_median": round(float(np.nanmedian(best)), 3),
                          "people_with_a_framing_window_over_0.5": round(float(np.nanmean(np.array(best) >= 0.5)), 3),
                          "person_free_frames_with_a_window_over_0.5":
                              round(float(np.mean([presence(s).max() >= 0.5 for _, s in scenes])), 3)}
    return {"windows": len(windows), "sizes": out}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--bundles", default="models/deeppose_lsp/onnx,models/deeppose_lsp/int8")
    parser.add_argument("--per-height", type=int, default=20, help="pasted people per height")
    parser.add_argument("--two-people", type=int, default=40, help="frames with two people")
    parser.add_argument("--calls", type=int, default=25, help="calls timed (median)")
    parser.add_argument("--windows-per-call", type=int, default=3)
    parser.add_argument("--confirm", type=int, default=1)
    parser.add_argument("--looks", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=None, help="default: the model's second_look_threshold")
    parser.add_argument("--input-sizes", action="store_true", help="also stage 1's presence at 64-192 px inputs")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    from pose_track.engines.backends import load_cascade
    from pose_track.tracker.person_finder import PersonFinder
    from pose_track.benchmarks.hog import HogPersonDetector

    scenes = person_free_scenes(args.data)
    people = lsp_people(args.data)
    trials = pasted_trials(scenes, people, args.per_height)
    two = two_people_trials(scenes, people, args.two_people)
    settings = {"windows_per_call": args.windows_per_call, "confirm": args.confirm, "looks": args.looks,
                "threshold": args.threshold}
    cascades = {os.path.basename(b.rstrip("/")): load_cascade(b, threads=2) for b in args.bundles.split(",")}
    finders = {name: (lambda c=cascade: PersonFinder(c, **settings)) for name, cascade in cascades.items()}
    hog = HogPersonDetector()
    hog = hog if hog.available else None
    report = {"frame": list(FRAME), "person_free_frames": len(scenes), "heights_px": list(HEIGHTS),
              "hit": "the box holds >= 12 of 14 joints, side 0.5-2x the person's box",
              "ms_per_call": timings(finders, cascades, hog, trials, scenes[0][1], args.calls),
              "finder": {name: measure_finder(make, trials, two, scenes) for name, make in finders.items()},
              "hog": hog_recall(hog, trials, scenes) if hog is not None else None}
    print(json.dumps(report, indent=1), flush=True)
    if args.input_sizes:
        report["stage1_input_size"] = presence_at_input_sizes(args.bundles.split(",")[0], trials[::2], scenes)
        print(json.dumps(report["stage1_input_size"], indent=1), flush=True)
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(report, f, indent=1)
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
