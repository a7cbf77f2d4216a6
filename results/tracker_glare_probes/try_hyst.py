import sys, re, numpy as np
from pose_track.tracker.loop import Tracker
from pose_track.tracker.capture import open_source
from pose_track.tracker import loop as L
H = float(sys.argv[1])
video = sys.argv[2] if len(sys.argv) > 2 else "../shared/data/real/sports2d_demo.mp4"
orig_track = L.Tracker._track
def _track(self, frame):
    dec = self.estimator.cascade.config.decoding
    keep = dec.presence_threshold
    if not self._need_reacquire:
        dec.presence_threshold = H
    try:
        return orig_track(self, frame)
    finally:
        dec.presence_threshold = keep
L.Tracker._track = _track
t = Tracker()
seen = []; pres = []
for fr in open_source(video):
    r = t.step(fr)
    seen.append(int(np.isfinite(r.raw).all(1).sum() > 0))
    pres.append(r.pose.presence if r.pose is not None and r.pose.presence is not None else -1)
s = "".join(map(str, seen))
print(H, "frames with a person:", [(m.start(), m.end() - 1) for m in re.finditer("1+", s)])
low = [(i, round(p, 2)) for i, p in enumerate(pres) if seen[i] and 0 <= p < 0.5]
print("kept under 0.5:", low)
