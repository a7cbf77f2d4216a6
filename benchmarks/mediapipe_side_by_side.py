#!/usr/bin/env python3
"""MediaPipe Pose (legacy solution, model_complexity=1) on the same pictures and clip as pose-track, for the
README's model card. Runs in its own environment (mediapipe 0.10.14 ships its models inside the wheel):

    python3 -m venv /tmp/mp && /tmp/mp/bin/pip install mediapipe==0.10.14
    pose-track eval-framing --sets runs/framing_sets            # the person-free and waist-up pictures
    /tmp/mp/bin/python benchmarks/mediapipe_side_by_side.py --sets runs/framing_sets \
        --lsp ../shared/data/lsp --clip runs/clip640.mp4 --json results/mediapipe.json

Joints: MediaPipe's person-centric landmarks mapped to LSP's order; neck = the shoulders' midpoint; MediaPipe
has no head top, so PCK@0.2 is given over the other 13 joints. A joint counts as reported when its landmark
lies in the picture with visibility >= 0.5; a pose is reported when MediaPipe returns landmarks.
"""
import argparse
import json
import time

import cv2
import numpy as np
import scipy.io

# LSP order: r_ankle, r_knee, r_hip, l_hip, l_knee, l_ankle, r_wrist, r_elbow, r_shoulder, l_shoulder, l_elbow,
# l_wrist, neck (shoulders' midpoint), head_top (none).
MP_INDEX = [28, 26, 24, 23, 25, 27, 16, 14, 12, 11, 13, 15]
LEGS = [0, 1, 4, 5]
TORSO_DIAGONALS = ((8, 3), (9, 2))     # shoulder to opposite hip


def lsp_joints(landmarks, width, height):
    """(14, 2) pixels with NaN for joints not reported, from MediaPipe's 33 landmarks."""
    out = np.full((14, 2), np.nan)
    if landmarks is None:
        return out
    lm = landmarks.landmark
    pts = np.array([[p.x * width, p.y * height, p.visibility] for p in lm])
    for j, k in enumerate(MP_INDEX):
        x, y, v = pts[k]
        if v >= 0.5 and 0 <= x <= width - 1 and 0 <= y <= height - 1:
            out[j] = (x, y)
    if np.isfinite(out[8]).all() and np.isfinite(out[9]).all():
        out[12] = (out[8] + out[9]) / 2
    return out


def torso(joints):
    return np.mean([np.linalg.norm(joints[a] - joints[b]) for a, b in TORSO_DIAGONALS])


def pck(pred, truth, inside=None, joints=range(13)):
    hits = total = 0
    for p, t, ins in zip(pred, truth, inside if inside is not None else [None] * len(pred)):
        d = torso(t)
        for j in joints:
            if ins is not None and not ins[j]:
                continue
            total += 1
            hits += bool(np.isfinite(p[j]).all() and np.linalg.norm(p[j] - t[j]) <= 0.2 * d)
    return hits / max(total, 1)


def run_stills(pose, images):
    out = []
    for image in images:
        h, w = image.shape[:2]
        res = pose.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        out.append((res.pose_landmarks is not None, lsp_joints(res.pose_landmarks, w, h)))
    return out


def main():
    import glob
    import os

    import mediapipe as mp

    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", required=True)
    ap.add_argument("--lsp", required=True)
    ap.add_argument("--clip", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    result = {"mediapipe": mp.__version__, "model_complexity": 1}
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        free = [cv2.imread(f) for f in sorted(glob.glob(os.path.join(args.sets, "person_free", "*.jpg")))]
        found = run_stills(pose, free)
        result["person_free_images"] = len(free)
        result["person_free_pose_reported"] = int(sum(f for f, _ in found))

        joints = scipy.io.loadmat(os.path.join(args.lsp, "joints.mat"))["joints"].transpose(2, 1, 0)[1000:2000, :, :2]
        images = [cv2.imread(os.path.join(args.lsp, "images", f"im{k:04d}.jpg")) for k in range(1001, 2001)]
        t0 = time.perf_counter()
        test = run_stills(pose, images)
        result["lsp_test_ms_per_image"] = 1000 * (time.perf_counter() - t0) / len(images)
        result["lsp_test_person_found"] = int(sum(f for f, _ in test))
        result["lsp_test_pck13"] = pck([p for _, p in test], joints)

        meta = json.load(open(os.path.join(args.sets, "waist_up", "truth.json")))
        cut = [cv2.imread(os.path.join(args.sets, "waist_up", f"{m['name']}.jpg")) for m in meta]
        preds = [p for _, p in run_stills(pose, cut)]
        truth = [np.array(m["joints"]) for m in meta]
        inside = [np.array(m["inside"]) for m in meta]
        result["waist_up_images"] = len(cut)
        result["waist_up_pck13"] = pck(preds, truth, inside)
        result["waist_up_legs_reported_inside"] = float(np.mean([np.isfinite(p[LEGS]).all(1).mean() for p in preds]))
    if args.clip:
        cap = cv2.VideoCapture(args.clip)
        t0 = time.perf_counter()
        frames = 0
        with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1) as pose:
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                frames += 1
        result["clip_frames"] = frames
        result["clip_seconds"] = time.perf_counter() - t0
        result["clip_fps"] = frames / result["clip_seconds"]
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
