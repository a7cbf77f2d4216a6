"""Hard clips, tracking only, with the cascade cut to stage 1."""
import sys, glob, time
from pose_track.benchmarks.hard_tracking import benchmark_hard_clips, format_table
from pose_track.engines.estimator import PoseEstimator
from pose_track.engines.cascade import Cascade
from pose_track.engines.backends import make_backend
clips = [(v, v[:-4] + ".npz") for v in sorted(glob.glob("runs/hard_clips/hard_*.mp4"))]
runner = make_backend(None, sys.argv[1])
est = PoseEstimator(cascade=Cascade(runner, runner.config, stages=int(sys.argv[2])))
t = time.perf_counter()
rows, summary = benchmark_hard_clips(est, clips, single_image=True)
print(format_table(rows, summary))
print(f"{time.perf_counter() - t:.1f} s")
