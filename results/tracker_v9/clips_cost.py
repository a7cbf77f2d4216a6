"""Per-clip tracking cost split by frame kind: tracked / re-acquired / lost. Usage: clips_cost.py ENGINE [tag]"""
import sys, time, collections, numpy as np
from pose_track.engines.estimator import PoseEstimator
from pose_track.tracker.loop import Tracker
from pose_track.tracker.capture import open_source
eng = sys.argv[1]
for clip in ("runs/s8/clip640.mp4", "runs/s8/sports2d640.mp4"):
    frames = list(open_source(clip))
    tr = Tracker(PoseEstimator(eng, stills=False), stage1_every=int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    cost = collections.defaultdict(float); count = collections.Counter(); found = []
    t_all = time.perf_counter()
    for fr in frames:
        t0 = time.perf_counter(); r = tr.step(fr); dt = time.perf_counter() - t0
        kind = "lost" if r.lost else ("reacq" if r.reacquired else "tracked")
        cost[kind] += dt; count[kind] += 1; found.append(bool(np.isfinite(r.raw).any()))
    total = time.perf_counter() - t_all
    streaks, n = [], 0
    for f in found:
        if not f: n += 1
        elif n: streaks.append(n); n = 0
    if n: streaks.append(n)
    print(f"{clip} {len(frames)} frames {total:.2f} s ({1000*total/len(frames):.1f} ms/frame); found {sum(found)}; "
          + "; ".join(f"{k} {count[k]} x {1000*cost[k]/max(count[k],1):.1f} ms" for k in ("tracked", "reacq", "lost"))
          + f"; empty streaks {streaks}")
