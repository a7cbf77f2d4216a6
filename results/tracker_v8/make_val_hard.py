"""Validation hard clips: the hard-clip recipe on held-out LSP-extended people (the last 500, never trained on),
other seeds; tracked once, per-frame answers saved for offline smoother replays."""
import os, cv2, numpy as np
from pose_track.benchmarks.hard_clips import plan_clip, write_clip
from pose_track.benchmarks.hard_tracking import street_scene, track_clip
from pose_track.engines.estimator import PoseEstimator
from pose_track.training.datasets import training_set
W = "runs/hard_val"; os.makedirs(W, exist_ok=True)
_, held = training_set("../shared/data", holdout=500)
ok = [i for i in range(len(held)) if held.valid[i].all()]
scene = street_scene("../shared/data/real/sports2d_demo.mp4")
est = PoseEstimator(stills=False)
n = 8
picks = [ok[int(j)] for j in np.linspace(0, len(ok) - 1, 3 * n)]
for k in range(n):
    people = [(cv2.imread(held.paths[i]), held.joints[i], os.path.basename(held.paths[i])[:-4]) for i in picks[k::n]]
    plan = plan_clip(people, scene, 300, (640, 480), 30.0, seed=100 + k)
    video = f"{W}/val_{k:02d}.mp4"
    write_clip(plan, video, f"{W}/val_{k:02d}.npz", seed=100 + k)
    out = track_clip(est, video, single_image=False)
    np.savez_compressed(f"{W}/val_{k:02d}_tracked.npz", **out)
    print(k, flush=True)
