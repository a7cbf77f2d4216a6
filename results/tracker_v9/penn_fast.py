"""Penn Action held-out (one in three), clean noise: position error by the true joint's speed (box sides/frame)."""
import numpy as np
from dataclasses import replace
from pose_track.training.motion_fit import load_tracks, _measure_all, filter_track
from pose_track.tracker.smoothing import DEFAULT_PARAMS
tracks = load_tracks("../shared/data/penn_action/labels", "test", 3)
for noise in (dict(outlier_rate=0.0), dict(outlier_rate=0.05, outlier_scale=5.0)):
    measured = _measure_all(tracks, 1, std=0.02, **noise)
    for kw in (dict(outlier_gate=9.0, outlier_frames=2), dict(outlier_gate=5.0, outlier_frames=6), dict(outlier_gate=6.0, outlier_frames=6)):
        params = replace(DEFAULT_PARAMS, **kw)
        errs, speeds = [], []
        for t, m in zip(tracks, measured):
            out = filter_track(t, m, params)
            side = np.median(t.scale)
            e = np.linalg.norm(out - t.joints, axis=-1) / side
            v = np.zeros_like(e); v[1:] = np.linalg.norm(np.diff(t.joints, axis=0), axis=-1) / side
            ok = t.visible & np.isfinite(e); ok[0] = False
            errs.append(e[ok]); speeds.append(v[ok])
        e, v = np.concatenate(errs), np.concatenate(speeds)
        bands = [(0, 0.02), (0.02, 0.05), (0.05, 0.1), (0.1, 9)]
        print(noise, kw, " ".join(f"[{a},{b}) n={int(((v>=a)&(v<b)).sum())} {e[(v>=a)&(v<b)].mean():.4f}" for a, b in bands),
              f"p99 {np.percentile(e, 99):.3f}", flush=True)
