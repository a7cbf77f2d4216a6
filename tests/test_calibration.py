"""INT8 calibration: the reader makes the cascade's own crops; the ONNX Runtime INT8 bundle builds from a handful
of images, reuses its caches, and stays close to fp32."""
import os

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from pose_track.calibration.ort_quant import tail_nodes
from pose_track.calibration.reader import CalibrationError, collect_crops, iter_frames
from pose_track.engines.bundle import load_bundle, read_manifest
from pose_track.engines.cascade import fill_crops
from pose_track.engines.export import export_bundle
from pose_track.engines.geometry import whole_image_box

from engines_fixtures import calib_images, tiny_bundle, tiny_checkpoint  # noqa: F401 (fixtures)

torch.set_num_threads(1)

# INT8 accuracy bound, per stage, on the crops of images not used for calibration (the fp32 cascade's crops, so
# both engines see the same input), in crop-normalised coordinates (units of the crop side):
#   mean |int8 - fp32| <= 0.03 and <= 0.5 x the spread of the fp32 outputs over those crops; max <= 0.3.
# The tiny test model has random heads, which quantise far worse than trained ones (measured here: mean 0.01,
# max 0.06-0.15); on the shipped model the mean is 0.002 (models/deeppose_lsp/int8/manifest.json,
# int8_vs_fp32). A broken quantisation (wrong scales, quantised soft-argmax grid) lands at or above the spread.
INT8_MEAN_BOUND, INT8_MAX_BOUND, INT8_SPREAD_FRACTION = 0.03, 0.3, 0.5


def test_reader_makes_the_cascade_crops(tiny_bundle, calib_images):
    backend, cfg, _ = load_bundle(tiny_bundle, threads=1)
    crops = collect_crops(calib_images, backend, cfg, limit=3)
    assert [c.shape for c in crops] == [(3, 3, 64, 64), (42, 3, 32, 32), (42, 3, 32, 32)]
    assert all(c.dtype == np.uint8 for c in crops)
    # Stage 1 crop of the first image = the whole-image box crop the cascade makes for an image folder.
    name, image = next(iter_frames(calib_images, 3))
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    cx, cy, side = whole_image_box(*image.shape[:2])
    expected = fill_crops(rgb, np.array([[cx, cy]], np.float32), np.array([side], np.float32), 64,
                          np.zeros((1, 3, 64, 64), np.float32))
    np.testing.assert_array_equal(crops[0][0], expected[0].astype(np.uint8))


def test_reader_reads_video_frames_spread_over_the_file(tmp_path, calib_images):
    path = str(tmp_path / "clip.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10, (120, 160))
    frames = sorted(os.listdir(calib_images))
    for k in range(10):
        writer.write(cv2.imread(os.path.join(calib_images, frames[k])))
    writer.release()
    got = list(iter_frames(path, limit=4))
    assert len(got) == 4 and got[0][1].shape == (160, 120, 3)
    assert [n for n, _ in got] == ["frame000000", "frame000003", "frame000006", "frame000009"]
    with pytest.raises(CalibrationError, match="not found"):
        list(iter_frames(str(tmp_path / "none.mp4")))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CalibrationError, match="no images"):
        list(iter_frames(str(empty)))


def test_int8_bundle_builds_from_a_few_images_and_stays_close(tiny_checkpoint, tiny_bundle, calib_images, tmp_path):
    import onnx

    logs = []
    files = sorted(os.listdir(calib_images))
    calib_dir = tmp_path / "calib"
    calib_dir.mkdir()
    for f in files[:8]:                                  # calibrate on 8 images, evaluate on the other 4
        os.symlink(os.path.join(calib_images, f), calib_dir / f)
    out = str(tmp_path / "int8")
    export_bundle(tiny_checkpoint, out, precision="int8", calib=str(calib_dir), calib_images=8, threads=1,
                  log=logs.append)
    m = read_manifest(out)
    assert m["precision"] == "int8" and [s["file"] for s in m["stages"]] == [
        "stage1.int8.onnx", "stage2.int8.onnx", "stage3.int8.onnx"]
    assert m["calibration"]["crops_per_stage"] == [8, 112, 112]
    model = onnx.load(os.path.join(out, "stage1.int8.onnx"))
    ops = {n.op_type for n in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops                      # QDQ format
    # The soft-argmax tail stays fp32: nothing feeding the Softmax is dequantised.
    producer = {o: n for n in model.graph.node for o in n.output}
    softmax = next(n for n in model.graph.node if n.op_type == "Softmax")
    assert all(producer[i].op_type != "DequantizeLinear" for i in softmax.input if i in producer)
    assert tail_nodes(model)

    fp32, cfg, _ = load_bundle(tiny_bundle, threads=1)
    int8, _, _ = load_bundle(out, threads=1)
    held_out = tmp_path / "held_out"
    held_out.mkdir()
    for f in files[8:]:
        os.symlink(os.path.join(calib_images, f), held_out / f)
    crops = collect_crops(str(held_out), fp32, cfg, limit=None)
    for stage, x in enumerate(crops):
        a, b = fp32.run(stage, x.astype(np.float32))[0], int8.run(stage, x.astype(np.float32))[0]
        diff = np.abs(a - b)
        print(f"stage {stage + 1}: int8 vs fp32 mean {diff.mean():.4f} max {diff.max():.4f}, "
              f"fp32 spread over crops {a.std(0).mean():.4f}")
        assert diff.mean() <= INT8_MEAN_BOUND and diff.max() <= INT8_MAX_BOUND, (stage, diff.mean(), diff.max())
        assert diff.mean() <= INT8_SPREAD_FRACTION * a.std(0).mean(), (stage, diff.mean(), a.std(0).mean())

    # A rebuild into the same folder reuses the range caches (no calibration run), with or without --calib.
    logs.clear()
    export_bundle(tiny_checkpoint, out, precision="int8", calib=str(calib_dir), calib_images=8, threads=1,
                  log=logs.append)
    assert any("reusing the range caches" in line for line in logs)
    export_bundle(tiny_checkpoint, out, precision="int8", threads=1, log=logs.append)
    rebuilt, _, _ = load_bundle(out, threads=1)
    x = crops[1][:14].astype(np.float32)
    np.testing.assert_allclose(rebuilt.run(1, x)[0], int8.run(1, x)[0], atol=1e-6)


def test_calibration_pictures_with_nobody_are_refused_in_one_line(tmp_path):
    """The refiners run only where stage 1 finds a person: pictures with nobody leave them nothing to calibrate on."""
    from conftest import REPO

    folder = tmp_path / "calib"
    folder.mkdir()
    cv2.imwrite(str(folder / "blank.png"), np.zeros((120, 160, 3), np.uint8))
    backend, cfg, _ = load_bundle(os.path.join(REPO, "models", "deeppose_lsp", "onnx"), threads=1)
    with pytest.raises(CalibrationError, match="found no person in the 1 calibration image") as refusal:
        collect_crops(str(folder), backend, cfg)
    assert "\n" not in str(refusal.value)


def test_an_int8_rebuild_with_other_stage1_views_measures_its_own_ranges(tiny_checkpoint, calib_images, tmp_path):
    """Ranges measured on one stage-1 graph (one view) do not fit another (the mirror view too): a rebuild into the
    same folder with the other views gets its own calibration, and one without --calib reuses the matching one."""
    from pose_track.engines.checkpoint import load_checkpoint

    out, logs = str(tmp_path / "int8"), []
    flip = bool(load_checkpoint(tiny_checkpoint)["config"].decoding.stage1_flip)
    export_bundle(tiny_checkpoint, out, precision="int8", calib=calib_images, calib_images=3, threads=1)
    export_bundle(tiny_checkpoint, out, precision="int8", calib=calib_images, calib_images=3, threads=1,
                  stage1_flip=not flip, log=logs.append)
    other = read_manifest(out)
    assert other["model_config"]["decoding"]["stage1_flip"] == (not flip)
    assert not any("reusing the range caches" in line for line in logs)
    export_bundle(tiny_checkpoint, out, precision="int8", threads=1, log=logs.append)      # the checkpoint's views
    again = read_manifest(out)["calibration"]
    assert any("reusing the range caches" in line for line in logs) and again["key"] != other["calibration"]["key"]
    assert again["source"] is None and again["images"] is None


def test_a_crop_cache_that_is_no_cache_is_refused_in_one_line(tmp_path):
    from pose_track.calibration.reader import cached_crops
    from pose_track.training.cache import build_cache
    from pose_track.training.datasets import DatasetError, PoseSet

    pickled = tmp_path / "crops-x.npz"
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    os.replace(tmp_path / "obj.npy", pickled)
    with pytest.raises(CalibrationError, match="crops-x.npz cannot be read"):
        cached_crops(str(pickled), lambda: None)
    wrong = tmp_path / "crops-y.npz"
    np.savez(wrong, stage0=np.zeros((3, 5)))
    with pytest.raises(CalibrationError, match="crops-y.npz does not hold crops"):
        cached_crops(str(wrong), lambda: None)
    data = PoseSet(["a.jpg"], np.zeros((1, 14, 2), np.float32), np.ones((1, 14), bool), np.zeros(1, bool))
    import hashlib
    from pose_track.training.cache import CONTEXT
    key = hashlib.sha1(("|".join(data.paths) + f"{64}{CONTEXT}").encode()).hexdigest()[:16]
    np.savez(tmp_path / f"crops_64_{key}.npz", images=np.zeros((1, 32, 32, 3), np.uint8), joints=np.zeros((1, 14, 2)))
    with pytest.raises(DatasetError, match="does not hold these images' crops"):
        build_cache(data, 64, str(tmp_path))
