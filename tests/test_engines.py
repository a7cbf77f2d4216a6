"""Engine bundles: ONNX export parity, loading without torch, manifest checks, the backends and `bench`."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from pose_track.engines.backends import make_backend
from pose_track.engines.torch_backend import load_any_cascade
from pose_track.engines.bundle import BundleError, load_bundle, read_manifest
from pose_track.engines.cascade import Cascade
from pose_track.engines.checkpoint import build_model, load_checkpoint
from pose_track.engines.export import PARITY_TOL, ExportError, export_bundle
from pose_track.engines.geometry import whole_image_box
from pose_track.engines.torch_backend import TorchBackend

from conftest import REPO, STANDING, draw_person
from engines_fixtures import calib_images, shared_lsp, tiny_bundle, tiny_checkpoint  # noqa: F401 (fixtures)

torch.set_num_threads(1)


def _copy_bundle(src, dst):
    shutil.copytree(src, dst)
    return str(dst)


def _edit_manifest(path, **changes):
    mpath = os.path.join(path, "manifest.json")
    manifest = json.load(open(mpath))
    manifest.update(changes)
    json.dump(manifest, open(mpath, "w"))


def test_export_writes_a_complete_manifest(tiny_bundle, tiny_checkpoint):
    m = read_manifest(tiny_bundle)
    from pose_track.engines.bundle import file_sha256
    import onnxruntime

    assert m["backend"] == "onnxruntime" and m["backend_version"] == onnxruntime.__version__
    assert m["precision"] == "fp32" and m["checkpoint_sha256"] == file_sha256(tiny_checkpoint)
    assert m["model_config"]["architecture"]["stage1_input"] == 64 and len(m["stages"]) == 3
    assert m["stages"][0]["input_shape"] == ["batch", 3, 64, 64]
    assert m["stages"][1]["input_shape"] == ["batch", 3, 32, 32] and m["stages"][1]["batch"]["max"] == 14 * 8
    assert m["device"]["name"] and m["created"]
    for stage in m["stages"]:
        assert os.path.isfile(os.path.join(tiny_bundle, stage["file"]))
        assert stage["parity_vs_torch"]["coords_max_abs_diff"] <= PARITY_TOL


@pytest.mark.parametrize("stage", [0, 1, 2])
def test_export_parity_per_stage(tiny_bundle, tiny_checkpoint, stage):
    """ONNX Runtime agrees with torch within 1e-3 (crop-normalised coords) at several batch sizes."""
    model = build_model(load_checkpoint(tiny_checkpoint)).eval()
    backend, cfg, _ = load_bundle(tiny_bundle, threads=1)
    size = cfg.architecture.stage1_input if stage == 0 else cfg.architecture.refiner_input
    rng = np.random.default_rng(stage)
    for batch in ((1, 3) if stage == 0 else (1, 14, 28)):
        x = rng.uniform(0, 255, (batch, 3, size, size)).astype(np.float32)
        with torch.inference_mode():
            expected = model[stage](torch.from_numpy(x))
        got = backend.run(stage, x)
        assert len(got) == len(expected) == (4 if stage == 0 else 2)     # stage 1: + presence, inside
        assert got[0].shape == (batch, 14, 2) and got[1].shape == (batch, 14)
        if stage == 0:
            assert got[2].shape == (batch,) and got[3].shape == (batch, 14)
        for a, b in zip(got, expected):
            assert np.abs(a - b.numpy()).max() <= 1e-3


def test_cascade_on_onnxruntime_matches_torch(tiny_bundle, tiny_checkpoint):
    """Stage 1 joints agree within 1e-3 box sides; every refiner agrees with torch on the crops the ONNX Runtime
    cascade made (end to end, the random refiners of the tiny model would amplify any rounding difference)."""
    from pose_track.calibration.reader import RecordingBackend

    image = draw_person(STANDING)
    box = np.array([whole_image_box(*image.shape[:2])], np.float32)
    backend, cfg, _ = load_bundle(tiny_bundle, threads=1)
    recorder = RecordingBackend(backend)
    ort_res = Cascade(recorder, cfg).predict(image, box)
    torch_backend = TorchBackend(build_model(load_checkpoint(tiny_checkpoint)))
    torch_res = Cascade(torch_backend, cfg, stages=1).predict(image, box)
    assert np.abs(ort_res.stages[0] - torch_res.stages[0]).max() / box[0, 2] <= 1e-3
    assert len(ort_res.stages) == 3 and ort_res.confidence.shape == (1, 14)
    for stage, batches in recorder.batches.items():
        x = np.concatenate(batches).astype(np.float32)
        assert len(x) == (1 if stage == 0 else 14)
        for a, b in zip(backend.run(stage, x), torch_backend.run(stage, x)):
            assert np.abs(a - b).max() <= 1e-3


def test_io_binding_gives_the_same_numbers(tiny_bundle):
    plain, _, _ = load_bundle(tiny_bundle, threads=1)
    bound, _, _ = load_bundle(tiny_bundle, threads=1, io_binding=True)
    x = np.random.default_rng(0).uniform(0, 255, (14, 3, 32, 32)).astype(np.float32)
    for a, b in zip(plain.run(1, x), bound.run(1, x)):
        np.testing.assert_array_equal(a, b)


def test_default_sessions_share_one_thread_pool_and_give_the_same_numbers(tiny_bundle):
    from pose_track.engines.onnxruntime_backend import session_options

    own, _, _ = load_bundle(tiny_bundle, threads=1)          # its own pool, where no shared pool exists yet
    assert session_options().use_per_session_threads is False      # the process's shared pool
    assert session_options(threads=1).use_per_session_threads is False     # ONNX Runtime allows no other now
    shared, _, _ = load_bundle(tiny_bundle)
    rng = np.random.default_rng(0)
    for stage, size in ((0, 64), (1, 32)):
        x = rng.uniform(0, 255, (3, 3, size, size)).astype(np.float32)
        for a, b in zip(shared.run(stage, x), own.run(stage, x)):
            np.testing.assert_allclose(a, b, atol=1e-5)


def test_the_bundle_runs_without_torch(tiny_bundle):
    code = (
        "import sys, numpy as np\n"
        "from engines.backends import load_cascade\n"
        f"c = load_cascade({tiny_bundle!r}, threads=1)\n"
        "img = np.random.default_rng(0).integers(0, 255, (120, 90, 3), dtype=np.uint8)\n"
        "r = c.predict(img, [[45, 60, 120]])\n"
        "assert r.joints.shape == (1, 14, 2) and np.isfinite(r.joints).all()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def _refused_in_one_line(match, *args, **kwargs) -> None:
    with pytest.raises(BundleError, match=match) as refusal:
        load_bundle(*args, **kwargs)
    assert "\n" not in str(refusal.value)


def test_manifest_mismatches_are_refused(tiny_bundle, tiny_checkpoint, tmp_path):
    """Each refusal is one line that names the fix."""
    path = _copy_bundle(tiny_bundle, tmp_path / "b")
    load_bundle(path, threads=1, checkpoint=tiny_checkpoint)                  # matches: loads

    _edit_manifest(path, backend_version="99.0.0")
    _refused_in_one_line(r"built with onnxruntime 99\.0\.0.*pose-track build-engine", path)
    _edit_manifest(path, backend_version="0.9.0")                          # other major version
    _refused_in_one_line("rebuild", path)

    path = _copy_bundle(tiny_bundle, tmp_path / "c")
    _edit_manifest(path, checkpoint_sha256="0" * 64)
    _refused_in_one_line("another checkpoint.*pose-track build-engine", path, checkpoint=tiny_checkpoint)

    path = _copy_bundle(tiny_bundle, tmp_path / "d")
    _edit_manifest(path, format_version=99)
    _refused_in_one_line("format version 99", path)

    _refused_in_one_line("onnxruntime bundle, not tensorrt", tiny_bundle, backend="tensorrt")
    _refused_in_one_line("no engine bundle", str(tmp_path / "nothing"))


def test_tensorrt_bundle_for_another_gpu_is_refused(tiny_bundle, tmp_path, monkeypatch):
    import pose_track.engines.tensorrt_backend as trt_backend

    path = _copy_bundle(tiny_bundle, tmp_path / "trt")
    _edit_manifest(path, backend="tensorrt", backend_version="10.3.0",
                   device={"type": "cuda", "name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"})
    monkeypatch.setattr(trt_backend, "runtime_version", lambda: "10.3.0")
    monkeypatch.setattr(trt_backend, "device_info",
                        lambda index=0: {"type": "cuda", "name": "NVIDIA A100-SXM4-40GB", "compute_capability": "8.0"})
    with pytest.raises(BundleError, match="built for the GPU NVIDIA H100.*A100.*pose-track build-engine"):
        load_bundle(path)
    monkeypatch.setattr(trt_backend, "runtime_version", lambda: "10.4.0")
    with pytest.raises(BundleError, match=r"built with tensorrt 10\.3\.0, this installation has 10\.4\.0"):
        load_bundle(path)


def test_a_backend_not_installed_says_how_to_install(tiny_bundle, tmp_path, monkeypatch):
    path = _copy_bundle(tiny_bundle, tmp_path / "trt")
    _edit_manifest(path, backend="tensorrt")
    monkeypatch.setitem(sys.modules, "tensorrt", None)                  # import tensorrt -> ImportError
    with pytest.raises(BundleError, match=r"pip install 'pose-track\[tensorrt\]'"):
        load_bundle(path)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(BundleError, match="pip install onnxruntime"):
        load_bundle(tiny_bundle)


def test_unsupported_requests_fail_in_one_line(tiny_checkpoint, tiny_bundle, tmp_path):
    with pytest.raises(ExportError, match="fp16 is for GPUs"):
        export_bundle(tiny_checkpoint, str(tmp_path / "x"), precision="fp16")
    with pytest.raises(ExportError, match="needs calibration data"):
        export_bundle(tiny_checkpoint, str(tmp_path / "y"), precision="int8")
    with pytest.raises(BundleError, match=r"--half is for a torch checkpoint \(--engine FILE.pt\)"):
        make_backend(None, tiny_bundle, half=True)
    with pytest.raises(BundleError, match="takes no verbose option"):
        make_backend(None, tiny_bundle, verbose=True)
    with pytest.raises(BundleError, match="is a checkpoint"):
        make_backend("onnxruntime", tiny_checkpoint)
    with pytest.raises(BundleError, match="is a checkpoint"):
        load_any_cascade(tiny_checkpoint, backend="onnxruntime")
    with pytest.raises(BundleError, match="unknown onnxruntime device"):
        make_backend(None, tiny_bundle, device="npu")


def test_tensorrt_takes_device_cuda_as_given_and_refuses_another():
    from pose_track.engines.backends import backend_options

    assert backend_options("tensorrt", {"device": "cuda", "threads": 2}) == {}
    with pytest.raises(BundleError, match="takes no device option"):
        backend_options("tensorrt", {"device": "cpu"})


def test_onnxruntime_that_falls_back_to_the_cpu_is_refused(tiny_bundle, monkeypatch):
    """ONNX Runtime given a GPU provider it cannot start runs on the CPU, saying so only in its log."""
    import pose_track.engines.onnxruntime_backend as ortb
    if "CUDAExecutionProvider" in ortb.import_onnxruntime().get_available_providers():
        pytest.skip("this ONNX Runtime starts CUDA")
    monkeypatch.setattr(ortb, "resolve_providers", lambda device="cpu": ["CUDAExecutionProvider", "CPUExecutionProvider"])
    with pytest.raises(BundleError, match="could not start CUDAExecutionProvider .* run on CPUExecutionProvider"), \
            pytest.warns(UserWarning):
        make_backend(None, tiny_bundle, device="cuda")


def test_torch_backend_from_a_checkpoint(tiny_checkpoint, tiny_bundle):
    runner = load_any_cascade(tiny_checkpoint, threads=1).backend
    assert runner.name == "torch" and runner.manifest is None and runner.config.architecture.stage1_input == 64
    ort, _, _ = load_bundle(tiny_bundle, threads=1)
    x = np.random.default_rng(1).uniform(0, 255, (2, 3, 64, 64)).astype(np.float32)
    assert np.abs(runner.run(0, x)[0] - ort.run(0, x)[0]).max() <= 1e-3


def test_build_engine_and_bench_commands(tiny_checkpoint, tmp_path):
    from click.testing import CliRunner
    from pose_track.commands.bench import bench
    from pose_track.commands.engines import build_engine
    from conftest import make_fake_lsp

    out = str(tmp_path / "bundle")
    result = CliRunner().invoke(build_engine, [tiny_checkpoint, "-o", out, "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert os.path.isfile(os.path.join(out, "manifest.json"))

    # The bench times a person from LSP test (im1001 on): without the data, a fake LSP with two test images.
    data = os.path.dirname(shared_lsp()) if shared_lsp() else make_fake_lsp(str(tmp_path / "lsp"), n=1002)
    json_out = str(tmp_path / "bench.json")
    result = CliRunner().invoke(bench, ["--engine", out, "--engine", tiny_checkpoint, "--threads", "1",
                                        "--runs", "3", "--images", "3", "--data", data, "--json", json_out])
    assert result.exit_code == 0, result.output
    for row in ("stage 1 (batch 1)", "stage 3 (batch 14)", "single image fps", "tracking fps", "peak RSS MB",
                "PCK@0.2 LSP test"):
        assert row in result.output
    res = json.load(open(json_out))
    assert [r["backend"] for r in res] == ["onnxruntime", "torch"]
    assert all(r["single_image"]["fps"] > 0 and r["stages"][1]["batch"] == 14 for r in res)
    if shared_lsp():
        assert res[0]["accuracy"]["images"] == 3 and 0 <= res[0]["accuracy"]["pck"] <= 1

    result = CliRunner().invoke(build_engine, [str(tmp_path / "missing.pt"), "-o", out])
    assert result.exit_code != 0 and "checkpoint not found" in result.output
    result = CliRunner().invoke(bench, ["--engine", str(tmp_path), "--data", data])
    assert result.exit_code != 0 and "no engine bundle" in result.output


def test_flip_averaged_peak_window_export_matches_torch(tiny_checkpoint, tmp_path):
    """The in-graph mirror view and peak window export, agree with torch, and --no-flip-average drops the mirror."""
    payload = load_checkpoint(tiny_checkpoint)
    cfg = payload["config"]
    cfg.decoding.decode_window, cfg.decoding.refiner_decode_window = 2, 2
    cfg.decoding.stage1_flip, cfg.decoding.refiner_flip = True, True
    payload["config"] = cfg.to_dict()
    path = str(tmp_path / "tuned.pt")
    torch.save(payload, path)
    bundle = export_bundle(path, str(tmp_path / "tuned"), stages=2, threads=1)
    manifest = read_manifest(bundle)
    decoding = manifest["model_config"]["decoding"]
    assert decoding["stage1_flip"] and decoding["decode_window"] == 2
    model = build_model(load_checkpoint(path)).eval()
    backend, _, _ = load_bundle(bundle, threads=1)
    x = np.random.default_rng(0).uniform(0, 255, (3, 3, 64, 64)).astype(np.float32)
    with torch.inference_mode():
        tc = model[0](torch.from_numpy(x))[0]
        plain, _ = model[0].head(model[0].backbone(model[0].norm(torch.from_numpy(x))))
    oc = backend.run(0, x)[0]
    assert np.abs(oc - tc.numpy()).max() <= 1e-3 and np.abs(oc - plain.numpy()).max() > 1e-2
    scaled = export_bundle(path, str(tmp_path / "scaled"), stages=1, threads=1, stage1_scales=(96,))
    assert read_manifest(scaled)["model_config"]["decoding"]["stage1_scales"] == [96]
    sc = load_bundle(scaled, threads=1)[0].run(0, x)[0]       # the export checked parity with torch itself
    assert np.abs(sc - oc).max() > 1e-3
    fast = export_bundle(path, str(tmp_path / "fast"), stages=1, threads=1, stage1_flip=False)
    assert read_manifest(fast)["model_config"]["decoding"]["stage1_flip"] is False
    fc = load_bundle(fast, threads=1)[0].run(0, x)[0]
    assert np.abs(fc - oc).max() > 1e-2


def test_build_engine_refuses_bad_scales_in_one_line(tiny_checkpoint, tmp_path):
    from click.testing import CliRunner
    from pose_track.commands.engines import build_engine

    for bad, says in (("abc", "input sizes like"), ("100", "multiple of 32")):
        result = CliRunner().invoke(build_engine, [tiny_checkpoint, "--scales", bad, "-o", str(tmp_path / "b")])
        errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert result.exit_code == 2 and len(errors) == 1 and says in errors[0], result.output   # a usage error
        assert "Traceback" not in result.output and not (tmp_path / "b").exists()


def test_a_bundle_reads_only_its_own_stage_files(tiny_bundle, tmp_path):
    """A bundle someone hands over must not make the tool read what lies elsewhere: a stage file named with a
    folder or an absolute path, or one that is a link, is refused in one line."""
    elsewhere = _copy_bundle(tiny_bundle, tmp_path / "elsewhere")
    stages = read_manifest(tiny_bundle)["stages"]
    for name in ("../elsewhere/stage1.onnx", os.path.join(elsewhere, "stage1.onnx"), "/etc/passwd", None, 7):
        path = _copy_bundle(tiny_bundle, tmp_path / f"b{abs(hash(str(name)))}")
        _edit_manifest(path, stages=[{**stages[0], "file": name}, *stages[1:]])
        _refused_in_one_line("not a file name in the bundle", path)
    linked = _copy_bundle(tiny_bundle, tmp_path / "linked")
    os.remove(os.path.join(linked, "stage1.onnx"))
    os.symlink(os.path.join(elsewhere, "stage1.onnx"), os.path.join(linked, "stage1.onnx"))
    _refused_in_one_line("stage1.onnx is a link", linked)
    _edit_manifest(_copy_bundle(tiny_bundle, tmp_path / "nolist"), stages="stage1.onnx")
    _refused_in_one_line("stages are not a list", str(tmp_path / "nolist"))


def test_a_calibration_folder_that_is_a_link_is_refused(tiny_checkpoint, calib_images, tmp_path):
    out, victim = tmp_path / "int8", tmp_path / "victim"
    out.mkdir()
    victim.mkdir()
    os.symlink(victim, out / "calibration")
    with pytest.raises(ExportError, match="calibration is a link"):
        export_bundle(tiny_checkpoint, str(out), precision="int8", calib=calib_images, calib_images=2, threads=1)
    assert os.listdir(victim) == []
