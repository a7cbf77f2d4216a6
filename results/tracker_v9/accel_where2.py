import glob, warnings, numpy as np, collections
from pose_track.benchmarks.hard_clips import ClipTruth
from pose_track.tracker.smoothing import KalmanSmoother, DEFAULT_PARAMS
warnings.simplefilter("ignore")
rows = []
for c in sorted(glob.glob("runs/hard_clips/hard_??.npz")):
    truth = ClipTruth.load(c); o = dict(np.load(c.replace(".npz", "_tracked.npz")))
    sm = KalmanSmoother(DEFAULT_PARAMS); n = len(o["raw"]); causal = np.full((n, 14, 2), np.nan)
    restarts = np.zeros((n, 14), bool); since = np.zeros(n, int); sr = 0
    for k in range(n):
        if o["reacquired"][k]: sm.reset(); sr = 0
        cam = o["camera"][k]
        s = sm.update(o["raw"][k] - cam, o["confidence"][k], o["time_s"][k], float(o["box"][k][2])) + cam
        causal[k] = np.where(np.isfinite(o["raw"][k]), s, np.nan); restarts[k] = sm.restarted; since[k] = sr; sr += 1
    gt = truth.joints.astype(float); torso = truth.torso
    cut = np.asarray(truth.cut, bool)
    def acc(p):
        a = (p[2:] - 2 * p[1:-1] + p[:-2]) - (gt[2:] - 2 * gt[1:-1] + gt[:-2])
        e = np.linalg.norm(a, axis=-1) / torso[1:-1, None]
        bad = cut[1:-1] | cut[2:]          # a cut inside the triple
        e[bad] = np.nan
        return e
    er, ec = acc(o["raw"].astype(float)), acc(causal)
    for k in range(n - 2):
        m = k + 1
        near_reset = min(since[k], since[m], since[k + 2]) <= 1 and (since[k+2] < 3)
        rs = restarts[k:k+3].any(0)
        for j in range(14):
            if np.isfinite(er[k, j]) and np.isfinite(ec[k, j]):
                kind = "reset" if near_reset else ("restart" if rs[j] else ("fast" if truth.fast[m] else "other"))
                rows.append((kind, er[k, j], ec[k, j]))
kinds = collections.defaultdict(lambda: [0, 0.0, 0.0])
for kd, a, b in rows:
    kinds[kd][0] += 1; kinds[kd][1] += a; kinds[kd][2] += b
R = sum(v[1] for v in kinds.values()); C = sum(v[2] for v in kinds.values())
print(f"pooled red {1 - C / R:.3f}")
for kd, (cnt, a, b) in kinds.items():
    print(f"{kd:8s} n {cnt:6d} raw share {a / R:.3f} causal share {b / C:.3f} reduction within {1 - b / a:.3f}  causal/raw contribution {b/R:.3f}")
