"""A checkpoint (one view, as the video bundle reads it) on: Sports2D's backlit man (presence on his box, frames
118-170) and the tracker over the whole clip (frames with a skeleton); held-out people and person-free regions
with a glare veil (found / reported)."""
import sys, csv, json, numpy as np, cv2
from pose_track.engines.checkpoint import build_model, load_checkpoint
from pose_track.engines.torch_backend import TorchBackend
from pose_track.engines.cascade import Cascade
from pose_track.engines.estimator import PoseEstimator
from pose_track.tracker.loop import Tracker
from pose_track.tracker.capture import open_source
from pose_track.training.datasets import load_folder
from pose_track.training.framing_eval import person_free_regions
from pose_track.training.framing import veil
from pose_track.training.cache import read_image
payload = load_checkpoint(sys.argv[1])
payload["config"].decoding.stage1_flip = False
payload["config"].decoding.stage1_scales = []
runner = TorchBackend(build_model(payload)); runner.config, runner.manifest = payload["config"], None
est = PoseEstimator(cascade=Cascade(runner, runner.config))
out = {"model": sys.argv[1]}
cap = cv2.VideoCapture('../shared/data/real/sports2d_demo.mp4'); frames = []
while True:
    ok, f = cap.read()
    if not ok: break
    frames.append(f)
box = np.array([[743, 272, 403]], np.float32)
out["backlit_presence"] = {fi: round(float(est.cascade.stage1(frames[fi], box)[1][0]), 2) for fi in range(118, 172, 4)}
tr = Tracker(PoseEstimator(cascade=Cascade(runner, runner.config), stills=False))
drawn = []
for i, fr in enumerate(open_source('../shared/data/real/sports2d_demo.mp4')):
    r = tr.step(fr)
    if np.isfinite(r.raw).any(): drawn.append(i)
out["sports2d_frames_drawn"] = len(drawn)
out["sports2d_drawn_118_170"] = [i for i in drawn if 118 <= i <= 170]
out["sports2d_drawn_after_228"] = [i for i in drawn if i > 228]
ext = load_folder("../shared/data/lspet"); held = ext.subset(range(len(ext) - 500, len(ext)))
rng = np.random.default_rng(0)
found = 0
for p in held.paths[:200]:
    im = read_image(p); im = cv2.cvtColor(veil(cv2.cvtColor(im, cv2.COLOR_BGR2RGB), rng), cv2.COLOR_RGB2BGR)
    found += est(im).found
out["heldout_veiled_found_200"] = int(found)
regions = person_free_regions(held)
rep = 0
for _, im in regions:
    im = cv2.cvtColor(veil(cv2.cvtColor(im, cv2.COLOR_BGR2RGB), rng), cv2.COLOR_RGB2BGR)
    rep += est(im).found
out["person_free_veiled_reported"] = f"{rep} of {len(regions)}"
print(json.dumps(out))
