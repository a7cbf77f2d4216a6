"""Pick a backend and make a cascade from an engine bundle.

    load_cascade()                         the shipped model on ONNX Runtime, CPU (no torch imported)
    load_cascade(stills=True)              the same with stage 1's mirror view (still images: slower, more accurate)
    load_cascade("engines/int8")           a built bundle, on the backend it was built for

Every backend object has `run(stage, batch) -> (coords, spread[, presence, inside])`, `.config` (ModelConfig)
and `.manifest` (the bundle's manifest, None for a checkpoint run by torch). A checkpoint file runs on the torch
backend, which comes with the network definition (`engines.torch_backend.load_any_cascade`, the train extra).
"""
from __future__ import annotations

import os

from .bundle import BundleError, load_bundle, read_manifest
from .cascade import Cascade

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL_DIR = os.path.join(REPO, "models", "deeppose_lsp")
DEFAULT_CHECKPOINT = os.path.join(DEFAULT_MODEL_DIR, "checkpoint.pt")
DEFAULT_BUNDLE = os.path.join(DEFAULT_MODEL_DIR, "onnx")
STILLS_BUNDLE = os.path.join(DEFAULT_MODEL_DIR, "onnx_mirror")   # the default of `images` and `eval`
BACKENDS = ("onnxruntime", "tensorrt", "torch")
TORCH_HINT = "pip install 'pose-track[train]'"
OPTIONS = {"onnxruntime": ("device", "threads", "io_binding", "spinning"), "tensorrt": ("verbose",),
           "torch": ("device", "half", "cuda_graphs", "threads")}
# Harmless when given to every backend alike: option -> the value dropped (None: any). TensorRT runs on the GPU.
IGNORED = {"tensorrt": {"threads": None, "device": "cuda"}}
TORCH_ONLY = ("half", "cuda_graphs")


def backend_options(name: str, options: dict) -> dict:
    ignored = IGNORED.get(name, {})
    options = {k: v for k, v in options.items()
               if v is not None and not (k in ignored and ignored[k] in (None, v))}
    bad = [k for k in options if k not in OPTIONS[name]]
    if bad and all(k in TORCH_ONLY for k in bad):
        raise BundleError(f"--{bad[0].replace('_', '-')} is for a torch checkpoint (--engine FILE.pt); this {name} "
                          "bundle does not take it")
    if bad:
        raise BundleError(f"the {name} backend takes no {', '.join(k.replace('_', '-') for k in bad)} option "
                          f"(it takes: {', '.join(OPTIONS[name]) or 'none'})")
    return options


def is_checkpoint(path: str) -> bool:
    return os.path.isfile(path) and not path.endswith(".json")


def make_backend(name: str | None, bundle: str, checkpoint: str | None = None, **options):
    """A backend over a bundle folder (onnxruntime, tensorrt).

    name None: the bundle's own backend. options go to the backend: onnxruntime: device (cpu|cuda|tensorrt),
    threads, io_binding, spinning; tensorrt: verbose. checkpoint: verify that the bundle was built from this file.
    """
    if name is not None and name not in BACKENDS:
        raise BundleError(f"unknown backend {name!r} ({', '.join(BACKENDS)})")
    if is_checkpoint(bundle):
        raise BundleError(f"{bundle} is a checkpoint: build a {name or 'onnxruntime'} engine from it with "
                          f"`pose-track build-engine --backend {name or 'onnxruntime'}`, or run it with the torch "
                          "backend")
    if name == "torch":
        raise BundleError(f"the torch backend runs a checkpoint file, not the bundle {bundle}")
    effective = name or read_manifest(bundle).get("backend")
    if effective in OPTIONS:
        options = backend_options(effective, options)
    runner, _, _ = load_bundle(bundle, backend=name, checkpoint=checkpoint, **options)
    return runner


def load_cascade(engine_path: str | None = None, backend: str | None = None, stills: bool = False,
                 **options) -> Cascade:
    """A Cascade over an engine bundle. Default: the shipped ONNX Runtime bundle; with
    `stills`, its mirror-view build (stage 1 at twice the cost, for still images, where time matters less)."""
    if engine_path is not None and not os.path.exists(engine_path):
        raise BundleError(f"{engine_path}: no such file or folder")
    path = engine_path or (STILLS_BUNDLE if stills else DEFAULT_BUNDLE)
    if engine_path is None and not os.path.isdir(path):
        flag = "--flip-average" if stills else "--no-flip-average"
        raise BundleError(f"the shipped model is missing ({path}); build it with `pose-track build-engine "
                          f"{DEFAULT_CHECKPOINT} {flag} -o {path}` or pass --engine")
    runner = make_backend(backend, path, **options)
    stages = len(runner.manifest["stages"]) if runner.manifest else None
    return Cascade(runner, runner.config, stages=stages)
