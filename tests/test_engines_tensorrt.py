"""Native TensorRT bundles: skipped where tensorrt (or a GPU) is absent."""
import json
import os

import numpy as np
import pytest

trt = pytest.importorskip("tensorrt")
pytest.importorskip("torch")

from pose_track.engines.bundle import BundleError, load_bundle, read_manifest
from pose_track.engines.export import export_bundle
from pose_track.engines.bundle import BackendUnavailable
from pose_track.engines.tensorrt_backend import REFINER_BATCH, device_info

from engines_fixtures import calib_images, tiny_bundle, tiny_checkpoint  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def gpu():
    try:
        return device_info()
    except (BackendUnavailable, RuntimeError) as exc:
        pytest.skip(f"no usable CUDA device: {exc}")


def _inputs(cfg, stage, batch, seed=0):
    size = cfg.architecture.stage1_input if stage == 0 else cfg.architecture.refiner_input
    return np.random.default_rng(seed).uniform(0, 255, (batch, 3, size, size)).astype(np.float32)


@pytest.fixture(scope="module")
def trt_fp32(gpu, tiny_checkpoint, tmp_path_factory):
    return export_bundle(tiny_checkpoint, str(tmp_path_factory.mktemp("trt") / "fp32"), backend="tensorrt")


def test_fp32_plans_agree_with_onnxruntime(trt_fp32, tiny_bundle, gpu):
    m = read_manifest(trt_fp32)
    assert m["backend"] == "tensorrt" and m["backend_version"] == trt.__version__
    assert m["device"]["name"] == gpu["name"] and m["device"]["compute_capability"] == gpu["compute_capability"]
    engine, cfg, _ = load_bundle(trt_fp32)
    ort, _, _ = load_bundle(tiny_bundle, threads=1)
    for stage, batches in ((0, (1, 3, 8)), (1, (1, 14, 28, REFINER_BATCH[2] + 14)), (2, (14,))):
        for batch in batches:                          # the last refiner batch exceeds the profile: split in two
            x = _inputs(cfg, stage, batch)
            for a, b in zip(engine.run(stage, x), ort.run(stage, x)):
                assert a.shape == b.shape
                assert np.abs(a - b).max() <= 1e-3


def test_fp16_plans_stay_close(gpu, tiny_checkpoint, tiny_bundle, tmp_path):
    out = export_bundle(tiny_checkpoint, str(tmp_path / "fp16"), backend="tensorrt", precision="fp16")
    engine, cfg, m = load_bundle(out)
    assert m["precision"] == "fp16"
    ort, _, _ = load_bundle(tiny_bundle, threads=1)
    for stage in range(3):
        x = _inputs(cfg, stage, 14)
        assert np.abs(engine.run(stage, x)[0] - ort.run(stage, x)[0]).mean() <= 0.01


def test_int8_plans_calibrate_and_reuse_their_cache(gpu, tiny_checkpoint, calib_images, tmp_path):
    logs = []
    out = str(tmp_path / "int8")
    export_bundle(tiny_checkpoint, out, backend="tensorrt", precision="int8", calib=calib_images, calib_images=8,
                  log=logs.append)
    m = read_manifest(out)
    caches = [os.path.join(out, "calibration", c) for c in m["calibration"]["range_caches"]]
    assert all(os.path.getsize(c) > 0 for c in caches)
    assert any("calibrating" in line for line in logs)
    engine, cfg, _ = load_bundle(out)
    x = _inputs(cfg, 1, 14)
    coords, spread = engine.run(1, x)
    assert coords.shape == (14, 14, 2) and np.isfinite(coords).all()
    logs.clear()
    export_bundle(tiny_checkpoint, out, backend="tensorrt", precision="int8", log=logs.append)
    assert not any("calibrating" in line for line in logs)                 # scales read from the cache


def test_a_plan_for_another_gpu_is_refused(trt_fp32, tmp_path):
    import shutil

    path = str(tmp_path / "other")
    shutil.copytree(trt_fp32, path)
    mpath = os.path.join(path, "manifest.json")
    m = json.load(open(mpath))
    m["device"]["name"] = "Some Other GPU"
    json.dump(m, open(mpath, "w"))
    with pytest.raises(BundleError, match="built for the GPU Some Other GPU"):
        load_bundle(path)
