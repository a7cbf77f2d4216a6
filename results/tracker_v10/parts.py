import sys, time, collections, numpy as np
from pose_track.engines.estimator import PoseEstimator
from pose_track.engines.timing import PartTimes
from pose_track.tracker.loop import Tracker
from pose_track.tracker.capture import open_source
eng = sys.argv[1]; n = int(sys.argv[2])
est = PoseEstimator(eng, stills=False)
be = est.cascade.backend; orig = be.run; rec = collections.Counter()
def run(stage, batch):
    rec[(stage, batch.shape[0])] += 1; return orig(stage, batch)
be.run = run
tr = Tracker(est); rec.clear()
times = PartTimes(); tr.time_parts(times)
frames = []
for fr in open_source(sys.argv[3]):
    frames.append(fr)
    if len(frames) >= n: break
t0 = time.perf_counter()
state = []
for fr in frames:
    r = tr.step(fr); state.append(("R" if r.reacquired else "") + ("L" if r.lost else "") + ("F" if np.isfinite(r.raw).any() else "-"))
dt = time.perf_counter() - t0
print(f"{n} frames {dt:.2f} s = {1000*dt/n:.1f} ms/frame; parts ms/frame", {k: round(v, 2) for k, v in times.ms_per(n).items()})
print("calls", sorted(rec.items()))
print(collections.Counter(state))
