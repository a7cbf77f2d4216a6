"""Engine bundles: a folder with one engine file per stage and `manifest.json`, which records what the engines
were built from (checkpoint sha256, model config, backend and its version, precision, input shapes, device).
Format version 2 writes the model config as its three parts (architecture, decoding, calibration); version 1
manifests, whose model config is one flat dict, still load.

Loading reads the manifest and refuses, in one line that says how to rebuild, an engine that does not match
this installation. No torch here: the shipped ONNX Runtime bundle runs without it.

Compatibility rules
- format: the manifest's format name and version must be the ones this pose-track writes.
- checkpoint: when a checkpoint is given, its sha256 must be the one the bundle was built from.
- onnxruntime: the ONNX files are portable over CPUs and GPUs; the installed onnxruntime must have the same
  major version and at least the minor version the bundle was built with (an older runtime may lack the
  opset or the quantised kernels the export used; a newer one reads older ONNX files).
- tensorrt: a plan is tied to its TensorRT version and GPU: the version, GPU name and compute capability
  must all be equal.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform

from .config import ModelConfig

FORMAT = "pose-track-engine"
FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)
MANIFEST = "manifest.json"
BACKENDS = ("onnxruntime", "tensorrt")
REBUILD = "rebuild it with `pose-track build-engine`"


# What every engine of a bundle returns, per batch item (stage 1 of a model with a person head adds the last two).
OUTPUT_SHAPES = {"coords": (14, 2), "spread": (14,), "presence": (), "inside": (14,)}


class BundleError(Exception):
    """An engine bundle that cannot be used here; the message is one line for the user."""


class BackendUnavailable(Exception):
    """A backend (or one of its devices) that is not installed here; the message says how to install it."""


def import_backend_package(package: str, backend: str, hint: str):
    """The backend's Python package, or BackendUnavailable in one line that says how to install it."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError:
        raise BackendUnavailable(f"the {backend} backend is not installed: {hint}") from None


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def manifest_path(path: str) -> str:
    return path if os.path.basename(path) == MANIFEST else os.path.join(path, MANIFEST)


def read_manifest(path: str) -> dict:
    mpath = manifest_path(path)
    if not os.path.isfile(mpath):
        if os.path.isfile(path):
            raise BundleError(f"{path} is a file, not an engine bundle folder (build one with `pose-track build-engine`)")
        raise BundleError(f"no engine bundle at {path} (no {MANIFEST}); build one with `pose-track build-engine`")
    try:
        with open(mpath) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as exc:
        raise BundleError(f"{mpath} is not a readable manifest ({type(exc).__name__}); {REBUILD}") from None
    check_file_format(manifest, FORMAT, "format_version", READABLE_FORMAT_VERSIONS, mpath, "engine manifest",
                      BundleError, REBUILD, version_name="engine format")
    return manifest


def check_file_format(doc, fmt: str, version_key: str, readable, name: str, what: str, error, fix: str = "",
                      version_name: str | None = None):
    """A model file's header (a checkpoint's, a bundle manifest's): a dict of format `fmt` whose version this
    pose-track reads; otherwise `error` with one line, ending with `fix`."""
    suffix = f"; {fix}" if fix else ""
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise error(f"{name} is not a pose-track {what}{suffix}")
    if doc.get(version_key) not in readable:
        raise error(f"{name} is {version_name or what} version {doc.get(version_key)}, this pose-track reads versions up to "
                    f"{max(readable)}{suffix}")


def _version_tuple(v: str) -> tuple:
    parts = []
    for p in str(v).split("+")[0].split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def check_versions(backend: str, built: str, installed: str, path: str):
    b, i = _version_tuple(built), _version_tuple(installed)
    if backend == "tensorrt":
        ok = b[:3] == i[:3]
    else:
        ok = b[:1] == i[:1] and i[:2] >= b[:2]
    if not ok:
        raise BundleError(f"{path} was built with {backend} {built}, this installation has {installed}; {REBUILD}")


def check_checkpoint(manifest: dict, checkpoint: str, path: str):
    if not os.path.isfile(checkpoint):
        raise BundleError(f"checkpoint not found: {checkpoint}")
    sha = file_sha256(checkpoint)
    if sha != manifest.get("checkpoint_sha256"):
        raise BundleError(f"{path} was built from another checkpoint (sha256 {str(manifest.get('checkpoint_sha256'))[:12]}, "
                          f"{os.path.basename(checkpoint)} is {sha[:12]}); {REBUILD}")


def stage_files(path: str, manifest: dict, key: str = "file") -> list:
    """The stage files the manifest lists: plain files inside the bundle's folder. A name with a folder in it, or
    a link, is refused: a bundle someone hands over must not make the tool read what lies elsewhere."""
    folder = os.path.dirname(manifest_path(path))
    stages = manifest.get("stages", [])
    if not isinstance(stages, list):
        raise BundleError(f"{path}: its manifest's stages are not a list; {REBUILD}")
    files = []
    for stage in stages:
        name = stage.get(key) if isinstance(stage, dict) else None
        if not isinstance(name, str) or name in ("", ".", "..") or os.path.basename(name) != name:
            raise BundleError(f"{path}: its manifest names a stage file {name!r}, not a file name in the bundle; "
                              f"{REBUILD}")
        f = os.path.join(folder, name)
        if os.path.islink(f):
            raise BundleError(f"{path}: {name} is a link; a bundle's stage files are its own files ({REBUILD})")
        if not os.path.isfile(f):
            raise BundleError(f"{path} is missing {name}; {REBUILD}")
        files.append(f)
    if not files:
        raise BundleError(f"{path} lists no stages; {REBUILD}")
    return files


def check_input_shapes(path: str, manifest: dict, config: ModelConfig, shapes) -> None:
    """Each stage's engine takes the crops the model config makes for it (stage 1: stage1_input, the refiners:
    refiner_input). Refuses a bundle whose engine files were swapped or whose manifest was edited at load
    time, instead of at its first frame. shapes: per stage, (channels, height, width), None where free."""
    arch = config.architecture
    for stage, (entry, shape) in enumerate(zip(manifest["stages"], shapes)):
        side = arch.stage1_input if stage == 0 else arch.refiner_input
        expected = (3, side, side)
        if len(shape) != 3 or any(got is not None and got != want for got, want in zip(shape, expected)):
            takes = "x".join("?" if d is None else str(d) for d in shape)
            raise BundleError(f"{path}: {entry.get('file')} (stage {stage + 1}) takes {takes} inputs, its model "
                              f"config makes {'x'.join(map(str, expected))} crops; {REBUILD}")


def load_bundle(path: str, backend: str | None = None, checkpoint: str | None = None, **options):
    """(backend object with run(stage, batch), ModelConfig, manifest) for the bundle at `path`.

    backend: None = the one the bundle was built for. options go to the backend (onnxruntime: device,
    threads, io_binding, spinning; tensorrt: verbose).
    """
    manifest = read_manifest(path)
    built_for = manifest.get("backend")
    if built_for not in BACKENDS:
        raise BundleError(f"{path} was built for an unknown backend {built_for!r}; {REBUILD}")
    name = backend or built_for
    if name != built_for:
        raise BundleError(f"{path} is a {built_for} bundle, not {name}; build a {name} one with "
                          f"`pose-track build-engine --backend {name}`")
    if checkpoint is not None:
        check_checkpoint(manifest, checkpoint, path)
    try:
        config = ModelConfig.from_dict(manifest["model_config"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"{path} has an unreadable model config ({type(exc).__name__}: {exc}); {REBUILD}") from None

    try:
        if name == "onnxruntime":
            from .onnxruntime_backend import OnnxRuntimeBackend, runtime_version
            check_versions(name, manifest.get("backend_version", "?"), runtime_version(), path)
            runner = OnnxRuntimeBackend(stage_files(path, manifest), **options)
        else:
            from .tensorrt_backend import TensorRTBackend, device_info, runtime_version
            check_versions(name, manifest.get("backend_version", "?"), runtime_version(), path)
            here, built = device_info(), manifest.get("device", {})
            if (here.get("name"), here.get("compute_capability")) != (built.get("name"), built.get("compute_capability")):
                raise BundleError(f"{path} was built for the GPU {built.get('name')} (sm {built.get('compute_capability')}), "
                                  f"this one is {here.get('name')} (sm {here.get('compute_capability')}); {REBUILD}")
            runner = TensorRTBackend(stage_files(path, manifest), **options)
    except BackendUnavailable as exc:
        raise BundleError(str(exc)) from None
    check_input_shapes(path, manifest, config, runner.input_shapes())
    runner.config, runner.manifest = config, manifest
    return runner, config, manifest
