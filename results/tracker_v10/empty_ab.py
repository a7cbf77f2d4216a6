"""ms per frame on 150 empty 1280x720 frames (Sports2D's street with sensor noise), searching on every frame."""
import sys, time, numpy as np, cv2
import pose_track
from pose_track.benchmarks.hard_tracking import street_scene
from pose_track.engines.estimator import PoseEstimator
from pose_track.tracker.loop import Tracker
scene = cv2.resize(street_scene("../shared/data/real/sports2d_demo.mp4"), (1280, 720))
rng = np.random.default_rng(0)
frames = [np.clip(scene + rng.normal(0, 3, scene.shape), 0, 255).astype(np.uint8) for _ in range(50)] * 3
est = PoseEstimator("models/deeppose_lsp/onnx", stills=False)
tr = Tracker(est); shown = 0; t = time.perf_counter()
for k, f in enumerate(frames):
    shown += bool(np.isfinite(tr(f, k / 30.0).raw).any())
print(f"{sys.argv[1]}: {1000 * (time.perf_counter() - t) / len(frames):.1f} ms/frame, frames with joints {shown}, looks {est.calls}", pose_track.__file__)
