"""Model v3 (the shipped video bundle when written). Near a lost track: the finder's best look (not the last) at the plain presence threshold, kept only for the
same-looking person."""
import sys, re, time, numpy as np
from pose_track.tracker.loop import Tracker
from pose_track.tracker.capture import open_source
from pose_track.tracker import person_finder as pf, proposer as pr
from pose_track.engines.estimator import TOLERANCE, box_change
from pose_track.engines.geometry import box_from_joints, in_image

NEAR_T = float(sys.argv[1])
video = sys.argv[2] if len(sys.argv) > 2 else "../shared/data/real/sports2d_demo.mp4"

def call(self, image, near=None):
    height, width = image.shape[:2]
    windows = self.next_windows(width, height, near)
    joints, presence = self._look_through(image, windows)
    boxes = self._candidates(joints, presence, width, height, near)
    threshold = self.threshold if near is None else NEAR_T
    found = []
    for _ in range(self.looks):
        joints, presence, inside = self.cascade.stage1(image, np.array(boxes, np.float32))
        for k in np.flatnonzero(presence >= threshold):
            placed = (inside[k] >= self.inside_threshold) & in_image(joints[k], height, width)
            if placed.sum() < 2:
                continue
            found.append(pf.Found(box_from_joints(joints[k], self.box_scale, placed), float(presence[k]),
                                  np.where(placed[:, None], joints[k], np.float32(np.nan))))
        closer = [self._box_around(j, width, height) for j in joints]
        moved = [box_change(old, new) >= TOLERANCE for old, new in zip(boxes, closer)]
        if not any(m and p >= self.presence_threshold for m, p in zip(moved, presence)):
            break
        boxes = closer
    if near is None:
        found = [f for f in found if f.presence >= self.threshold][-1:]    # as before: the last look's
    elif found:
        found = [max(found, key=lambda f: f.presence)]
    return self._choose(found, near)
pf.PersonFinder.__call__ = call

TRACKER = None
orig_reacq = pr.BoxProposer.reacquire_box
def reacquire_box(self, image):
    h, w = image.shape[:2]
    near = self.near()
    if near is None or self.finder is None:
        return orig_reacq(self, image)
    found = self.finder(image, near=near)
    if found is not None and found.presence < self.finder.threshold:
        if not TRACKER.appearance.same_person(image, found.joints):
            found = None
        else:
            TRACKER.weak = getattr(TRACKER, "weak", 0) + 1
    return None if found is None else self.clamp(found.box, h, w)
pr.BoxProposer.reacquire_box = reacquire_box

t = TRACKER = Tracker()
seen = []
t0 = time.perf_counter()
for fr in open_source(video):
    r = t.step(fr)
    seen.append(int(np.isfinite(r.raw).all(1).sum() > 0))
s = "".join(map(str, seen))
print(NEAR_T, "weak finds", getattr(t, "weak", 0), "%.1fs" % (time.perf_counter() - t0), "frames with a person:", [(m.start(), m.end() - 1) for m in re.finditer("1+", s)], sum(seen), "of", len(seen))
