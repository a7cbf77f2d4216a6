"""Presence on the man standing backlit on the box (Sports2D frames 118-170): the box from the last tracked
frame's joints, as is and with the crop's contrast stretched."""
import sys, csv, numpy as np, cv2
from pose_track.commands.model import load_estimator
est = load_estimator(sys.argv[1] if len(sys.argv) > 1 else None, stills=False)
rows = list(csv.reader(open('runs/s11/render/sports2d_demo.csv')))
hdr, rows = rows[0], rows[1:]
xs = [i for i, h in enumerate(hdr) if h.endswith('_x')]
def joints(r):
    v = np.array([[float(r[i] or 'nan'), float(r[i + 1] or 'nan')] for i in xs]); return v
j = joints(rows[125]); ok = np.isfinite(j).all(1)
lo, hi = j[ok].min(0), j[ok].max(0); c = (lo + hi) / 2; side = (hi - lo).max() * 1.3
print('box', c.round(), round(side))
cap = cv2.VideoCapture('../shared/data/real/sports2d_demo.mp4')
frames = []
while True:
    ok, f = cap.read()
    if not ok: break
    frames.append(f)
def stretch(img, box):
    cx, cy, s = box; x0, y0 = int(max(cx - s / 2, 0)), int(max(cy - s / 2, 0))
    reg = img[y0:int(cy + s / 2), x0:int(cx + s / 2)].astype(np.float32)
    lo, hi = np.percentile(reg, 2), np.percentile(reg, 98)
    out = img.astype(np.float32).copy()
    out[y0:int(cy + s / 2), x0:int(cx + s / 2)] = np.clip((reg - lo) * 255 / max(hi - lo, 1), 0, 255)
    return out.astype(np.uint8)
def clahe(img):
    lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB); lab[..., 0] = cv2.createCLAHE(3.0, (8, 8)).apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
for fi in range(118, 172, 4):
    f = frames[fi]; box = np.array([[c[0], c[1], side]], np.float32)
    res = []
    for name, img in (('plain', f), ('stretch', stretch(f, box[0])), ('clahe', clahe(f))):
        _, pres, ins = est.cascade.stage1(img, box)
        res.append(f"{name} {pres[0]:.2f}")
    print(fi, ' '.join(res))
