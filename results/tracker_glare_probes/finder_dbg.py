from pose_track.tracker.loop import Tracker
from pose_track.tracker.capture import open_source
t = Tracker()
casc = t.estimator.cascade
orig = casc.stage1
state = {"i": 0}
def stage1(image, boxes):
    out = orig(image, boxes)
    if 126 <= state["i"] <= 140:
        for b, p in zip(boxes, out[1]):
            print("   ", state["i"], "box", tuple(int(v) for v in b[:3]), "pres %.2f" % p)
    return out
casc.stage1 = stage1
for fr in open_source("../shared/data/real/sports2d_demo.mp4"):
    state["i"] = fr.index
    r = t.step(fr)
    if 126 <= fr.index <= 140: print(fr.index, "near", t.proposer.near(), r.lost)
    if fr.index > 140: break
