import numpy as np
from pose_track.engines.estimator import PoseEstimator
from pose_track.tracker.loop import Tracker
from pose_track.tracker.capture import open_source
fp = PoseEstimator("models/deeppose_lsp/onnx", stills=False); q = PoseEstimator("models/deeppose_lsp/int8", stills=False)
tr = Tracker(fp)
rows = []
for k, fr in enumerate(open_source("clip640.mp4")):
    r = tr.step(fr)
    if r.pose is not None and r.pose.presence is not None:
        a = fp.cascade.predict(fr.image, np.array([r.box], np.float32)); b = q.cascade.predict(fr.image, np.array([r.box], np.float32))
        rows.append((a.presence[0], b.presence[0], a.confidence[0].mean(), b.confidence[0].mean(), np.nanmean(np.linalg.norm(a.joints[0]-b.joints[0],axis=-1))/r.box[2]))
r = np.array(rows)
print(len(r), "presence fp32 / int8 mean", r[:,0].mean().round(3), r[:,1].mean().round(3), " conf", r[:,2].mean().round(3), r[:,3].mean().round(3), " joint diff/box", np.median(r[:,4]).round(4))
for lo, hi in ((0, .3), (.3, .5), (.5, .7), (.7, .9), (.9, 1.01)):
    m = (r[:,0] >= lo) & (r[:,0] < hi)
    if m.any(): print(f"fp32 presence {lo}-{hi}: n {m.sum()}, int8 mean {r[m,1].mean():.3f}, int8 below 0.5 {np.mean(r[m,1] < 0.5):.2f}, fp32 below 0.5 {np.mean(r[m,0]<0.5):.2f}")
