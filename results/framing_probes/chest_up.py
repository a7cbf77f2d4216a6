"""Held-out LSP-extended people (the last 500; upright, every joint labelled, head above the shoulders and legs
below the hips) cut three ways by the picture's bottom edge: at mid-torso (chest-up: hips and legs out), halfway
between hips and knees (waist-up), and not at all. Per cut: people found, PCK@0.2 of the joints in the picture
(a person not found counts as misses), and how often a joint below the cut is reported inside.
Usage: chest_up.py [stills] [framed]   (default: the video bundle; framed: the cut pictures cropped to 4:3 from
above the head to the cut, centred on the shoulders, as a desk camera frames a person)"""
import sys, numpy as np
from pose_track.commands.model import load_estimator
from pose_track.training.datasets import load_folder
from pose_track.training.cache import read_image
from pose_track.training.metrics import _joint_hits
from pose_track.engines.joints import J
from pose_track.engines.geometry import torso_diameter
stills = "stills" in sys.argv[1:]
FRAMED = "framed" in sys.argv[1:]
est = load_estimator(None, stills=stills)
ext = load_folder("../shared/data/lspet")
held = ext.subset(range(len(ext) - 500, len(ext)))
SH, HI = [J["r_shoulder"], J["l_shoulder"]], [J["r_hip"], J["l_hip"]]
KN = [J["r_knee"], J["l_knee"]]
LOWER = [J[k] for k in ("r_hip", "l_hip", "r_knee", "l_knee", "r_ankle", "l_ankle")]
stats = {k: [0, 0, 0, 0, 0, 0] for k in ("chest-up", "waist-up", "whole")}   # n, found, hits, joints, out reported, out
for path, joints, valid in zip(held.paths, held.joints, held.valid):
    if not valid.all(): continue
    sh_y, hip_y, knee_y = joints[SH, 1].max(), joints[HI, 1].max(), joints[KN, 1].min()
    if hip_y - sh_y < 0.5 * torso_diameter(joints) or joints[LOWER, 1].min() < joints[HI, 1].min() - 1: continue
    if joints[[J["neck"], J["head_top"]], 1].max() > sh_y + 1 or knee_y <= hip_y + 2: continue
    image = read_image(path)
    for name, cut in (("chest-up", int(round((sh_y + joints[HI, 1].min()) / 2))), ("waist-up", int(round((hip_y + knee_y) / 2))),
                      ("whole", image.shape[0])):
        if FRAMED and name != "whole":          # a camera's 4:3 picture: from above the head to the cut
            top = max(0, int(round(joints[J["head_top"], 1] - 0.25 * (cut - joints[J["head_top"], 1]))))
            width = 4 * (cut - top) // 3
            cx = float(joints[SH, 0].mean())
            x0 = int(np.clip(round(cx - width / 2), 0, max(0, image.shape[1] - width)))
            im = image[top:cut, x0:x0 + width]
            shifted = joints - [x0, top]
            inside = (shifted[:, 1] <= im.shape[0] - 1) & (shifted[:, 0] >= 0) & (shifted[:, 0] <= im.shape[1] - 1) & (shifted[:, 1] >= 0)
        else:
            im, shifted = image[:cut], joints
            inside = joints[:, 1] <= cut - 1
        pose = est(im)
        s = stats[name]
        s[0] += 1; s[1] += bool(pose.found)
        h = _joint_hits(np.nan_to_num(pose.joints, nan=-1e6)[None], shifted[None], 0.2)[0]
        s[2] += h[inside].sum(); s[3] += inside.sum()
        s[4] += (np.isfinite(pose.joints).all(1) & ~inside).sum(); s[5] += (~inside).sum()
for name, (n, found, hits, total, out_rep, out) in stats.items():
    extra = f", joints below the cut reported inside {100 * out_rep / out:.1f} %" if out else ""
    print(f"{'stills' if stills else 'video'} bundle, {name}: {n} people, found {found}, PCK@0.2 of the joints in the picture {hits / total:.3f}{extra}")
