"""Hard clips (runs/hard_clips, made by `pose-track bench-tracking --hard`), tracking only, the tracker as the
working tree has it; one JSON line of the means and recovery events."""
import glob, json
from pose_track.engines.estimator import PoseEstimator
from pose_track.benchmarks.hard_tracking import benchmark_hard_clips

clips = [(v, v[:-4] + ".npz") for v in sorted(glob.glob("runs/hard_clips/hard_??.mp4"))]
rows, s = benchmark_hard_clips(PoseEstimator(stills=False), clips, single_image=False)
m = s["mean"]
print(json.dumps({**{k: round(m[k], 4) for k in ("pck_tracking", "pck_kalman", "pck_lookahead", "pck_tracking_fast",
                                                 "pck_kalman_fast", "nobody_reported_tracking", "reacquisitions")},
                  "cuts_within_3": s["cut_recovery_tracking"]["within_3"],
                  "reentries_within_3": s["reentry_recovery_tracking"]["within_3"],
                  "reentries": [r["reentry_recovery_tracking"] for r in rows]}))
