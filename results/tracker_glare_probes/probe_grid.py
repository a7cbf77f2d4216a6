import cv2
from pose_track.engines.estimator import PoseEstimator
est = PoseEstimator(stills=False, max_passes=1)
cap = cv2.VideoCapture("../shared/data/real/sports2d_demo.mp4")
i = 0
while True:
    ok, f = cap.read()
    if not ok or i > 164: break
    if i >= 126 and i % 3 == 0:
        best = (0, None)
        for cx in range(700, 900, 30):
            for cy in (220, 260, 300):
                for side in (380, 440, 500, 560):
                    p = est.look(f, (cx, cy, side))
                    if p.presence > best[0]: best = (p.presence, (cx, cy, side), p.mean_confidence)
        print(i, round(best[0], 2), best[1:])
    i += 1
