"""Replay the output smoother (causal and one-frame look-ahead) on saved tracked clips: PCK, accel reduction, lag."""
import glob, sys, warnings, json
import numpy as np
from dataclasses import replace
from pose_track.benchmarks.hard_tracking import _hits, _pck, _shots_apart
from pose_track.benchmarks.hard_clips import ClipTruth
from pose_track.tracker.smoothing import KalmanSmoother, DEFAULT_PARAMS
from pose_track.training.metrics import acceleration_error, lag_frames
warnings.simplefilter("ignore")

def load(pattern):
    return [(ClipTruth.load(c), dict(np.load(c.replace(".npz", "_tracked.npz")))) for c in sorted(glob.glob(pattern)) if not c.endswith("_tracked.npz")]

def replay(data, params):
    res = []
    for truth, o in data:
        sm = KalmanSmoother(params)
        n = len(o["raw"]); causal = np.full((n, 14, 2), np.nan); ahead = np.full((n, 14, 2), np.nan)
        for k in range(n):
            if o["reacquired"][k]:
                sm.reset()
            cam = o["camera"][k]
            s = sm.update(o["raw"][k] - cam, o["confidence"][k], o["time_s"][k], float(o["box"][k][2])) + cam
            causal[k] = np.where(np.isfinite(o["raw"][k]), s, np.nan)
            if k:
                rev = sm.revise_previous()
                ahead[k - 1] = causal[k - 1] if rev is None else np.where(np.isfinite(causal[k - 1]), rev + o["camera"][k - 1], np.nan)
        ahead[n - 1] = causal[n - 1]
        vis = np.isfinite(truth.joints).all(-1); fast = vis & truth.fast[:, None]
        gt, torso = _shots_apart(truth.joints, truth), _shots_apart(truth.torso, truth)
        a_raw = acceleration_error(_shots_apart(o["raw"], truth), gt, torso)
        row = [_pck(_hits(o["raw"], truth), vis)]
        for out in (causal, ahead):
            a = acceleration_error(_shots_apart(out, truth), gt, torso)
            row += [_pck(_hits(out, truth), vis), 1 - a / a_raw, lag_frames(_shots_apart(out, truth), gt), _pck(_hits(out, truth), fast)]
        res.append(row)
    return np.nanmean(np.array(res, float), 0)

def show(label, r):
    print(f"{label:40s} raw {r[0]:.4f} | causal {r[1]:.4f} ({r[1]-r[0]:+.4f}) red {r[2]:.3f} lag {r[3]:.3f} fast {r[4]:.3f} | ahead {r[5]:.4f} ({r[5]-r[0]:+.4f}) red {r[6]:.3f} lag {r[7]:.3f} fast {r[8]:.3f}", flush=True)

if __name__ == "__main__":
    data = load(sys.argv[1])
    grid = json.loads(sys.argv[2]) if len(sys.argv) > 2 else [{}]
    for kw in grid:
        show(str(kw), replay(data, replace(DEFAULT_PARAMS, **kw)))
