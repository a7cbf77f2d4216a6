"""Hard clips (runs/hard_clips, made by `pose-track bench-tracking --hard`), tracking only, with the drift check's
first look after a re-acquisition at each number of frames given (30 = every 30 frames, as before).
Usage: first_check.py N [N ...]"""
import functools, glob, json, sys
import pose_track.tracker.loop as loop
from pose_track.tracker.proposer import BoxProposer
from pose_track.engines.estimator import PoseEstimator
from pose_track.benchmarks.hard_tracking import benchmark_hard_clips

clips = [(v, v[:-4] + ".npz") for v in sorted(glob.glob("runs/hard_clips/hard_??.mp4"))]
est = PoseEstimator(stills=False)
for n in map(int, sys.argv[1:]):
    loop.BoxProposer = functools.partial(BoxProposer, first_check=n)
    rows, s = benchmark_hard_clips(est, clips, single_image=False)
    m = s["mean"]
    print(json.dumps({"first_check": n, **{k: round(m[k], 4) for k in ("pck_tracking", "pck_kalman", "pck_lookahead",
          "pck_tracking_fast", "pck_kalman_fast", "nobody_reported_tracking", "reacquisitions")},
          "cuts_within_3": s["cut_recovery_tracking"]["within_3"], "reentries_within_3": s["reentry_recovery_tracking"]["within_3"],
          "cuts": [r["cut_recovery_tracking"] for r in rows]}), flush=True)
