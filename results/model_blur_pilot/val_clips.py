"""The tracker on the 8 validation hard clips (runs/hard_val, results/tracker_v8/make_val_hard.py: held-out
LSP-extended people), one bundle: tracking, look-ahead and single-image PCK@0.2, on fast frames too.
Usage: val_clips.py BUNDLE"""
import sys, json
from pose_track.commands.model import load_estimator
from pose_track.benchmarks.hard_tracking import hard_clip_rows, hard_summary
est = load_estimator(sys.argv[1], stills=False)
clips = [(f"runs/hard_val/val_{k:02d}.mp4", f"runs/hard_val/val_{k:02d}.npz") for k in range(8)]
s = hard_summary(list(hard_clip_rows(est, clips)))
keep = ("pck_single", "pck_tracking", "pck_kalman", "pck_lookahead", "pck_single_fast", "pck_tracking_fast",
        "pck_lookahead_fast", "nobody_reported_tracking")
print(json.dumps({"bundle": sys.argv[1], **{k: round(s["mean"][k], 4) for k in keep},
                  "cuts_within_3": s["cut_recovery_tracking"]["within_3"]}))
