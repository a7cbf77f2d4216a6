"""Chest-up people in video: the held-out LSP-extended people of `training.framing_eval.chest_up` (4:3 pictures
from above the head to mid-torso), upscaled to 640x480 and filmed by a gently moving camera for 45 frames, tracked
as `pose-track video` tracks (the video bundle; PCK@0.2 of the smoothed joints in the picture).
Usage: chest_up_clips.py [shipped | nowhere | estimator-only]
  shipped: the chest-up box as the code has it (the estimator's closer passes and the tracker's seeded boxes);
  nowhere: every cut body framed by the waist-up box (CHEST_UP_BOX_SCALE = CUT_BODY_BOX_SCALE, as before);
  estimator-only: the tracker's seeded boxes without it."""
import sys, numpy as np, cv2
import pose_track.engines.geometry as G
import pose_track.tracker.proposer as P
from pose_track.tracker.loop import Tracker
from pose_track.tracker.smoothing import make_smoother
from pose_track.training.datasets import load_folder
from pose_track.training.framing_eval import chest_up
from pose_track.benchmarks.clipmaker import camera_path, frame_at, transform_joints
where = sys.argv[1] if len(sys.argv) > 1 else "shipped"
if where == "nowhere":
    G.CHEST_UP_BOX_SCALE = G.CUT_BODY_BOX_SCALE
elif where == "estimator-only":
    shipped = G.person_box_scale
    P.person_box_scale = lambda valid, *a, **k: shipped(valid, *a, **{**k, "chest_up": G.CUT_BODY_BOX_SCALE})
ext = load_folder("../shared/data/lspet")
people = chest_up(ext.subset(range(len(ext) - 500, len(ext))))
W, H, N = 640, 480, 45
hits = total = with_joints = frames = hips_drawn = 0
HIPS = [G.J["r_hip"], G.J["l_hip"]]
for n, (picture, joints, inside) in enumerate(people):
    k = W / picture.shape[1]
    big = cv2.resize(picture, (W, int(round(picture.shape[0] * k))), interpolation=cv2.INTER_CUBIC)
    mats = camera_path(N, (W, H), np.array([W / 2, H / 2]), seed=n, translate=0.04, zoom=0.08, rotate_deg=4,
                       fast_segments=0)
    gt = transform_joints(mats, joints * k)
    tracker = Tracker(smoother=make_smoother("kalman"))
    for i in range(N):
        r = tracker(frame_at(big, mats[i], (W, H)), i / 30.0)
        seen = inside & (gt[i][:, 0] >= 0) & (gt[i][:, 0] < W) & (gt[i][:, 1] >= 0) & (gt[i][:, 1] < H)
        d = np.linalg.norm(np.nan_to_num(r.smoothed, nan=1e6) - gt[i], axis=1)
        hits += (d[seen] <= 0.2 * G.torso_diameter(gt[i])).sum()
        total += seen.sum()
        with_joints += bool(np.isfinite(r.smoothed).any())
        hips_drawn += int(np.isfinite(r.smoothed[HIPS]).all(1).sum())      # the hips lie below the picture
        frames += 1
print(f"{where}: {len(people)} clips, frames with joints {with_joints} of {frames}, PCK@0.2 of the joints in the "
      f"picture {hits / total:.3f}, hips drawn {100 * hips_drawn / (2 * frames):.1f} %")
