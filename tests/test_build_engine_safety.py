"""build-engine over an existing bundle: the old bundle stays whole and loadable until the new one is complete
(an interrupt or a fault part way leaves it byte for byte, with no partial file); an output folder that cannot
be made is one line."""
import errno
import os
import shutil

import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from pose_track.cli import cli
from pose_track.engines import export
from pose_track.engines.bundle import load_bundle, read_manifest
from pose_track.engines.outputs import OWN_OUTPUTS

from engines_fixtures import calib_images, tiny_checkpoint  # noqa: F401 (fixtures)
from conftest import refused_in_one_line

torch.set_num_threads(1)


def _build(checkpoint, out, *more):
    return CliRunner().invoke(cli, ["build-engine", checkpoint, "--threads", "1", *more, "-o", str(out)])


@pytest.fixture(scope="module")
def built(tiny_checkpoint, tmp_path_factory):
    """A fp32 bundle build-engine wrote, to copy (with its list of own outputs) into each test's folder."""
    out = tmp_path_factory.mktemp("built") / "bundle"
    res = _build(tiny_checkpoint, out)
    assert res.exit_code == 0, res.output
    return out


def _copy(built, folder):
    shutil.copytree(built, folder)
    return folder


def _contents(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _partials(folder):
    return [str(p) for p in folder.rglob("*") if ".partial-" in p.name or p.name.endswith(".tmp")]


def _stop_after_stage(monkeypatch, k, error):
    """export_stage_onnx writes stage k's file whole, then `error` is raised, as by Ctrl-C or a full disk."""
    real, calls = export.export_stage_onnx, []

    def export_then_stop(net, path, size, *args, **kwargs):
        real(net, path, size, *args, **kwargs)
        calls.append(path)
        if len(calls) == k:
            assert os.path.getsize(path) > 0
            raise error
    monkeypatch.setattr(export, "export_stage_onnx", export_then_stop)
    return calls


@pytest.mark.parametrize("stage", [1, 2])
def test_an_interrupted_rebuild_leaves_the_old_bundle_as_it_was(built, tiny_checkpoint, tmp_path, monkeypatch,
                                                                stage):
    bundle = _copy(built, tmp_path / "bundle")
    before = _contents(bundle)
    written = _stop_after_stage(monkeypatch, stage, KeyboardInterrupt())
    res = _build(tiny_checkpoint, bundle)
    assert res.exit_code != 0 and len(written) == stage, res.output
    assert not any(os.path.basename(p) in before for p in written)      # never written under the final name
    assert _contents(bundle) == before and not _partials(bundle)
    load_bundle(str(bundle), threads=1)


def test_a_rebuild_that_fails_half_way_says_so_in_one_line_and_keeps_the_old_bundle(built, tiny_checkpoint,
                                                                                   tmp_path, monkeypatch):
    bundle = _copy(built, tmp_path / "bundle")
    before = _contents(bundle)
    _stop_after_stage(monkeypatch, 2, OSError(errno.ENOSPC, "No space left on device"))
    error = refused_in_one_line(_build(tiny_checkpoint, bundle), exit_code=1)
    assert "cannot write the engine bundle" in error and "No space left on device" in error
    assert _contents(bundle) == before and not _partials(bundle)


def test_an_interrupted_build_of_a_new_folder_leaves_no_folder(tiny_checkpoint, tmp_path, monkeypatch):
    _stop_after_stage(monkeypatch, 1, KeyboardInterrupt())
    res = _build(tiny_checkpoint, tmp_path / "engines" / "bundle")
    assert res.exit_code != 0, res.output
    assert os.listdir(tmp_path) == []


def test_an_interrupted_int8_build_leaves_no_calibration_file(built, tiny_checkpoint, calib_images, tmp_path,
                                                              monkeypatch):
    from pose_track.calibration import ort_quant

    bundle = _copy(built, tmp_path / "bundle")
    before = _contents(bundle)
    real, calls = ort_quant.quantize_stage, []

    def quantise_then_stop(src, out_path, crops, cache_path=None, **kwargs):
        result = real(src, out_path, crops, cache_path=cache_path, **kwargs)
        calls.append((out_path, cache_path))
        for path in (out_path, cache_path):
            assert os.path.isfile(path) and ".partial-" in os.path.basename(path)
        assert any(".partial-" in name for name in os.listdir(bundle / "calibration"))   # the crop cache
        raise KeyboardInterrupt
    monkeypatch.setattr(ort_quant, "quantize_stage", quantise_then_stop)
    res = _build(tiny_checkpoint, bundle, "--precision", "int8", "--calib", calib_images, "--calib-images", "4")
    assert res.exit_code != 0 and len(calls) == 1, res.output
    assert _contents(bundle) == before and not _partials(bundle)
    assert not (bundle / "calibration").exists()


def _other_checkpoint(path):
    from pose_track.engines.checkpoint import save_checkpoint
    from pose_track.engines.model import build_stages
    from pose_track.training.settings import TINY, TrainConfig

    torch.manual_seed(1)
    cfg = TrainConfig.from_settings(TINY).model_config()
    save_checkpoint(str(path), cfg, [m.state_dict() for m in build_stages(cfg)], trained_stages=3)
    return str(path)


def _die_after_first_move(monkeypatch, bundle):
    """os.replace fails after moving one file into the bundle: what a crash between the moves leaves."""
    real, moved = os.replace, []

    def replace(src, dst, *args, **kwargs):
        if os.path.dirname(os.path.abspath(dst)) == str(bundle) and moved:
            raise OSError(errno.EIO, "Input/output error")
        real(src, dst, *args, **kwargs)
        moved.append(os.path.basename(dst))
    monkeypatch.setattr(os, "replace", replace)
    return moved


def test_a_crash_between_the_moves_never_leaves_the_old_manifest_over_other_engines(built, tiny_checkpoint,
                                                                                   tmp_path, monkeypatch):
    other = _other_checkpoint(tmp_path / "other.pt")
    bundle = _copy(built, tmp_path / "bundle")
    before = _contents(bundle)
    moved = _die_after_first_move(monkeypatch, bundle)
    refused_in_one_line(_build(other, bundle), exit_code=1)
    assert moved == ["stage1.onnx"] and _contents(bundle)["stage1.onnx"] != before["stage1.onnx"]
    assert not (bundle / "manifest.json").exists() and not _partials(bundle)

    # A rebuild of the same engines keeps the old manifest, which describes the new files as well.
    bundle = _copy(built, tmp_path / "same")
    moved = _die_after_first_move(monkeypatch, bundle)
    refused_in_one_line(_build(tiny_checkpoint, bundle), exit_code=1)
    assert moved == ["stage1.onnx"] and read_manifest(str(bundle)) == read_manifest(str(built))
    load_bundle(str(bundle), threads=1)


def test_a_rebuild_replaces_the_bundle_with_no_partial_file_left(built, tiny_checkpoint, tmp_path):
    other = _other_checkpoint(tmp_path / "other.pt")
    bundle = _copy(built, tmp_path / "bundle")
    res = _build(other, bundle)
    assert res.exit_code == 0, res.output
    assert read_manifest(str(bundle))["checkpoint_file"] == "other.pt" and not _partials(bundle)
    assert sorted(os.listdir(bundle)) == sorted([OWN_OUTPUTS, "manifest.json", "stage1.onnx", "stage2.onnx",
                                                 "stage3.onnx"])
    load_bundle(str(bundle), threads=1, checkpoint=other)


def test_an_out_folder_beneath_a_file_is_one_line(tiny_checkpoint, tmp_path):
    (tmp_path / "mine.csv").write_text("keep me")
    error = refused_in_one_line(_build(tiny_checkpoint, tmp_path / "mine.csv" / "sub"), exit_code=1)
    assert "cannot make the bundle folder" in error and "Not a directory" in error
    assert os.listdir(tmp_path) == ["mine.csv"] and (tmp_path / "mine.csv").read_text() == "keep me"


def test_an_out_folder_in_an_unwritable_folder_is_one_line_and_leaves_no_folder(tiny_checkpoint, tmp_path,
                                                                                monkeypatch):
    real = os.makedirs

    def makedirs(path, *args, **kwargs):          # as under a read-only folder, root or not
        real(tmp_path / "a")
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    monkeypatch.setattr(os, "makedirs", makedirs)
    error = refused_in_one_line(_build(tiny_checkpoint, tmp_path / "a" / "b" / "bundle"), exit_code=1)
    assert "cannot make the bundle folder" in error and "Permission denied" in error
    assert os.listdir(tmp_path) == []


def test_an_unwritable_bundle_folder_is_one_line(built, tiny_checkpoint, tmp_path, monkeypatch):
    bundle = _copy(built, tmp_path / "bundle")
    before = _contents(bundle)

    def refuse(net, path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", path)
    monkeypatch.setattr(export, "export_stage_onnx", refuse)
    error = refused_in_one_line(_build(tiny_checkpoint, bundle), exit_code=1)
    assert error == f"Error: cannot write the engine bundle {bundle}: Permission denied"
    assert _contents(bundle) == before


def test_an_export_that_differs_from_torch_names_the_bundle_file(built, tiny_checkpoint, tmp_path, monkeypatch):
    bundle = _copy(built, tmp_path / "bundle")
    before = _contents(bundle)
    strict = export.check_parity
    monkeypatch.setattr(export, "check_parity", lambda *args, **kwargs: strict(*args, **{**kwargs, "tol": -1.0}))
    error = refused_in_one_line(_build(tiny_checkpoint, bundle), exit_code=1)
    assert error.startswith("Error: stage1.onnx differs from torch") and "partial" not in error
    assert _contents(bundle) == before and not _partials(bundle)


def test_a_signal_during_the_moves_arrives_once_they_are_done():
    import signal
    import time

    from pose_track.engines.export import _signals_held

    steps = []
    with pytest.raises(KeyboardInterrupt):
        with _signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            steps.append("moved")
    assert steps == ["moved"]


def test_every_signal_held_during_the_moves_is_delivered_after_them():
    import signal
    import time

    from pose_track.engines.export import _signals_held

    terms = []
    before = signal.signal(signal.SIGTERM, lambda signum, frame: terms.append(signum))
    try:
        with pytest.raises(KeyboardInterrupt):
            with _signals_held():
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
                assert terms == []
        assert terms == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, before)
