"""Evaluation metrics of the DeepPose paper: PCK@0.2, PDJ@alpha per joint, strict and loose PCP@0.5.

All inputs are pixel coordinates: pred, gt of shape (N, 14, 2), valid of shape (N, 14) bool.
"""
from __future__ import annotations

import numpy as np

from pose_track.engines.geometry import torso_diameters
from pose_track.engines.joints import FLIP_PERMUTATION, LIMB_CLASSES_FOR_AVERAGE, LIMBS, NUM_JOINTS

# DeepPose paper, LSP, 3-stage cascade (Table 1, DeepPose-st3; not checked against the printed table). The paper
# does not name the PCP variant: shown beside loose PCP.
# The paper gives no PCK@0.2 on LSP nor strict PCP, hence None.
PAPER_LSP = {
    "loose_pcp": {"upper_arm": 0.56, "lower_arm": 0.38, "upper_leg": 0.77, "lower_leg": 0.71, "avg": 0.61},
    "strict_pcp": None,
    "pck": None,
}


def _prepare(pred, gt, valid):
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    if pred.shape != gt.shape or pred.shape[1:] != (NUM_JOINTS, 2):
        raise ValueError(f"pred and gt must both be (N, {NUM_JOINTS}, 2); got {pred.shape} and {gt.shape}")
    valid = np.ones(gt.shape[:2], bool) if valid is None else np.asarray(valid, bool)
    if valid.shape != gt.shape[:2]:
        raise ValueError(f"valid must be {gt.shape[:2]}; got {valid.shape}")
    return pred, gt, valid


def _joint_hits(pred, gt, alpha, valid):
    """(N, 14) bool: joint within alpha x torso diameter of the ground-truth pose (from its valid joints)."""
    err = np.linalg.norm(pred - gt, axis=-1)
    return err <= alpha * torso_diameters(gt, valid).astype(np.float64)[:, None]


def pck(pred, gt, valid=None, alpha=0.2) -> float:
    """Fraction of valid joints within alpha x torso diameter, pooled over all joints and images."""
    pred, gt, valid = _prepare(pred, gt, valid)
    if not valid.any():
        return float("nan")
    return float(_joint_hits(pred, gt, alpha, valid)[valid].mean())


def pdj_per_joint(pred, gt, valid=None, alpha=0.2) -> np.ndarray:
    """(14,) fraction of valid images where each joint is within alpha x torso diameter (nan if never valid)."""
    pred, gt, valid = _prepare(pred, gt, valid)
    hits = (_joint_hits(pred, gt, alpha, valid) & valid).sum(0)
    count = valid.sum(0)
    return np.where(count > 0, hits / np.maximum(count, 1), np.nan)


def pcp(pred, gt, valid=None, thresh=0.5) -> dict:
    """Strict and loose PCP per limb class, pooled over the class's limbs and images with both ends valid."""
    pred, gt, valid = _prepare(pred, gt, valid)
    err = np.linalg.norm(pred - gt, axis=-1)
    strict, loose = {}, {}
    for cls, limbs in LIMBS.items():
        s_hits = l_hits = total = 0
        for a, b in limbs:
            ok = valid[:, a] & valid[:, b]
            limit = thresh * np.linalg.norm(gt[ok, a] - gt[ok, b], axis=-1)
            ea, eb = err[ok, a], err[ok, b]
            s_hits += int(((ea <= limit) & (eb <= limit)).sum())
            l_hits += int(((ea + eb) / 2 <= limit).sum())
            total += int(ok.sum())
        strict[cls] = s_hits / total if total else float("nan")
        loose[cls] = l_hits / total if total else float("nan")
    return {
        "strict": strict,
        "loose": loose,
        "strict_avg": float(np.mean([strict[c] for c in LIMB_CLASSES_FOR_AVERAGE])),
        "loose_avg": float(np.mean([loose[c] for c in LIMB_CLASSES_FOR_AVERAGE])),
    }


def left_right_swaps(pred, gt, valid=None, alpha=0.2, margin: int = 3) -> dict:
    """How much of the error is the person's left and right taken for each other (a person seen from the back).

    'share': the fraction of images whose prediction, with left and right exchanged, has at least `margin` more
    joints within alpha x torso diameter; 'pck_forgiven': PCK@alpha when each image may take the better of the
    two labellings (what the model would score if it never confused the sides).
    """
    pred, gt, valid = _prepare(pred, gt, valid)
    as_is = (_joint_hits(pred, gt, alpha, valid) & valid).sum(1)
    swapped = (_joint_hits(pred[:, list(FLIP_PERMUTATION)], gt, alpha, valid) & valid).sum(1)
    total = max(int(valid.sum()), 1)
    return {"share": float((swapped >= as_is + margin).mean()) if len(gt) else float("nan"),
            "pck_forgiven": float(np.maximum(as_is, swapped).sum() / total)}


def evaluate(pred, gt, valid=None) -> dict:
    return {"pck": pck(pred, gt, valid, 0.2), "pdj": pdj_per_joint(pred, gt, valid, 0.2), "pcp": pcp(pred, gt, valid),
            "swaps": left_right_swaps(pred, gt, valid)}


def _fmt(x) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.3f}"


def format_report(results_per_stage: list[dict], joint_names) -> str:
    """Plain-text table: one column per stage (evaluate() results) plus the paper's LSP values."""
    header = ["metric"] + [f"stage {i + 1}" for i in range(len(results_per_stage))] + ["paper"]
    rows = [["PCK@0.2"] + [_fmt(r["pck"]) for r in results_per_stage] + [_fmt(PAPER_LSP["pck"])]]
    paper_loose = PAPER_LSP["loose_pcp"]
    for kind, paper in (("strict", {}), ("loose", paper_loose)):
        for cls in LIMBS:
            rows.append([f"{kind} PCP@0.5 {cls}"] + [_fmt(r["pcp"][kind][cls]) for r in results_per_stage]
                        + [_fmt(paper.get(cls))])
        rows.append([f"{kind} PCP@0.5 avg"] + [_fmt(r["pcp"][f"{kind}_avg"]) for r in results_per_stage]
                    + [_fmt(paper.get("avg"))])
    rows.append(["images left/right swapped"] + [_fmt(r["swaps"]["share"]) for r in results_per_stage] + ["-"])
    rows.append(["PCK@0.2 forgiving swaps"] + [_fmt(r["swaps"]["pck_forgiven"]) for r in results_per_stage] + ["-"])
    for j, name in enumerate(joint_names):
        rows.append([f"PDJ@0.2 {name}"] + [_fmt(float(r["pdj"][j])) for r in results_per_stage] + ["-"])
    widths = [max(len(row[c]) for row in [header] + rows) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths)))
             for row in [header] + rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


# Smoothness of a joint track against the truth (the tracking benchmarks, the motion-noise fit).

def acceleration_error(pred, gt, torso=None) -> float:
    """Mean norm of (second difference of pred - second difference of gt), divided by the torso diameter.

    pred, gt (T, J, 2); torso: scalar or (T,) (default 1 = pixels). NaN frames/joints are ignored."""
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    acc = (pred[2:] - 2 * pred[1:-1] + pred[:-2]) - (gt[2:] - 2 * gt[1:-1] + gt[:-2])
    err = np.linalg.norm(acc, axis=-1)  # (T-2, J)
    if torso is not None:
        tor = np.asarray(torso, np.float64)
        if tor.ndim:
            tor = tor[1:-1, None]
        err = err / tor
    return float(np.nanmean(err))


def lag_frames(pred, gt, max_lag: float = 5.0, step: float = 0.05) -> float:
    """The time shift (frames) of gt that best matches pred: positive = pred lags behind the truth.

    Minimises the mean position error between pred(t) and gt(t - k) (gt linearly interpolated) over k in
    [-max_lag, max_lag]."""
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    T = len(gt)
    m = int(np.ceil(max_lag)) + 1
    if T <= 2 * m + 1:
        raise ValueError("sequence too short for lag_frames")
    t = np.arange(m, T - m, dtype=np.float64)
    flat_gt = gt.reshape(T, -1)
    best_k, best_e = 0.0, np.inf
    for k in np.arange(-max_lag, max_lag + step / 2, step):
        tt = t - k
        i0 = np.floor(tt).astype(int)
        w = (tt - i0)[:, None]
        g = flat_gt[i0] * (1 - w) + flat_gt[np.minimum(i0 + 1, T - 1)] * w
        diff = pred[m:T - m].reshape(len(t), -1) - g
        e = np.nanmean(np.linalg.norm(diff.reshape(len(t), -1, 2), axis=-1))
        if e < best_e:
            best_k, best_e = float(k), e
    return round(best_k, 6)
