"""Native TensorRT: ONNX parser -> builder config (memory pool, optimisation profile, fp16 / INT8) -> plan file,
and a runner that deserialises the plan and runs it with its own device buffers.

tensorrt (and the CUDA bindings) are imported lazily: this module imports fine without them.
Device memory comes from cuda-python (`cuda.bindings.runtime`, or the older `cuda.cudart`) when installed,
otherwise from torch CUDA tensors. Written against the TensorRT >= 8.6 / 10.x Python API
(`num_io_tensors`, `set_input_shape`, `set_tensor_address`, `execute_async_v3`).
"""
from __future__ import annotations

import os

import numpy as np

from .bundle import OUTPUT_SHAPES, BackendUnavailable, import_backend_package

INSTALL_HINT = "pip install 'pose-track[tensorrt]' (TensorRT and cuda-python, on a machine with an NVIDIA GPU)"
STAGE1_BATCH = (1, 1, 8)              # (min, opt, max) person crops per stage-1 call
REFINER_BATCH = (1, 14, 14 * 8)       # joint crops: 14 per person, up to 8 persons
WORKSPACE_BYTES = 1 << 30


def import_tensorrt():
    return import_backend_package("tensorrt", "tensorrt", INSTALL_HINT)


def runtime_version() -> str:
    return import_tensorrt().__version__


# -- CUDA memory: cuda-python, or torch ----------------------------------------------------------------------
def _cudart():
    try:
        from cuda.bindings import runtime as cudart      # cuda-python >= 12.6
        return cudart
    except ImportError:
        pass
    try:
        from cuda import cudart                          # older cuda-python
        return cudart
    except ImportError:
        return None


def _check(result):
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(getattr(err, "value", err)) != 0:
        raise RuntimeError(f"CUDA error {err}")
    return rest[0] if len(rest) == 1 else (rest or None)


class DeviceBuffer:
    """nbytes of device memory with host copies on one stream (cuda-python, else torch)."""

    def __init__(self, nbytes: int):
        self.nbytes = int(nbytes)
        self.cudart = _cudart()
        if self.cudart is not None:
            self.ptr = int(_check(self.cudart.cudaMalloc(self.nbytes)))
            self._tensor = None
        else:
            try:
                import torch
            except ImportError:
                raise BackendUnavailable(f"the tensorrt backend needs cuda-python or torch with CUDA: "
                                         f"{INSTALL_HINT}") from None
            if not torch.cuda.is_available():
                raise BackendUnavailable("the tensorrt backend needs an NVIDIA GPU (torch sees no CUDA device)")
            self._tensor = torch.empty(self.nbytes, dtype=torch.uint8, device="cuda")
            self.ptr = int(self._tensor.data_ptr())

    def copy_from_host(self, array: np.ndarray, stream=None):
        array = np.ascontiguousarray(array)
        if array.nbytes > self.nbytes:
            raise ValueError(f"{array.nbytes} bytes do not fit a {self.nbytes}-byte device buffer")
        if self.cudart is not None:
            kind = self.cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
            if stream is None:
                _check(self.cudart.cudaMemcpy(self.ptr, array.ctypes.data, array.nbytes, kind))
            else:
                _check(self.cudart.cudaMemcpyAsync(self.ptr, array.ctypes.data, array.nbytes, kind, stream))
        else:
            import torch
            self._tensor[:array.nbytes].copy_(torch.from_numpy(array.reshape(-1).view(np.uint8)))

    def copy_to_host(self, array: np.ndarray, stream=None):
        if self.cudart is not None:
            kind = self.cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
            if stream is None:
                _check(self.cudart.cudaMemcpy(array.ctypes.data, self.ptr, array.nbytes, kind))
            else:
                _check(self.cudart.cudaMemcpyAsync(array.ctypes.data, self.ptr, array.nbytes, kind, stream))
        else:
            array.reshape(-1).view(np.uint8)[:] = self._tensor[:array.nbytes].cpu().numpy()

    def free(self):
        if self.cudart is not None and self.ptr:
            self.cudart.cudaFree(self.ptr)
            self.ptr = 0
        self._tensor = None

    def __del__(self):
        try:
            self.free()
        except Exception:
            pass


class _Stream:
    def __init__(self):
        self.cudart = _cudart()
        if self.cudart is not None:
            self.handle = _check(self.cudart.cudaStreamCreate())
            self.raw = self.handle
        else:
            import torch
            self.torch_stream = torch.cuda.current_stream()
            self.handle = self.torch_stream.cuda_stream
            self.raw = None            # torch copies run on the current stream themselves

    @property
    def ptr(self) -> int:
        return int(self.handle)

    def synchronize(self):
        if self.cudart is not None:
            _check(self.cudart.cudaStreamSynchronize(self.handle))
        else:
            self.torch_stream.synchronize()


def device_info(index: int = 0) -> dict:
    """{'type': 'cuda', 'name': ..., 'compute_capability': 'major.minor'} of the current GPU."""
    cudart = _cudart()
    if cudart is not None:
        props = _check(cudart.cudaGetDeviceProperties(index))
        name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
        return {"type": "cuda", "name": name.strip("\x00 "), "compute_capability": f"{props.major}.{props.minor}"}
    try:
        import torch
    except ImportError:
        raise BackendUnavailable(f"cannot query the GPU without cuda-python or torch: {INSTALL_HINT}") from None
    if not torch.cuda.is_available():
        raise BackendUnavailable("no CUDA device is visible")
    major, minor = torch.cuda.get_device_capability(index)
    return {"type": "cuda", "name": torch.cuda.get_device_name(index), "compute_capability": f"{major}.{minor}"}


# -- build -------------------------------------------------------------------------------------------------------
def _logger(trt, verbose: bool = False):
    return trt.Logger(trt.Logger.VERBOSE if verbose else trt.Logger.WARNING)


def _network(trt, builder):
    major = int(trt.__version__.split(".")[0])
    flag = getattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH", None)
    flags = 0 if major >= 10 or flag is None else 1 << int(flag)   # explicit batch is the only mode in 10.x
    return builder.create_network(flags)


def build_plan(onnx_path: str, plan_path: str, precision: str = "fp32", batch=REFINER_BATCH,
               workspace_bytes: int = WORKSPACE_BYTES, calibrator=None, calib_batch: int | None = None,
               verbose: bool = False) -> str:
    """Parse one stage's ONNX file and serialise a TensorRT plan for it.

    batch: (min, opt, max) of the dynamic batch dimension (the optimisation profile).
    precision: fp32 | fp16 | int8 (int8 needs `calibrator`, an IInt8EntropyCalibrator2; fp16 is allowed too so
    that layers TensorRT does not run in INT8 fall back to fp16 rather than fp32).
    """
    trt = import_tensorrt()
    logger = _logger(trt, verbose)
    builder = trt.Builder(logger)
    network = _network(trt, builder)
    parser = trt.OnnxParser(network, logger)
    with open(onnx_path, "rb") as f:
        if not parser.parse(f.read()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise RuntimeError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_bytes))

    inp = network.get_input(0)
    chw = tuple(inp.shape[1:])
    lo, opt, hi = batch
    profile = builder.create_optimization_profile()
    profile.set_shape(inp.name, (lo, *chw), (opt, *chw), (hi, *chw))
    config.add_optimization_profile(profile)

    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        if calibrator is None:
            raise ValueError("an INT8 TensorRT build needs a calibrator")
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = calibrator
        # Calibration runs at the calibration profile's batch size (its opt shape).
        cb = int(calib_batch or opt)
        calib_profile = builder.create_optimization_profile()
        calib_profile.set_shape(inp.name, (cb, *chw), (cb, *chw), (cb, *chw))
        config.set_calibration_profile(calib_profile)
    elif precision != "fp32":
        raise ValueError(f"unknown precision {precision!r} (fp32, fp16 or int8)")

    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError(f"TensorRT could not build an engine for {onnx_path}")
    tmp = plan_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(plan)
    os.replace(tmp, plan_path)
    return plan_path


# -- run ---------------------------------------------------------------------------------------------------------
class _StageEngine:
    def __init__(self, trt, runtime, plan_path: str):
        with open(plan_path, "rb") as f:
            self.engine = runtime.deserialize_cuda_engine(f.read())
        if self.engine is None:
            raise RuntimeError(f"TensorRT could not deserialise {plan_path} (built by another TensorRT or GPU?)")
        if not hasattr(self.engine, "num_io_tensors"):
            raise BackendUnavailable(f"TensorRT {trt.__version__} is too old: pose-track needs 8.6 or newer")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) != trt.TensorIOMode.INPUT]
        self.input = self.inputs[0]
        lo, opt, hi = self.engine.get_tensor_profile_shape(self.input, 0)
        self.max_batch = int(hi[0])
        self.chw = tuple(int(d) for d in hi[1:])
        self.in_buf = DeviceBuffer(self.max_batch * int(np.prod(self.chw)) * 4)
        self.out_shapes = OUTPUT_SHAPES
        self.out_bufs = {n: DeviceBuffer(self.max_batch * int(np.prod(self.out_shapes.get(n, (14, 2)))) * 4)
                         for n in self.outputs}
        self.context.set_tensor_address(self.input, self.in_buf.ptr)
        for n in self.outputs:
            self.context.set_tensor_address(n, self.out_bufs[n].ptr)
        self.host_out = {}

    def run(self, batch: np.ndarray, stream: _Stream):
        n = batch.shape[0]
        self.context.set_input_shape(self.input, batch.shape)
        self.in_buf.copy_from_host(batch, stream.raw)
        if not self.context.execute_async_v3(stream.ptr):
            raise RuntimeError("TensorRT execution failed")
        outs = {}
        for name in self.outputs:
            shape = (n, *self.out_shapes.get(name, tuple(self.context.get_tensor_shape(name))[1:]))
            host = np.empty(shape, np.float32)
            self.out_bufs[name].copy_to_host(host, stream.raw)
            outs[name] = host
        stream.synchronize()
        return tuple(outs[n] for n in OUTPUT_SHAPES if n in outs)


class TensorRTBackend:
    """`run(stage, batch) -> (coords, spread[, presence, inside])` over one deserialised plan per stage (fp32 I/O on the host)."""

    name = "tensorrt"

    def __init__(self, plan_paths, verbose: bool = False):
        trt = import_tensorrt()
        self.logger = _logger(trt, verbose)
        self.runtime = trt.Runtime(self.logger)
        self.stream = _Stream()
        self.stages = [_StageEngine(trt, self.runtime, str(p)) for p in plan_paths]

    @property
    def num_stages(self) -> int:
        return len(self.stages)

    def input_shapes(self) -> list:
        """Per stage, the (channels, height, width) its input takes."""
        return [engine.chw for engine in self.stages]

    def run(self, stage: int, batch: np.ndarray):
        engine = self.stages[stage]
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.shape[0] <= engine.max_batch:
            return engine.run(batch, self.stream)
        parts = [engine.run(batch[i:i + engine.max_batch], self.stream)
                 for i in range(0, batch.shape[0], engine.max_batch)]
        return tuple(np.concatenate(arrays) for arrays in zip(*parts))
