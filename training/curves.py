"""Training curves drawn as a PNG with OpenCV (no plotting library needed)."""
from __future__ import annotations

import cv2
import numpy as np

from pose_track.engines.opencv_files import write_picture

COLOURS = [(200, 80, 30), (40, 140, 40), (30, 30, 200), (160, 40, 160), (20, 150, 200), (100, 100, 100)]


def _panel(canvas, x0, y0, w, h, series: dict, title: str):
    cv2.rectangle(canvas, (x0, y0), (x0 + w, y0 + h), (0, 0, 0), 1)
    cv2.putText(canvas, title, (x0 + 5, y0 - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    pts = [np.asarray(v, float) for v in series.values() if len(v)]
    if not pts:
        return
    allx = np.concatenate([p[:, 0] for p in pts]); ally = np.concatenate([p[:, 1] for p in pts])
    ally = ally[np.isfinite(ally)]
    if not len(ally):
        return
    xmin, xmax = float(allx.min()), float(max(allx.max(), allx.min() + 1e-9))
    ymin, ymax = float(ally.min()), float(ally.max())
    if ymax - ymin < 1e-9:
        ymin, ymax = ymin - 0.5, ymax + 0.5
    for v in (ymin, ymax):
        y = y0 + h - int((v - ymin) / (ymax - ymin) * (h - 20)) - 10
        cv2.putText(canvas, f"{v:.3g}", (x0 - 55, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(canvas, f"{xmin:.3g}", (x0, y0 + h + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(canvas, f"{xmax:.3g}", (x0 + w - 40, y0 + h + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                cv2.LINE_AA)
    for k, (name, p) in enumerate(series.items()):
        p = np.asarray(p, float)
        if not len(p):
            continue
        colour = COLOURS[k % len(COLOURS)]
        xs = x0 + 5 + (p[:, 0] - xmin) / (xmax - xmin) * (w - 10)
        ys = y0 + h - 10 - (p[:, 1] - ymin) / (ymax - ymin) * (h - 20)
        poly = np.stack([xs, ys], 1).astype(np.int32)
        cv2.polylines(canvas, [poly], False, colour, 1, cv2.LINE_AA)
        if len(p) < 50:
            for q in poly:
                cv2.circle(canvas, tuple(int(c) for c in q), 3, colour, -1)
        cv2.putText(canvas, name, (x0 + w - 150, y0 + 18 + 16 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1,
                    cv2.LINE_AA)


def write_curves(path: str, loss_series: dict, metric_series: dict, metric_name: str = "val PCK@0.2"):
    """Two panels: training loss per phase (x = epoch) and the validation metric per phase."""
    canvas = np.full((360, 900, 3), 255, np.uint8)
    _panel(canvas, 70, 35, 360, 290, loss_series, "training loss")
    _panel(canvas, 520, 35, 360, 290, metric_series, metric_name)
    if not write_picture(path, canvas):
        raise OSError(f"cannot write {path}")
