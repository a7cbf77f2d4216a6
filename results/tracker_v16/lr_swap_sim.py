"""Offline: undo a left-right swap of the raw answer where the swapped answer lies much closer to the last frame's
(corrected) answer; per group (arms, legs, or the whole body). PCK@0.2 of the raw track before and after."""
import sys, numpy as np
from pose_track.engines.joints import FLIP_PERMUTATION as _FP, J
FP = np.array(list(_FP))
ARMS = [J[k] for k in ("r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist")]
LEGS = [J[k] for k in ("r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle")]
ratio, min_move = float(sys.argv[1]), float(sys.argv[2])
mode = sys.argv[3]
groups = {"body": [ARMS + LEGS], "groups": [ARMS, LEGS]}[mode]
def hits(p, g, torso):
    return (np.linalg.norm(p - g, axis=-1) <= 0.2 * torso[:, None])
H0 = H1 = N = 0; changed = 0
for k in range(12):
    z = np.load(f"runs/hard_clips/hard_{k:02d}_tracked.npz"); g = np.load(f"runs/hard_clips/hard_{k:02d}.npz")
    raw, gt, torso, re = z["raw"].copy(), g["joints"], g["torso"], z["reacquired"]
    out = raw.copy()
    for t in range(1, len(raw)):
        if re[t] or not np.isfinite(out[t - 1]).all(1).sum() >= 8: continue
        prev = out[t - 1]
        tor = np.linalg.norm(prev[J["neck"]] - 0.5 * (prev[J["r_hip"]] + prev[J["l_hip"]]))
        if not np.isfinite(tor): continue
        cand = out[t].copy()
        for grp in groups:
            sw = cand.copy(); sw[grp] = out[t][FP][grp]
            ok = np.isfinite(cand[grp]).all(1) & np.isfinite(sw[grp]).all(1) & np.isfinite(prev[grp]).all(1)
            if ok.sum() < 4: continue
            d = np.linalg.norm(cand[grp][ok] - prev[grp][ok], axis=1).mean()
            ds = np.linalg.norm(sw[grp][ok] - prev[grp][ok], axis=1).mean()
            if ds < ratio * d and d > min_move * tor:
                cand[grp] = sw[grp]; changed += 1
        out[t] = cand
    valid = np.isfinite(gt).all(-1) & ~g["nobody"][:, None]
    r = np.where(np.isfinite(raw), raw, -1e6); o = np.where(np.isfinite(out), out, -1e6)
    H0 += (hits(r, gt, torso) & valid).sum(); H1 += (hits(o, gt, torso) & valid).sum(); N += valid.sum()
print(f"ratio {ratio} min_move {min_move} {mode}: raw PCK {H0 / N:.4f} -> {H1 / N:.4f}, groups swapped {changed}")
