"""Build an engine bundle from a checkpoint: ONNX export of every stage, a numerical check of each export
against torch, optional INT8 calibration, optional TensorRT plans, and `manifest.json`.

    export_bundle(checkpoint, out_dir)                                   ONNX Runtime, fp32
    export_bundle(checkpoint, out_dir, precision="int8", calib=DIR)      ONNX Runtime, static INT8 (QDQ)
    export_bundle(checkpoint, out_dir, backend="tensorrt", precision="fp16")

Bundle layout: stage<k>.onnx (ONNX Runtime) or stage<k>.plan + stage<k>.onnx (TensorRT), manifest.json, and
calibration/ (tensor-range caches and the crop cache, reused when the same folder is rebuilt).
"""
from __future__ import annotations

import contextlib
import datetime
import glob
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading

import numpy as np

from .bundle import FORMAT, FORMAT_VERSION, MANIFEST, cpu_name
from .outputs import folders_to_make, partial_path, remove_if_empty

OPSET = 17
PARITY_TOL = 1e-3                 # max abs difference of coords (crop-normalised units) vs torch
PRECISIONS = {"onnxruntime": ("fp32", "int8"), "tensorrt": ("fp32", "fp16", "int8")}
INPUT_NAME, OUTPUT_NAMES, PERSON_OUTPUTS = "image", ("coords", "spread"), ("presence", "inside")
CALIB_IMAGES = 64


class ExportError(Exception):
    """An export that cannot be done or does not check out; the message is one line for the user."""


def _log_default(msg: str):
    pass


def stage_batches(stage: int):
    """(min, opt, max) of the dynamic batch: person crops for stage 1, 14 joint crops per person after."""
    from .tensorrt_backend import REFINER_BATCH, STAGE1_BATCH
    return STAGE1_BATCH if stage == 0 else REFINER_BATCH


def output_names(net) -> tuple:
    """coords and spread; a stage 1 with a person head adds presence and inside."""
    return OUTPUT_NAMES + (PERSON_OUTPUTS if getattr(net, "person", None) is not None else ())


def export_stage_onnx(net, path: str, size: int, opset: int = OPSET):
    """One stage to ONNX with a dynamic batch (legacy TorchScript exporter: a plain, small graph)."""
    import torch
    import warnings

    net = net.eval()
    x = torch.rand(2, 3, size, size) * 255.0
    names = list(output_names(net))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), path, input_names=[INPUT_NAME], output_names=names,
                          dynamic_axes={INPUT_NAME: {0: "batch"}, **{n: {0: "batch"} for n in names}},
                          opset_version=opset, do_constant_folding=True, dynamo=False)
    return path


def check_parity(net, onnx_path: str, size: int, batch_sizes, seed: int = 0, tol: float = PARITY_TOL,
                 label: str | None = None) -> dict:
    """Max abs difference between torch and ONNX Runtime (CPU, fp32) on random 0-255 input. label: the file
    in messages (default: onnx_path's name)."""
    import torch
    from .onnxruntime_backend import OnnxRuntimeBackend

    runner = OnnxRuntimeBackend([onnx_path], threads=1)
    gen = torch.Generator().manual_seed(seed)
    names = output_names(net)
    worst = dict.fromkeys(names, 0.0)
    for b in batch_sizes:
        x = torch.rand(b, 3, size, size, generator=gen) * 255.0
        with torch.inference_mode():
            expected = net(x)
        for name, got, want in zip(names, runner.run(0, x.numpy()), expected):
            worst[name] = max(worst[name], float(np.abs(got - want.numpy()).max()))
    for name in ("coords",) + PERSON_OUTPUTS:
        if name in worst and not worst[name] <= tol:
            raise ExportError(f"{label or os.path.basename(onnx_path)} differs from torch by {worst[name]:.2e} "
                              f"(> {tol:g}) in {name}; the export is wrong")
    return {**{f"{n}_max_abs_diff": v for n, v in worst.items()}, "batch_sizes": list(batch_sizes)}


def _compare(a_backend, b_backend, crops_per_stage, limit: int = 256) -> list:
    """Per stage, mean and max abs coordinate difference of two backends on calibration crops."""
    out = []
    for s, crops in enumerate(crops_per_stage):
        x = crops[:limit].astype(np.float32)
        a, b = a_backend.run(s, x), b_backend.run(s, x)
        d = np.abs(a[0] - b[0])
        entry = {"coords_mean_abs_diff": float(d.mean()), "coords_max_abs_diff": float(d.max()), "crops": len(x)}
        for name, pa, pb in zip(PERSON_OUTPUTS, a[2:], b[2:]):
            entry[f"{name}_max_abs_diff"] = float(np.abs(pa - pb).max())
        out.append(entry)
    return out


def export_bundle(checkpoint_path: str, out_dir: str, precision: str = "fp32", calib: str | None = None,
                  backend: str = "onnxruntime", *, calib_images: int = CALIB_IMAGES, calib_method: str = "minmax",
                  stages: int | None = None, workspace_bytes: int | None = None, threads: int | None = None,
                  int8_stages=None, stage1_flip: bool | None = None, stage1_scales=None, log=None) -> str:
    """Export the checkpoint's stages into the bundle folder out_dir; returns out_dir.

    precision: fp32 | int8 (onnxruntime), fp32 | fp16 | int8 (tensorrt). INT8 calibrates on `calib`, an image
    folder or a video (the cascade's own crops of up to calib_images frames); when calib is None an existing
    calibration cache in out_dir/calibration is reused. stages: export only the first k stages.
    threads: ONNX Runtime threads for the checks and the calibration (None = all cores).
    int8_stages: with onnxruntime int8, the stage numbers to quantise (None = all); the others stay fp32.
    stage1_flip: override the checkpoint's stage-1 flip averaging in this bundle (False: half the stage-1 cost).
    stage1_scales: override the extra stage-1 input sizes of the flip averaging (a tuple; () for none).

    Every file is written under a partial name and moved into place once all are complete, manifest.json
    last: a bundle already in out_dir stays whole and loadable until the new one replaces it, and a build
    that fails or is interrupted leaves it as it was, with no partial file and no folder it made.
    """
    log = log or _log_default
    if backend not in PRECISIONS:
        raise ExportError(f"unknown backend {backend!r} (onnxruntime or tensorrt)")
    if precision not in PRECISIONS[backend]:
        hint = " (fp16 is for GPUs: use --backend tensorrt)" if precision == "fp16" else ""
        raise ExportError(f"{backend} bundles come in {' or '.join(PRECISIONS[backend])}, not {precision}{hint}")
    if calib is not None and not os.path.exists(calib):
        raise ExportError(f"calibration source not found: {calib}")
    if backend == "tensorrt":              # fail before any work when TensorRT or the GPU is missing
        from .tensorrt_backend import device_info, import_tensorrt
        import_tensorrt()
        device_info()

    staging = _Staging()
    try:
        staging.make_folder(out_dir)
    except OSError as exc:
        raise ExportError(f"cannot make the bundle folder {out_dir}: {exc.strerror or exc}") from None
    try:
        _export(staging, checkpoint_path, out_dir, precision, calib, backend, calib_images, calib_method, stages,
                workspace_bytes, threads, int8_stages, stage1_flip, stage1_scales, log)
    except BaseException as exc:
        with _signals_held():
            staging.discard()
        if isinstance(exc, OSError):
            raise ExportError(_os_error_message(exc, out_dir)) from None
        raise
    log(f"wrote {out_dir}")
    return out_dir


def _os_error_message(exc: OSError, out_dir: str) -> str:
    name, folder = exc.filename, os.path.abspath(out_dir)
    if name is None or os.path.commonpath([os.path.abspath(str(name)), folder]) == folder:
        return f"cannot write the engine bundle {out_dir}: {exc.strerror or exc}"
    return f"cannot build the engine bundle {out_dir}: {name}: {exc.strerror or exc}"


class _Staging:
    """The files of one build: each written under partial_path(final), all moved into place by commit(), in
    the order they were asked for (the manifest is asked for last). discard() removes what was not moved and
    the folders made for the build that are still empty."""

    def __init__(self):
        self.moves = []            # (partial, final)
        self.folders = []          # made for this build, deepest first

    def path(self, final: str) -> str:
        partial = partial_path(final)
        self.moves.append((partial, final))
        return partial

    def make_folder(self, folder: str):
        missing = folders_to_make(folder)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            remove_if_empty([f for f in missing if os.path.isdir(f)])     # it may have made the upper ones
            raise
        self.folders = missing + self.folders

    def commit(self, out_dir: str, manifest_text: str):
        """Move every file into place; SIGINT, SIGTERM and SIGHUP wait until they all are."""
        with _signals_held():
            _drop_outdated_manifest(out_dir, json.loads(manifest_text), [final for _, final in self.moves])
            while self.moves:
                partial, final = self.moves[0]
                os.replace(partial, final)
                self.moves.pop(0)

    def discard(self):
        for partial, _ in self.moves:
            # The writers' own temporaries beside it too (build_plan's <partial>.tmp, cached_crops'
            # <partial>.tmp.npz).
            for leftover in [partial] + glob.glob(glob.escape(partial) + ".*"):
                try:
                    os.remove(leftover)
                except FileNotFoundError:
                    pass
        self.moves = []
        remove_if_empty(self.folders)


@contextlib.contextmanager
def _signals_held():
    """SIGINT, SIGTERM and SIGHUP that arrive in the block are delivered when it ends. Their Python handlers are
    replaced for the block (a signal mask would hold them for the calling thread only: numpy's, torch's or ONNX
    Runtime's threads would still take them, and Python would then raise in the block)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived, previous = [], {}
    try:
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None and signal.getsignal(signum) is not None:    # None: a handler set from C
                previous[signum] = signal.signal(signum, lambda s, frame: arrived.append(s))
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        first = None
        for signum in dict.fromkeys(arrived):       # each once, in the order they came
            try:
                signal.raise_signal(signum)
            except BaseException as exc:  # noqa: BLE001 - every signal is delivered; the first one's error wins
                first = first or exc
        if first is not None:
            raise first


def _drop_outdated_manifest(out_dir: str, new: dict, finals):
    """Remove out_dir's manifest when the files about to replace some of those it lists were built otherwise
    (another checkpoint, config or runtime): should the process die between the moves, the folder must not
    hold that manifest over engines it does not describe. One that describes the new build as well stays."""
    path = os.path.join(out_dir, MANIFEST)
    try:
        with open(path) as f:
            old = json.load(f)
        listed = {stage.get(key) for stage in old["stages"] for key in ("file", "onnx")}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return                  # no bundle there to keep consistent
    replaced = {os.path.basename(f) for f in finals if os.path.exists(f)}
    if not listed & replaced:
        return
    old, new = dict(old), dict(new)
    old.pop("created", None)
    new.pop("created", None)
    if old != new:
        os.remove(path)


def _export(staging, checkpoint_path, out_dir, precision, calib, backend, calib_images, calib_method, stages,
            workspace_bytes, threads, int8_stages, stage1_flip, stage1_scales, log):
    import torch

    from .bundle import file_sha256
    from .checkpoint import build_model, load_checkpoint

    payload = load_checkpoint(checkpoint_path)
    cfg = _with_views(payload["config"], stage1_flip, stage1_scales)
    sha = file_sha256(checkpoint_path)
    arch = cfg.architecture
    n_stages = arch.num_stages if stages is None else max(1, min(stages, arch.num_stages))
    if int8_stages is not None and not set(int8_stages) <= set(range(1, n_stages + 1)):
        raise ExportError(f"--int8-stages {','.join(map(str, sorted(int8_stages)))}: the model has stages 1 to "
                          f"{n_stages}")
    model = build_model(payload)
    calib_dir = os.path.join(out_dir, "calibration")
    if os.path.islink(calib_dir):       # its caches are written there: not through a link to somewhere else
        raise ExportError(f"{calib_dir} is a link: a bundle's calibration folder is its own (remove the link)")
    sizes = [arch.stage1_input] + [arch.refiner_input] * (n_stages - 1)

    # 1. fp32 ONNX per stage, each checked against torch.
    keep_onnx = precision == "fp32" or backend == "tensorrt"
    onnx_dir = out_dir if keep_onnx else tempfile.mkdtemp(prefix="pose-track-fp32.", dir=out_dir)
    onnx_files, parity, stage_outputs = [], [], []
    try:
        for s in range(n_stages):
            name = f"stage{s + 1}.onnx"
            path = os.path.join(onnx_dir, name)
            if keep_onnx:
                path = staging.path(path)
            log(f"exporting stage {s + 1} to ONNX (opset {OPSET}, input {sizes[s]} px, dynamic batch)")
            export_stage_onnx(model[s], path, sizes[s])
            stage_outputs.append(list(output_names(model[s])))
            lo, opt, hi = stage_batches(s)
            parity.append(check_parity(model[s], path, sizes[s], sorted({lo, opt, min(hi, 2 * opt)}),
                                       label=name))
            log(f"stage {s + 1}: max |onnx - torch| = {parity[-1]['coords_max_abs_diff']:.1e} (coords)")
            onnx_files.append(path)
        del model

        calibration = None
        crops = None
        if precision == "int8":
            staging.make_folder(calib_dir)
            crops, calibration = _calibration_crops(onnx_files, cfg, calib, calib_images, calib_dir, sha, n_stages,
                                                    backend, calib_method, threads, log, staging)

        def cache_path(s):
            """Stage s's range cache: read where it exists, else written under a partial name."""
            cache = os.path.join(calib_dir, calibration["range_caches"][s])
            return cache if os.path.isfile(cache) else staging.path(cache)

        # 2. the engines.
        if backend == "onnxruntime":
            files = [f"stage{s + 1}.onnx" for s in range(n_stages)]
            if precision == "int8":
                from pose_track.calibration.ort_quant import quantize_stage
                from .onnxruntime_backend import OnnxRuntimeBackend

                files, quant, engines = [], [], []
                for s, src in enumerate(onnx_files):
                    name = engine_file(s + 1, precision, backend, int8_stages)
                    files.append(name)
                    engines.append(staging.path(os.path.join(out_dir, name)))
                    if int8_stages is not None and s + 1 not in int8_stages:
                        shutil.copyfile(src, engines[-1])
                        quant.append({"precision": "fp32"})
                        log(f"stage {s + 1} stays fp32")
                        continue
                    cache = cache_path(s)
                    log(f"quantising stage {s + 1} to INT8 (QDQ, per-channel, {calib_method} ranges"
                        f"{', cached' if os.path.isfile(cache) else ''})")
                    try:
                        quant.append(quantize_stage(src, engines[-1], None if crops is None else crops[s],
                                                    cache_path=cache, method=calib_method))
                    except ValueError as exc:       # ONNX Runtime's quantiser on ranges that do not fit the graph
                        raise ExportError(f"stage {s + 1} could not be quantised: {str(exc).splitlines()[0]} "
                                          f"(remove {calib_dir} and give --calib to measure new ranges)") from None
                calibration["stages"] = quant
                if crops is not None:
                    fp32 = OnnxRuntimeBackend(onnx_files, threads=threads)
                    int8 = OnnxRuntimeBackend(engines, threads=threads)
                    calibration["int8_vs_fp32"] = _compare(fp32, int8, crops)
            stage_entries = [{"file": f} for f in files]
            from .onnxruntime_backend import runtime_version
            version, device = runtime_version(), {"type": "cpu", "name": cpu_name(),
                                                  "note": "ONNX files run on any CPU (and on CUDA providers)"}
        else:
            from .tensorrt_backend import build_plan, device_info, runtime_version
            version, device = runtime_version(), device_info()
            stage_entries = []
            for s, src in enumerate(onnx_files):
                name = engine_file(s + 1, precision, backend, int8_stages)
                plan = staging.path(os.path.join(out_dir, name))
                calibrator = calib_batch = None
                if precision == "int8":
                    from pose_track.calibration.trt_calibrator import calibration_batch_size, make_entropy_calibrator
                    stage_crops = None if crops is None else crops[s]
                    calib_batch = calibration_batch_size(len(stage_crops) if stage_crops is not None else 1,
                                                         stage_batches(s)[1])
                    calibrator = make_entropy_calibrator(stage_crops, cache_path(s), calib_batch, log=log)
                log(f"building TensorRT {precision} plan for stage {s + 1}")
                build_plan(src, plan, precision, stage_batches(s),
                           workspace_bytes=workspace_bytes or (1 << 30), calibrator=calibrator, calib_batch=calib_batch)
                stage_entries.append({"file": name, "onnx": f"stage{s + 1}.onnx"})
    finally:
        if not keep_onnx:
            shutil.rmtree(onnx_dir, ignore_errors=True)

    for s, entry in enumerate(stage_entries):
        lo, opt, hi = stage_batches(s)
        entry.update({"kind": "stage1" if s == 0 else "refiner", "input": INPUT_NAME, "outputs": stage_outputs[s],
                      "input_shape": ["batch", 3, sizes[s], sizes[s]], "dtype": "float32 RGB 0-255",
                      "batch": {"min": lo, "opt": opt, "max": hi}, "parity_vs_torch": parity[s]})
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "backend": backend, "backend_version": version, "precision": precision,
        "device": device,
        "checkpoint_sha256": sha, "checkpoint_file": os.path.basename(checkpoint_path),
        "trained_stages": int(payload.get("trained_stages", n_stages)),
        "model_config": cfg.to_dict(),
        "stages": stage_entries,
        "opset": OPSET,
        "exported_with": {"torch": torch.__version__},
        "calibration": calibration,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    text = json.dumps(manifest, indent=1, sort_keys=False) + "\n"
    with open(staging.path(os.path.join(out_dir, MANIFEST)), "w") as f:
        f.write(text)
    staging.commit(out_dir, text)


def engine_file(k: int, precision: str, backend: str, int8_stages=None) -> str:
    """The name of stage k's engine in a bundle: stage<k>.onnx, stage<k>.int8.onnx (INT8 on ONNX Runtime, for the
    stages `int8_stages` names, default all) or stage<k>.<precision>.plan (TensorRT)."""
    if backend == "tensorrt":
        return f"stage{k}.{precision}.plan"
    if precision == "int8" and (int8_stages is None or k in int8_stages):
        return f"stage{k}.int8.onnx"
    return f"stage{k}.onnx"


def bundle_files(checkpoint_path: str, out_dir: str, precision: str = "fp32", calib: str | None = None,
                 backend: str = "onnxruntime", *, calib_images: int = CALIB_IMAGES, calib_method: str = "minmax",
                 stages: int | None = None, int8_stages=None, stage1_flip: bool | None = None,
                 stage1_scales=None) -> list:
    """The files export_bundle with these arguments writes into out_dir, with the calibration caches it writes
    or reuses in out_dir/calibration: what a command checks before the build (engines.outputs) and lists after.
    Reads the checkpoint; raises CheckpointError or ExportError (INT8 without calibration data) as the build would."""
    from .bundle import file_sha256
    from .checkpoint import load_checkpoint

    cfg = _with_views(load_checkpoint(checkpoint_path)["config"], stage1_flip, stage1_scales)
    arch = cfg.architecture
    n_stages = arch.num_stages if stages is None else max(1, min(stages, arch.num_stages))
    names = [MANIFEST]
    for k in range(1, n_stages + 1):
        if backend == "tensorrt":
            names.append(f"stage{k}.onnx")          # the plan's source, kept beside it
        names.append(engine_file(k, precision, backend, int8_stages))
    files = [os.path.join(out_dir, name) for name in names]
    if precision == "int8":
        calib_dir = os.path.join(out_dir, "calibration")
        _, key, caches = _calibration_names(calib_dir, file_sha256(checkpoint_path), _views_tag(cfg.decoding), calib,
                                            calib_images, n_stages, backend, calib_method)
        files += [os.path.join(calib_dir, name) for name in caches + [f"crops-{key}.npz"]]
    return files


def _with_views(cfg, stage1_flip: bool | None, stage1_scales):
    """The checkpoint's config with the stage-1 views a build asks for (None: the checkpoint's own)."""
    if stage1_flip is not None:
        cfg.decoding.stage1_flip = stage1_flip
    if stage1_scales is not None:
        cfg.decoding.stage1_scales = tuple(int(v) for v in stage1_scales)
    return cfg


def _views_tag(decoding) -> str:
    """A short name for the views the exported stage 1 reads (mirror, input sizes): its graph, and so the ranges
    a calibration measured on it, change with them."""
    views = json.dumps([bool(decoding.stage1_flip), [int(v) for v in decoding.stage1_scales]])
    return hashlib.sha256(views.encode()).hexdigest()[:6]


def _calibration_names(calib_dir, sha, views, calib, calib_images, n_stages, backend, method) -> tuple:
    """(method, key, the range cache of each stage) of the calibration in calib_dir, for the checkpoint `sha`
    exported with stage 1 reading `views` (`_views_tag`)."""
    from pose_track.calibration.reader import source_fingerprint

    kind = "ort" if backend == "onnxruntime" else "trt"
    if kind == "trt":
        method = "entropy2"               # TensorRT's IInt8EntropyCalibrator2, whatever --calib-method says
    ext = "json" if kind == "ort" else "cache"
    model = f"{sha[:12]}-{views}"
    key = model if calib is None else f"{model}-{source_fingerprint(calib, calib_images)}"
    # With no source given, reuse the newest matching caches of this checkpoint and views.
    if calib is None:
        found = sorted((f for f in os.listdir(calib_dir) if f.startswith(f"{kind}-{method}-stage1-{model}")
                        and ".partial-" not in f)
                       if os.path.isdir(calib_dir) else [],
                       key=lambda f: os.path.getmtime(os.path.join(calib_dir, f)))
        if not found:
            raise ExportError("INT8 needs calibration data: give --calib with an image folder or a video")
        key = found[-1][len(f"{kind}-{method}-stage1-"):-len(ext) - 1]
    return method, key, [f"{kind}-{method}-stage{s + 1}-{key}.{ext}" for s in range(n_stages)]


def _calibration_crops(onnx_files, cfg, calib, calib_images, calib_dir, sha, n_stages, backend, method, threads,
                       log, staging):
    """The crops per stage (None when every range cache already exists), and the calibration manifest entry.
    A crop cache made here is written under staging's partial name."""
    from pose_track.calibration.reader import cached_crops, collect_crops
    from .onnxruntime_backend import OnnxRuntimeBackend

    method, key, caches = _calibration_names(calib_dir, sha, _views_tag(cfg.decoding), calib, calib_images,
                                             n_stages, backend, method)
    entry = {"source": None if calib is None else os.path.abspath(calib),
             "images": None if calib is None else calib_images,      # reused ranges: made from another build's
             "method": method, "range_caches": caches, "key": key}
    crop_file = os.path.join(calib_dir, f"crops-{key}.npz")
    if all(os.path.isfile(os.path.join(calib_dir, c)) for c in caches):
        log(f"calibration: reusing the range caches in {calib_dir}")
        crops = cached_crops(crop_file, None) if os.path.isfile(crop_file) else None   # for the int8-vs-fp32 check
        if crops is not None:
            entry["crops_per_stage"] = [int(len(c)) for c in crops]
        return crops, entry
    if calib is None:
        raise ExportError(f"the calibration caches in {calib_dir} are incomplete: give --calib")
    fp32 = OnnxRuntimeBackend(onnx_files, threads=threads)
    log(f"calibration: collecting the cascade's crops on up to {calib_images} frames of {calib}")
    crops = cached_crops(crop_file if os.path.isfile(crop_file) else staging.path(crop_file),
                         lambda: collect_crops(calib, fp32, cfg, calib_images, stages=n_stages))
    entry["crops_per_stage"] = [int(len(c)) for c in crops]
    return crops, entry
