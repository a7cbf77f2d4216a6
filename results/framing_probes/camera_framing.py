"""Held-out LSP-extended people (the last 500 images, never trained on) framed as a camera frames them: a 4:3
picture from above the head down to a cut at mid-torso (chest-up: hips out) or halfway between hips and knees
(waist-up: knees out), centred on the shoulders. Per framing: people found, PCK@0.2 of the labelled joints in the
picture (a person not found counts as misses), and how often a labelled joint below the cut is reported inside.
Usage: camera_framing.py [stills] [--fresh | --strict] [--chest-scale S]
(--fresh: leave out the 38 people of chest_up.py; --strict: only them)"""
import sys, numpy as np
from pose_track.commands.model import load_estimator
from pose_track.training.datasets import load_folder
from pose_track.training.cache import read_image
from pose_track.training.metrics import _joint_hits
from pose_track.engines.joints import J
from pose_track.engines.geometry import torso_diameter
args = sys.argv[1:]
stills = "stills" in args
if "--chest-scale" in args:        # the closer box where both hips are out of the picture (engines.geometry)
    import pose_track.engines.geometry as G
    G.CHEST_UP_BOX_SCALE = float(args[args.index("--chest-scale") + 1])
est = load_estimator(None, stills=stills)
ext = load_folder("../shared/data/lspet")
held = ext.subset(range(len(ext) - 500, len(ext)))
SH, HI, KN = [J["r_shoulder"], J["l_shoulder"]], [J["r_hip"], J["l_hip"]], [J["r_knee"], J["l_knee"]]
HEAD = [J["neck"], J["head_top"]]
stats = {k: [0, 0, 0, 0, 0, 0, 0, 0] for k in ("chest-up", "waist-up")}
LEGS = [J[k] for k in ("r_knee", "l_knee", "r_ankle", "l_ankle")]
for path, joints, valid in zip(held.paths, held.joints, held.valid):
    need = SH + HI + HEAD
    if not valid[need].all(): continue
    sh_y, hip_top, hip_y = joints[SH, 1].max(), joints[HI, 1].min(), joints[HI, 1].max()
    if hip_top - sh_y < 0.5 * torso_diameter(joints, valid) or joints[HEAD, 1].max() > sh_y + 1: continue
    strict = (valid.all() and joints[[J[k] for k in ("r_hip", "l_hip", "r_knee", "l_knee", "r_ankle", "l_ankle")], 1].min()
              >= hip_top - 1 and joints[KN, 1].min() > hip_y + 2)     # the 38 of results/framing_probes/chest_up.py
    if ("--fresh" in args and strict) or ("--strict" in args and not strict): continue
    image = read_image(path)
    cuts = {"chest-up": int(round((sh_y + hip_top) / 2))}
    if valid[KN].all() and joints[KN, 1].min() > hip_y + 2:
        cuts["waist-up"] = int(round((hip_y + joints[KN, 1].min()) / 2))
    for name, cut in cuts.items():
        top = max(0, int(round(joints[J["head_top"], 1] - 0.25 * (cut - joints[J["head_top"], 1]))))
        width = 4 * (cut - top) // 3
        x0 = int(np.clip(round(float(joints[SH, 0].mean()) - width / 2), 0, max(0, image.shape[1] - width)))
        im = image[top:cut, x0:x0 + width]
        pts = joints - [x0, top]
        inside = (pts[:, 1] <= im.shape[0] - 1) & (pts[:, 0] >= 0) & (pts[:, 0] <= im.shape[1] - 1) & (pts[:, 1] >= 0)
        pose = est(im)
        s = stats[name]
        s[0] += 1; s[1] += bool(pose.found)
        h = _joint_hits(np.nan_to_num(pose.joints, nan=-1e6)[None], pts[None], 0.2)[0]
        s[2] += h[inside & valid].sum(); s[3] += (inside & valid).sum()
        below = valid & ~inside & (pts[:, 1] > im.shape[0] - 1)
        s[4] += (np.isfinite(pose.joints).all(1) & below).sum(); s[5] += below.sum()
        legs = np.zeros(14, bool); legs[LEGS] = True
        s[6] += (np.isfinite(pose.joints).all(1) & below & legs).sum(); s[7] += (below & legs).sum()
for name, (n, found, hits, total, rep, out, leg_rep, leg_out) in stats.items():
    print(f"{'stills' if stills else 'video'} bundle, {name}: {n} people, found {found}, PCK@0.2 in the picture "
          f"{hits / total:.3f}, joints below the cut reported inside {100 * rep / max(out, 1):.1f} % (knees and "
          f"ankles {100 * leg_rep / max(leg_out, 1):.1f} %)", flush=True)
