import sys, os, numpy as np, cv2, skimage
from pose_track.commands.model import load_estimator
from pose_track.engines.joints import J
im = cv2.imread(os.path.join(os.path.dirname(skimage.__file__), "data", "astronaut.png")); h, w = im.shape[:2]
for model in sys.argv[1:]:
    est = load_estimator(model, stills=False)
    for s in (1.0, 1.4):
        _, pres, ins = est.cascade.stage1(im, np.array([[w / 2, h / 2, max(h, w) * s]], np.float32))
        print(f"{model[-40:]:40s} box {s}: presence {pres[0]:.2f} knees {ins[0][J['r_knee']]:.2f} {ins[0][J['l_knee']]:.2f} ankles {ins[0][J['r_ankle']]:.2f} {ins[0][J['l_ankle']]:.2f} hips {ins[0][J['r_hip']]:.2f} {ins[0][J['l_hip']]:.2f}")
    pose = est(im)
    print("   drawn:", [k for k in J if np.isfinite(pose.joints[J[k]]).all()])
