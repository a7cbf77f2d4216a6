"""The `build-engine` command, and the one-line errors of the commands that run torch."""
from __future__ import annotations

import importlib.util
import os
import sys

import click

from pose_track.engines.backends import DEFAULT_CHECKPOINT, TORCH_HINT
from pose_track.engines.config import parse_sizes
from pose_track.engines.outputs import (check_outputs, folders_to_make, note_own_output, refuse_replacing_others,
                                        remove_if_empty)

from .model import MAX_THREADS


def _missing(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is None
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def require_train_extra(command: str, modules=("torch", "onnx")) -> None:
    """A one-line ClickException naming the extra to install when one of `modules` (all in the train extra)
    cannot be imported. Looks the modules up without importing them."""
    missing = [m for m in modules if _missing(m)]
    if missing:
        raise click.ClickException(f"{command} needs {' and '.join(missing)} (not installed): {TORCH_HINT}")


def _errors():
    """The one-line exceptions of the engines and calibration packages, turned into ClickException."""
    from pose_track.calibration.reader import CalibrationError
    from pose_track.engines.bundle import BundleError
    from pose_track.engines.checkpoint import CheckpointError
    from pose_track.engines.export import ExportError
    from pose_track.engines.bundle import BackendUnavailable

    return (BundleError, CheckpointError, ExportError, BackendUnavailable, CalibrationError)


@click.command("build-engine")
@click.argument("checkpoint", required=False, type=click.Path(dir_okay=False))
@click.option("--backend", type=click.Choice(["onnxruntime", "tensorrt"]), default="onnxruntime", show_default=True,
              help="onnxruntime: CPU (and CUDA providers); tensorrt: native TensorRT plans for this GPU.")
@click.option("--precision", type=click.Choice(["fp32", "fp16", "int8"]), default="fp32", show_default=True,
              help="fp16 is TensorRT only; int8 calibrates on --calib.")
@click.option("--calib", type=click.Path(exists=True), default=None,
              help="Image folder or video for INT8 calibration (the cascade's own crops of its frames).")
@click.option("--calib-images", default=64, show_default=True, type=click.IntRange(min=1),
              help="Frames used for calibration.")
@click.option("--calib-method", type=click.Choice(["minmax", "entropy", "percentile"]), default="minmax",
              show_default=True, help="ONNX Runtime INT8 range method (TensorRT always uses entropy).")
@click.option("--threads", type=click.IntRange(min=1, max=MAX_THREADS), default=None,
              help="ONNX Runtime threads for checks and calibration.")
@click.option("--workspace-mb", type=click.IntRange(min=1), default=1024, show_default=True,
              help="TensorRT builder workspace.")
@click.option("--int8-stages", default=None,
              help="ONNX Runtime int8: the stages to quantise, e.g. '1' (the rest stay fp32). Default: all.")
@click.option("--flip-average/--no-flip-average", "stage1_flip", default=None,
              help="Stage 1 averages its heatmaps with the mirrored crop's (default: as the checkpoint says; "
                   "--no-flip-average halves stage 1's cost).")
@click.option("--scales", default=None,
              help="With the mirror view: more stage-1 input sizes, e.g. '224,160' (each with its mirror; heatmaps "
                   "averaged; 'none' for the main size only). Default: as the checkpoint says.")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Engine bundle folder to write.")
def build_engine(checkpoint, backend, precision, calib, calib_images, calib_method, threads, workspace_mb,
                 int8_stages, stage1_flip, scales, out):
    """Export CHECKPOINT (default: the shipped one) to an engine bundle: one engine per stage + manifest.json."""
    checkpoint = checkpoint or DEFAULT_CHECKPOINT
    if not os.path.isfile(checkpoint):
        raise click.ClickException(f"checkpoint not found: {checkpoint}")
    check_outputs([("--out", os.path.join(out, ""))], inputs=[checkpoint, calib])
    require_train_extra("build-engine")
    from pose_track.engines.export import bundle_files, export_bundle

    if precision == "int8" and calib is None and not os.path.isdir(os.path.join(out, "calibration")):
        raise click.UsageError("--precision int8 needs --calib (an image folder or a video)")
    try:
        stages = None if int8_stages is None else {int(v) for v in int8_stages.split(",") if v.strip()}
        if stages is not None and (not stages or min(stages) < 1):
            raise ValueError
    except ValueError:
        raise click.UsageError(f"--int8-stages takes stage numbers like '1' or '1,2', not {int8_stages!r}")
    try:
        sizes = None if scales is None else parse_sizes(scales)
    except ValueError as exc:
        raise click.UsageError(str(exc))
    try:
        written = bundle_files(checkpoint, out, precision=precision, calib=calib, backend=backend,
                               calib_images=calib_images, calib_method=calib_method, int8_stages=stages,
                               stage1_flip=stage1_flip, stage1_scales=sizes)
    except _errors() as exc:
        raise click.ClickException(str(exc))
    refuse_replacing_others([("--out", p) for p in written])
    made = folders_to_make(out)
    try:
        path = export_bundle(checkpoint, out, precision=precision, calib=calib, backend=backend,
                             calib_images=calib_images, calib_method=calib_method, threads=threads,
                             int8_stages=stages, stage1_flip=stage1_flip, stage1_scales=sizes,
                             workspace_bytes=workspace_mb << 20, log=lambda m: click.echo(m, err=True))
    except _errors() as exc:
        remove_if_empty(made)               # nothing built: no folder left behind
        raise click.ClickException(str(exc))
    finally:
        # Also after a failed build: every file of `written` there now is this build's or was pose-track's.
        for p in written:
            if os.path.isfile(p):
                note_own_output(p)
    click.echo(f"engine bundle: {path}")
