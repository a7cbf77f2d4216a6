"""Penn Action held-out sequences (one in three), the online filter with the outlier gate's settings compared:
position error (box sides), lag (frames), acceleration error reduction; clean and with heavier-tailed noise."""
import sys, json
from dataclasses import replace
from pose_track.training.motion_fit import load_tracks, _measure_all, filter_track, score
from pose_track.tracker.smoothing import DEFAULT_PARAMS
tracks = load_tracks("../shared/data/penn_action/labels", "test", 3)
settings = {"gate 9, 2 frames": dict(outlier_gate=9.0, outlier_frames=2),
            "gate 5, 6 frames": dict(outlier_gate=5.0, outlier_frames=6)}
out = {}
for noise in (dict(outlier_rate=0.0), dict(outlier_rate=0.05, outlier_scale=5.0), dict(outlier_rate=0.10, outlier_scale=10.0)):
    measured = _measure_all(tracks, 1, std=0.02, **noise)
    for name, kw in settings.items():
        params = replace(DEFAULT_PARAMS, **kw)
        s = score(tracks, measured, [filter_track(t, m, params) for t, m in zip(tracks, measured)])
        key = f"{noise} {name}"
        out[key] = s
        print(f"{key:60s} error {s['position_error']:.4f} (input {s['measurement_error']:.4f}) lag {s['lag_frames']:.2f} "
              f"accel {-100*s['jitter_reduction']:+.1f} %", flush=True)
json.dump(out, open(sys.argv[1], "w"), indent=1)
