"""The bench's tracking loop on CUDA twice in one process, with every backend call logged by (stage, batch size)."""
import collections, sys, time
import numpy as np
from pose_track.benchmarks import engine_speed as es
from pose_track.engines.estimator import PoseEstimator
from pose_track.engines.torch_backend import load_any_cascade
half, graphs = sys.argv[1] == "1", sys.argv[2] == "1"
cascade = load_any_cascade("models/deeppose_lsp/checkpoint.pt", device=sys.argv[3], half=half, cuda_graphs=graphs)
est = PoseEstimator(cascade=cascade)
be = cascade.backend
orig = be.run
rec = collections.defaultdict(list)
def run(stage, batch):
    t = time.perf_counter(); r = orig(stage, batch); rec[(stage, batch.shape[0])].append(1000 * (time.perf_counter() - t)); return r
be.run = run
image, joints = es._sample_person(".gpu")
for attempt in (1, 2):
    rec.clear()
    out = es.tracking_fps(est, image, joints, 300)
    print(f"half={half} graphs={graphs} run {attempt}: fps {out['fps']:.1f}", {k: round(v, 2) for k, v in out["parts_ms"].items()}, flush=True)
    for k, v in sorted(rec.items()):
        v = np.array(v)
        print(f"   stage {k[0]} batch {k[1]}: {len(v)} calls, total {v.sum():.0f} ms, median {np.median(v):.2f}, max {v.max():.0f}, first {v[0]:.0f}", flush=True)
