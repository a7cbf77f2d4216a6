"""Held-out validation of a model (the last 500 LSP-extended images, never trained on): PCK@0.2 on the first 300
(the still-image path, recropped), the 70 of them cut below the hips (waist-up PCK, legs reported inside), the
74 person-free regions, and the astronaut portrait's stage-1 in-picture probabilities for knees and ankles.
Usage: validate.py MODEL (a checkpoint or a bundle)"""
import sys, os, json, numpy as np, cv2, skimage
from pose_track.commands.model import load_estimator
from pose_track.training.datasets import load_folder
from pose_track.training.framing_eval import evaluate_framing, person_free_regions, waist_up
from pose_track.training.cache import read_image
from pose_track.training.metrics import pck
from pose_track.engines.joints import J
model = sys.argv[1]
if model.endswith(".pt"):          # one view, as the video bundle reads it
    from pose_track.engines.checkpoint import build_model, load_checkpoint
    from pose_track.engines.torch_backend import TorchBackend
    from pose_track.engines.cascade import Cascade
    from pose_track.engines.estimator import PoseEstimator
    payload = load_checkpoint(model)
    payload["config"].decoding.stage1_flip = False
    payload["config"].decoding.stage1_scales = []
    runner = TorchBackend(build_model(payload)); runner.config, runner.manifest = payload["config"], None
    est = PoseEstimator(cascade=Cascade(runner, runner.config))
else:
    est = load_estimator(model, stills=False)
ext = load_folder("../shared/data/lspet")
held = ext.subset(range(len(ext) - 500, len(ext)))
first = held.subset(range(300))
preds = np.stack([est(read_image(p)).joints for p in first.paths])
whole = float(pck(np.nan_to_num(preds, nan=-1e6), first.joints, first.valid))
fr = evaluate_framing(est, person_free_regions(held), [], waist_up(held))
im = cv2.imread(os.path.join(os.path.dirname(skimage.__file__), "data", "astronaut.png"))
h, w = im.shape[:2]
astro = {}
for s in (1.0, 1.4):
    _, pres, ins = est.cascade.stage1(im, np.array([[w / 2, h / 2, max(h, w) * s]], np.float32))
    astro[s] = {k: round(float(ins[0][J[k]]), 2) for k in ("r_knee", "l_knee", "r_ankle", "l_ankle", "r_hip", "l_hip")}
pose = est(im)
drawn = [k for k in J if np.isfinite(pose.joints[J[k]]).all()]
out = {"model": model, "heldout_pck_300": whole, "waist_up_pck": fr["waist_up_pck"], "waist_up_legs_inside": fr["waist_up_legs_reported_inside"],
       "waist_up_images": fr["waist_up_images"], "person_free_reported": fr["person_free_pose_reported"], "person_free_images": fr["person_free_images"],
       "astronaut_inside": astro, "astronaut_drawn": drawn}
print(json.dumps(out))
