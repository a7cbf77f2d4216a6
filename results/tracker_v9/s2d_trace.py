import sys, numpy as np
from pose_track.engines.estimator import PoseEstimator
from pose_track.tracker.loop import Tracker
from pose_track.tracker.capture import open_source
every = int(sys.argv[1]); clip = sys.argv[2] if len(sys.argv) > 2 else "runs/s8/sports2d640.mp4"
tr = Tracker(PoseEstimator("models/deeppose_lsp/onnx", stills=False), search_every=every)
out = []
for fr in open_source(clip):
    calls = tr.estimator.calls
    r = tr.step(fr)
    f = np.isfinite(r.raw).any()
    out.append("F" if f else ("s" if r.lost and "not looked" in r.lost else "-"))
s = "".join(out)
for i in range(0, len(s), 50): print(f"{i:4d} {s[i:i+50]}")
