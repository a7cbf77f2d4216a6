"""Model v3. The astronaut photo area-resized to 160-512 px first (no aliasing in the crop), then read by the estimator
and by one look: which joints are called inside. python results/tracker_v17/astronaut_sizes.py"""
import numpy as np, cv2, sys
from skimage import data
from pose_track.engines.estimator import PoseEstimator
img = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
for stills in (False, True):
    est = PoseEstimator(stills=stills)
    for target in (512, 384, 256, 192, 160):
        small = cv2.resize(img, (target, target), interpolation=cv2.INTER_AREA)
        p = est(small)
        inp = ''.join('1' if x else '.' for x in np.isfinite(p.joints).all(1))
        p1 = est.look(small, (target/2, target/2, target))
        stage1_in = ''.join('1' if x else '.' for x in np.isfinite(p1.joints).all(1))
        print(f"stills={stills} {target}: presence {p.presence:.2f} passes {p.passes} in {inp} | one look {stage1_in} {p1.presence:.2f}")
