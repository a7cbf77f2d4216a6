"""Stage 1 on CUDA: one call's time back to back, and after a gap of CPU work or sleep (as in the tracking loop)."""
import os, sys, time
import cv2, numpy as np, skimage, torch
from pose_track.engines.cascade import fill_crops
from pose_track.engines.torch_backend import load_torch_backend
image = cv2.imread(os.path.join(os.path.dirname(skimage.__file__), "data", "astronaut.png"))
x = fill_crops(image, np.array([[256, 256]], np.float32), np.array([512], np.float32), 192, np.zeros((1, 3, 192, 192), np.float32), True)
for half, graphs in ((True, True), (False, False)):
    b = load_torch_backend("models/deeppose_lsp/checkpoint.pt", device="cuda", half=half, cuda_graphs=graphs)
    for _ in range(20):
        b.run(0, x)
    def timed(gap, busy):
        ts = []
        for _ in range(100):
            t = time.perf_counter()
            if busy:
                while time.perf_counter() - t < gap:
                    pass
            elif gap:
                time.sleep(gap)
            t = time.perf_counter(); b.run(0, x); ts.append(time.perf_counter() - t)
        return f"{1000 * np.median(ts):.2f}/{1000 * np.percentile(ts, 90):.2f}"
    print(f"half={half} graphs={graphs}: back to back {timed(0, False)}; after 5 ms busy {timed(0.005, True)}; "
          f"after 5 ms sleep {timed(0.005, False)}; after 15 ms busy {timed(0.015, True)}; back to back {timed(0, False)} (median/p90 ms)", flush=True)
