"""Hard clips, tracking only (the single-image column needs no rerun). Usage: hard.py ENGINE STAGE1_EVERY"""
import sys, glob, time
from pose_track.benchmarks.hard_tracking import benchmark_hard_clips, format_table
from pose_track.engines.estimator import PoseEstimator
clips = [(v, v[:-4] + ".npz") for v in sorted(glob.glob("runs/hard_clips/hard_*.mp4"))]
t = time.perf_counter()
rows, summary = benchmark_hard_clips(PoseEstimator(sys.argv[1], stills=False), clips, single_image=False,
                                     search_every=int(sys.argv[2]))
print(format_table(rows, summary))
print(f"{time.perf_counter() - t:.1f} s")
