"""Stage-1 joints of each checkpoint given (default: model v3 and mean B (v1)) and, for two, of their average, on
held-out LSP-extended people (the first 300 of the last 500), boxes around the labelled joints as training
evaluates; one view (192 px), torch. Usage: ensemble_probe.py [CKPT ...]"""
import sys
import numpy as np
from pose_track.engines.checkpoint import build_model, load_checkpoint
from pose_track.engines.torch_backend import TorchBackend
from pose_track.engines.cascade import Cascade
from pose_track.training.datasets import load_folder
from pose_track.training.cache import read_image
from pose_track.training.metrics import pck
from pose_track.training.augment import EVAL_BOX_SCALE

def cascade(path):
    p = load_checkpoint(path); p["config"].decoding.stage1_flip = False; p["config"].decoding.stage1_scales = []
    r = TorchBackend(build_model(p)); r.config, r.manifest = p["config"], None
    return Cascade(r, r.config)
ext = load_folder("../shared/data/lspet")
held = ext.subset(range(len(ext) - 500, len(ext) - 200))
paths = sys.argv[1:] or ["models/deeppose_lsp/checkpoint.pt", "recipes/deeppose_lsp_v1.pt"]
models = {path: cascade(path) for path in paths}
out = {k: [] for k in models}
for path, j, v in zip(held.paths, held.joints, held.valid):
    im = read_image(path)
    pts = j[v] if v.any() else j
    lo, hi = pts.min(0), pts.max(0)
    box = np.array([[*(lo + hi) / 2, max(hi - lo) * EVAL_BOX_SCALE]], np.float32)
    for k, c in models.items():
        out[k].append(c.stage1(im, box)[0][0])
P = {k: np.stack(v) for k, v in out.items()}
if len(P) == 2:
    P["average of the two"] = sum(P.values()) / 2
for k, p in P.items():
    print(k, round(float(pck(p, held.joints, held.valid)), 4))
