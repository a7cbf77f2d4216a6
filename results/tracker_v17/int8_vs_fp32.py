"""Model v3. Stage 1 presence of the fp32 and INT8 video bundles on the same 144 boxes around the person the INT8 track
lost in vtest.avi at 640x480 (frames 105-120; runs/s8/clip640.mp4: the first 300 frames resized)."""
import numpy as np, cv2
from pose_track.engines.backends import load_cascade
from pose_track.tracker.capture import open_source
fp = load_cascade('models/deeppose_lsp/onnx'); q = load_cascade('models/deeppose_lsp/int8')
frames = {f.index: f.image for f in open_source('runs/s8/clip640.mp4') if 105 <= f.index <= 120}
# boxes around the lost person near (329,186) at several sizes
rows = []
for i, img in frames.items():
    for side in (75, 94, 140):
        for dx in (-10, 0, 10):
            b = np.array([[329 + dx, 186, side]], np.float32)
            pf = fp.stage1(img, b)[1][0]; pq = q.stage1(img, b)[1][0]
            rows.append((pf, pq))
r = np.array(rows)
print('boxes', len(r), 'mean fp32 %.3f int8 %.3f' % tuple(r.mean(0)), 'fp32>=0.9: %d int8>=0.9: %d' % ((r[:,0]>=0.9).sum(), (r[:,1]>=0.9).sum()))
print('mean diff int8-fp32 %.3f, corr %.2f' % ((r[:,1]-r[:,0]).mean(), np.corrcoef(r.T)[0,1]))
