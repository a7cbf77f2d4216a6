"""A model under motion blur, one view as the video bundle reads it: PCK@0.2 of 150 held-out LSP-extended people
(the last 500 images, never trained on) on the box around their labels, the picture blurred along a random
direction over a share of the box side; and the tracker on the 8 validation hard clips (runs/hard_val, made by
results/tracker_v8/make_val_hard.py from held-out people): tracking and single-image PCK@0.2, on fast frames too.
Usage: blur_eval.py MODEL.pt [--no-clips]"""
import sys, json, numpy as np, cv2
from pose_track.engines.checkpoint import build_model, load_checkpoint
from pose_track.engines.torch_backend import TorchBackend
from pose_track.engines.cascade import Cascade
from pose_track.engines.estimator import PoseEstimator
from pose_track.engines.geometry import oriented_box, PERSON_BOX_SCALE
from pose_track.training.datasets import training_set
from pose_track.training.metrics import pck
from pose_track.benchmarks.hard_tracking import hard_clip_rows, hard_summary

model = sys.argv[1]
payload = load_checkpoint(model)
payload["config"].decoding.stage1_flip = False
payload["config"].decoding.stage1_scales = []
runner = TorchBackend(build_model(payload)); runner.config, runner.manifest = payload["config"], None
cascade = Cascade(runner, runner.config)
out = {"model": model}

_, held = training_set("../shared/data", holdout=500)
ok = [i for i in range(len(held)) if held.valid[i].all()][:150]
angles = np.random.default_rng(0).uniform(0, 180, len(ok))
look = PoseEstimator(cascade=cascade, max_passes=1)


def blur(img, length, angle):
    if length < 2:
        return img
    k = np.zeros((length, length), np.float32)
    k[length // 2] = 1.0 / length
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    k = cv2.warpAffine(k, rot, (length, length))
    return cv2.filter2D(img, -1, k / max(k.sum(), 1e-6))


for frac in (0.0, 0.03, 0.06, 0.1, 0.15, 0.2):
    preds, gts, vals = [], [], []
    for a, i in zip(angles, ok):
        img, j = cv2.imread(held.paths[i]), held.joints[i]
        box = oriented_box(j, PERSON_BOX_SCALE)
        p = look.look(blur(img, int(round(frac * box[2])), a), box)
        preds.append(np.nan_to_num(p.joints, nan=-1e6)); gts.append(j); vals.append(held.valid[i])
    out[f"blur_{frac:.2f}"] = float(pck(np.array(preds), np.array(gts), np.array(vals)))
    print(f"blur {frac:.2f} of the box side: PCK@0.2 {out[f'blur_{frac:.2f}']:.3f}", flush=True)

if "--no-clips" not in sys.argv:
    clips = [(f"runs/hard_val/val_{k:02d}.mp4", f"runs/hard_val/val_{k:02d}.npz") for k in range(8)]
    rows = list(hard_clip_rows(PoseEstimator(cascade=cascade), clips))
    s = hard_summary(rows)
    keep = ("pck_single", "pck_tracking", "pck_kalman", "pck_lookahead", "pck_single_fast", "pck_tracking_fast",
            "pck_lookahead_fast")
    out["val_clips"] = {k: s["mean"][k] for k in keep}
    print(json.dumps(out["val_clips"]), flush=True)
print(json.dumps(out))
