"""Run the stages with ONNX Runtime: CPU execution provider by default, CUDA / TensorRT providers when installed.

No torch here. One InferenceSession per stage; every session takes a float32 NCHW RGB 0-255 batch named
`image` and returns `coords` (B, 14, 2) and `spread` (B, 14); stage 1 of a model with a person head also
`presence` (B,) and `inside` (B, 14).
"""
from __future__ import annotations

import numpy as np

from .bundle import OUTPUT_SHAPES, BackendUnavailable, BundleError, import_backend_package

INSTALL_HINT = "pip install onnxruntime (or onnxruntime-gpu for the CUDA and TensorRT providers)"

# Short device names -> ONNX Runtime execution providers, in order of preference.
PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


def import_onnxruntime():
    return import_backend_package("onnxruntime", "onnxruntime", INSTALL_HINT)


def runtime_version() -> str:
    return import_onnxruntime().__version__


_shared_pool = {"made": False}


def shared_thread_pool() -> bool:
    """Make the process's one intra-op thread pool (all cores), once; False where ONNX Runtime refuses.

    Every session on the default thread count runs on it, and stops spinning at the end of each run. With a
    pool per session, stage 1's workers and the refiners' sleep and wake on every call (or, spinning, compete for
    the same cores). The tracking loop on the bench's 720p clip, 2 cores, five alternating runs each: 65.9 ->
    73.3 frames/s fp32, 86.3 -> 104.3 INT8 (a noisy machine: the shared pool won 4 of 5 pairs in each;
    docs/experiments.md, "One thread pool for both stages")."""
    if not _shared_pool["made"]:
        try:
            import_onnxruntime().capi.onnxruntime_pybind11_state.set_global_thread_pool_sizes(0, 1)
        except Exception as exc:        # made already by other code of this process, or not supported
            if "already been created" not in str(exc):
                return False
        _shared_pool["made"] = True
    return True


def session_options(threads: int | None = None, spinning: bool | None = None):
    """threads None: the shared pool (`shared_thread_pool`); a number: a pool of that many for this session,
    until the shared pool exists (ONNX Runtime then runs every new session on it)."""
    ort = import_onnxruntime()
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if _shared_pool["made"] or (threads is None and shared_thread_pool()):
        so.use_per_session_threads = False
        so.add_session_config_entry("session.force_spinning_stop", "1")
    else:
        so.intra_op_num_threads = int(threads or 0)       # 0 = ONNX Runtime's choice (physical cores)
        so.inter_op_num_threads = 1
    # Spinning worker threads steal the second core from the Python work between calls (crops, tracker,
    # smoothing): off by default, measured 1.2x more tracking frames/s on 2 cores (docs/experiments.md,
    # "Speed, CPU").
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    so.log_severity_level = 3
    return so


def resolve_providers(device: str = "cpu"):
    ort = import_onnxruntime()
    if device not in PROVIDERS:
        raise BackendUnavailable(f"unknown onnxruntime device {device!r} (cpu, cuda or tensorrt)")
    wanted = PROVIDERS[device]
    available = ort.get_available_providers()
    if wanted[0] not in available:
        raise BackendUnavailable(f"{wanted[0]} is not in this onnxruntime build ({', '.join(available)}): "
                                 f"pip install onnxruntime-gpu")
    return [p for p in wanted if p in available]


def _session(ort, path, options, providers):
    """An InferenceSession of the ONNX file at `path`; BundleError where ONNX Runtime cannot read it (a file cut
    short or not ONNX at all), in one line."""
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime's own exception types, from its compiled module
        if not type(exc).__module__.startswith("onnxruntime"):
            raise
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BundleError(f"ONNX Runtime cannot load {path}: {why}") from None


class OnnxRuntimeBackend:
    """`run(stage, batch) -> (coords, spread[, presence, inside])` over one ONNX Runtime session per stage.

    device: cpu | cuda | tensorrt (execution provider); threads: intra-op threads (None = all cores);
    io_binding: bind inputs and outputs explicitly (outputs land in preallocated host arrays, reused
    across calls of the same batch size), useful with the GPU providers.
    """

    name = "onnxruntime"

    def __init__(self, stage_paths, device: str = "cpu", threads: int | None = None, io_binding: bool = False,
                 spinning: bool | None = None):
        ort = import_onnxruntime()
        self.device = device
        self.providers = resolve_providers(device)
        so = session_options(threads, spinning)
        self.sessions = [_session(ort, p, so, self.providers) for p in stage_paths]
        started = self.sessions[0].get_providers()[0] if self.sessions else self.providers[0]
        if started != self.providers[0]:        # ONNX Runtime falls back to the CPU quietly when CUDA fails to load
            raise BackendUnavailable(f"ONNX Runtime could not start {self.providers[0]} (its GPU libraries did not "
                                     f"load) and would run on {started}: check the GPU's CUDA and cuDNN libraries, "
                                     "or run on the CPU")
        self.input_names = [s.get_inputs()[0].name for s in self.sessions]
        self.output_names = [[o.name for o in s.get_outputs()] for s in self.sessions]
        self.io_binding = io_binding
        self._outputs = {}

    @property
    def num_stages(self) -> int:
        return len(self.sessions)

    def input_shapes(self) -> list:
        """Per stage, the (channels, height, width) its input takes; None for a size left free."""
        return [tuple(d if isinstance(d, int) else None for d in s.get_inputs()[0].shape[1:]) for s in self.sessions]

    def run(self, stage: int, batch: np.ndarray):
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if not self.io_binding:
            return tuple(self.sessions[stage].run(self.output_names[stage], {self.input_names[stage]: batch}))
        return self._run_bound(stage, batch)

    def _run_bound(self, stage: int, batch: np.ndarray):
        ort = import_onnxruntime()
        sess = self.sessions[stage]
        n = batch.shape[0]
        key = (stage, n)
        if key not in self._outputs:
            self._outputs[key] = tuple(np.empty((n, *OUTPUT_SHAPES[name]), np.float32)
                                       for name in self.output_names[stage])
        outputs = self._outputs[key]
        binding = sess.io_binding()
        binding.bind_cpu_input(self.input_names[stage], batch)
        for name, arr in zip(self.output_names[stage], outputs):
            binding.bind_ortvalue_output(name, ort.OrtValue.ortvalue_from_numpy(arr))
        sess.run_with_iobinding(binding)
        return tuple(a.copy() for a in outputs)
