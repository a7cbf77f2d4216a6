"""Model v3. Replays a video with the tracker and prints, for frames LO..HI, the person finder's stage-1 presences
(window sizes, presences) and the still-image answer near a lost track: python results/tracker_v17/near_probe.py BUNDLE VIDEO LO HI."""
import sys, numpy as np
from pose_track.engines.estimator import PoseEstimator
from pose_track.tracker.loop import Tracker
from pose_track.tracker import person_finder as pf
from pose_track.tracker.capture import open_source
bundle, src, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tr = Tracker(PoseEstimator(bundle, stills=False))
orig_call = pf.PersonFinder.__call__
log = []
def call(self, image, near=None):
    st = self.cascade.stage1
    def logged(img, boxes):
        out = st(img, boxes)
        log.append((np.round(boxes[:, 2]).astype(int).tolist(), np.round(out[1], 2).tolist()))
        return out
    self.cascade.stage1 = logged
    try:
        return orig_call(self, image, near)
    finally:
        del self.cascade.stage1
pf.PersonFinder.__call__ = call
orig_same = tr._whole_frame_if_same
def wf(image):
    pose = tr.estimator(image)
    same = tr.appearance.same_person(image, pose.joints) if pose.found else None
    log.append(('whole', round(pose.presence or 0, 2), pose.found, same, np.round(pose.box[:3]).tolist()))
    return orig_same(image)
tr._whole_frame_if_same = wf
for frame in open_source(src):
    log.clear()
    r = tr.step(frame)
    if lo <= frame.index <= hi:
        print(frame.index, 'near', tr.proposer.near() and np.round(tr.proposer.near()[:3]).tolist(), r.lost, f"pres {r.pose.presence}")
        for l in log: print('   ', l)
    if frame.index > hi: break
