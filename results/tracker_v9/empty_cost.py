"""Cost of an empty scene: 300 frames of Sports2D's street after the people left (its last frame, with sensor
noise so that frames differ), tracked with the search on every frame and with the long-search cadence."""
import time, numpy as np, cv2
from pose_track.benchmarks.hard_tracking import street_scene
from pose_track.engines.estimator import PoseEstimator
from pose_track.tracker.loop import Tracker
scene = cv2.resize(street_scene("../shared/data/real/sports2d_demo.mp4"), (1280, 720))
rng = np.random.default_rng(0)
frames = [np.clip(scene + rng.normal(0, 3, scene.shape), 0, 255).astype(np.uint8) for _ in range(60)]
frames = frames * 8     # 480 frames, 16 s at 30 frames/s
est = PoseEstimator("models/deeppose_lsp/onnx", stills=False)
for rnd in range(2):
    for every in (1, 3):
        tr = Tracker(est, search_every=every)
        shown = 0; spent = np.zeros(len(frames))
        for k, f in enumerate(frames):
            t = time.perf_counter()
            shown += bool(np.isfinite(tr(f, k / 30.0).raw).any())
            spent[k] = time.perf_counter() - t
        print(f"round {rnd+1} search_every {every}: frames 0-149 {1000*spent[:150].mean():.1f} ms/frame, "
              f"frames 150-479 {1000*spent[150:].mean():.1f} ms/frame; frames with joints {shown}")
