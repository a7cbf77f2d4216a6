"""Model v3. The astronaut photo (scikit-image) read by one look on boxes of 1-3x the photo, moved down by 0-0.5 of it,
and by the whole estimator: which joints are called inside. python results/tracker_v17/astronaut_boxes.py video|stills"""
import numpy as np, cv2, sys
from skimage import data
from pose_track.engines.estimator import PoseEstimator
from pose_track.engines.joints import JOINT_NAMES
img = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
h, w = img.shape[:2]
est = PoseEstimator(stills=(sys.argv[1] == "stills"), max_passes=1)
for dy in (0, 0.25, 0.5):
    for s in (1.0, 1.3, 1.6, 2.0, 2.5, 3.0):
        side = s * w
        p = est.look(img, (w/2, h/2 + dy*w, side))
        inp = ''.join('1' if x else '.' for x in np.isfinite(p.joints).all(1))
        print(f"dy {dy} s {s}: presence {p.presence:.2f} found {p.found} in {inp} conf {p.confidence.mean():.2f}")
print(JOINT_NAMES)
p = PoseEstimator(stills=(sys.argv[1] == "stills"))(img)
print('full:', p.presence, p.passes, p.box, ''.join('1' if x else '.' for x in np.isfinite(p.joints).all(1)))
print(np.round(p.joints))
