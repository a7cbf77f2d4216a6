"""Held-out probe: the stills answer, then the cascade again on its last box turned by +-theta; joints averaged."""
import sys, numpy as np
from pose_track.commands.model import load_estimator
from pose_track.training.datasets import load_folder
from pose_track.training.cache import read_image
from pose_track.training.metrics import pck
est = load_estimator(sys.argv[1] if len(sys.argv) > 1 else None, stills=True)
ext = load_folder("../shared/data/lspet")
held = ext.subset(range(len(ext) - 500, len(ext) - 200))
thetas = [8, 15, 25]
base, res = [], {t: {"mean": [], "median3": []} for t in thetas}
for p in held.paths:
    im = read_image(p)
    pose = est(im)
    base.append(pose.joints)
    cx, cy, side, ang = pose.box
    for t in thetas:
        boxes = np.array([[cx, cy, side, ang + t], [cx, cy, side, ang - t]], np.float32)
        r = est.cascade.predict(im, boxes)
        j = np.stack([pose.joints, r.joints[0], r.joints[1]])
        ok = np.isfinite(pose.joints).all(1)
        m = np.where(ok[:, None], j.mean(0), np.nan)
        res[t]["mean"].append(m)
        res[t]["median3"].append(np.where(ok[:, None], np.median(j, 0), np.nan))
def score(preds):
    return float(pck(np.nan_to_num(np.stack(preds), nan=-1e6), held.joints, held.valid))
print("base", score(base))
for t in thetas:
    print(t, {k: round(score(v), 4) for k, v in res[t].items()})
