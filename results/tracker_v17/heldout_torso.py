"""Model v3, video bundle (one view, recropped as `eval` runs it): PCK@0.2 on the last 500 LSP-extended images with
the torso diameter from both diagonals (before) and from the diagonals whose ends are labelled (now).
python results/tracker_v17/heldout_torso.py"""
import numpy as np
from pose_track.commands.model import load_estimator
from pose_track.engines.geometry import torso_diameters
from pose_track.training.datasets import load_folder
from pose_track.training.evaluate import predict_set
from pose_track.training.metrics import pck

extended = load_folder("../shared/data/lspet")
held = extended.subset(range(len(extended) - 500, len(extended)))
pred = predict_set(load_estimator("models/deeppose_lsp/onnx", stills=True), held)[-1]
err = np.linalg.norm(pred - held.joints, axis=-1)
both = err <= 0.2 * torso_diameters(held.joints)[:, None]
print("held-out 500, video bundle: PCK@0.2 both diagonals %.4f, labelled diagonals %.4f"
      % (both[held.valid].mean(), pck(pred, held.joints, held.valid)))
