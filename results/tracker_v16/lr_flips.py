"""How often the tracker's raw answer is left-right swapped against the truth, and whether the swap is a
one-frame flip (the frames before and after are not swapped) that a temporal check could undo."""
import numpy as np
from pose_track.engines.joints import FLIP_PERMUTATION as _FP
FLIP_PERMUTATION = list(_FP)
tot = swapped = flips = frames = 0
runs = []
for k in range(12):
    z = np.load(f"runs/hard_clips/hard_{k:02d}_tracked.npz"); g = np.load(f"runs/hard_clips/hard_{k:02d}.npz")
    raw, gt, torso = z["raw"], g["joints"], g["torso"]
    limbs = [i for i in range(14) if FLIP_PERMUTATION[i] != i]
    sw = np.zeros(len(raw), bool); valid = np.zeros(len(raw), bool)
    for t in range(len(raw)):
        ok = np.isfinite(raw[t]).all(1) & np.isfinite(gt[t]).all(1)
        ok[[i for i in range(14) if i not in limbs]] = False
        if ok.sum() < 6 or not np.isfinite(torso[t]) or g["nobody"][t]: continue
        valid[t] = True
        d = np.linalg.norm(raw[t] - gt[t], axis=1)[ok].mean()
        ds = np.linalg.norm(raw[t][FLIP_PERMUTATION] - gt[t], axis=1)[ok].mean()
        sw[t] = ds < 0.6 * d and d > 0.2 * torso[t]
    frames += valid.sum(); swapped += sw.sum()
    # one-frame flips: swapped at t, not at t-1 and t+1 (both valid)
    for t in range(1, len(raw) - 1):
        if sw[t] and valid[t - 1] and valid[t + 1] and not sw[t - 1] and not sw[t + 1]:
            flips += 1
    # runs of swapped frames
    r = 0
    for t in range(len(raw)):
        if sw[t]: r += 1
        elif r: runs.append(r); r = 0
print(f"frames {frames}, raw answers left-right swapped {swapped} ({100 * swapped / frames:.1f} %), one-frame flips {flips}, runs of swaps: {sorted(runs)[-15:]} (count {len(runs)})")
