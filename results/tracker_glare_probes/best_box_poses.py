"""Sports2D demo, frames 120-165 (the man backlit on the box): over a grid of boxes around him, the box with
the highest presence on every third frame, and the pose the video bundle gives there, drawn. Run from the
repository: python results/tracker_glare_probes/best_box_poses.py"""
import cv2, numpy as np
from pose_track.engines.estimator import PoseEstimator
from pose_track.tracker.render import draw_pose
est = PoseEstimator(stills=False, max_passes=1)
cap = cv2.VideoCapture("../shared/data/real/sports2d_demo.mp4")
tiles = []; i = 0
while True:
    ok, f = cap.read()
    if not ok or i > 165: break
    if i >= 120 and i % 3 == 0:
        best = (0, None, None)
        for cx in range(700, 900, 30):
            for cy in (220, 260, 300):
                for side in (380, 440, 500, 560):
                    p = est.look(f, (cx, cy, side))
                    if p.presence > best[0]: best = (p.presence, (cx, cy, side), p)
        pres, (cx, cy, side), p = best
        g = f.copy()
        try:
            g = draw_pose(g, p.joints, p.confidence, box=(cx, cy, side))
        except Exception as e:
            for x, y in p.joints:
                if np.isfinite(x): cv2.circle(g, (int(x), int(y)), 6, (0,255,0), -1)
        x0, y0 = max(0, cx - 350), max(0, cy - 300)
        t = g[y0:y0 + 600, x0:x0 + 600].copy()
        t = cv2.resize(t, (300, 300))
        cv2.putText(t, f"{i} p{pres:.2f}", (5, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 255), 2)
        tiles.append(t); print(i, round(pres, 2), (cx, cy, side), round(float(p.mean_confidence), 2), flush=True)
    i += 1
while len(tiles) % 5: tiles.append(np.zeros_like(tiles[0]))
rows = [np.hstack(tiles[k:k + 5]) for k in range(0, len(tiles), 5)]
cv2.imwrite("results/tracker_glare_probes/best_box_poses.jpg", np.vstack(rows))
