"""Run the stages with torch (CPU, or CUDA with optional fp16 and CUDA graphs), straight from a checkpoint.

    load_any_cascade("models/deeppose_lsp/checkpoint.pt", device="cuda", half=True)   a checkpoint, on torch
    load_any_cascade("engines/int8")                   a bundle: engines.backends.load_cascade
"""
from __future__ import annotations

import numpy as np

from .backends import TORCH_HINT, backend_options, is_checkpoint, load_cascade
from .bundle import BundleError
from .cascade import Cascade


def load_torch_backend(path: str, device: str = "cpu", half: bool = False, cuda_graphs: bool = False,
                       threads=None):
    """The torch backend over a checkpoint file; BundleError in one line when torch or the file is wrong."""
    try:
        import torch
    except ImportError:
        raise BundleError(f"the torch backend is not installed: {TORCH_HINT}") from None
    from .checkpoint import CheckpointError, build_model, load_checkpoint

    try:
        payload = load_checkpoint(path)
    except CheckpointError as exc:
        raise BundleError(str(exc)) from None
    if threads:
        torch.set_num_threads(int(threads))
    runner = TorchBackend(build_model(payload), device=device, half=half, cuda_graphs=cuda_graphs)
    runner.config, runner.manifest = payload["config"], None
    runner.trained_stages = int(payload.get("trained_stages", payload["config"].architecture.num_stages))
    return runner


def load_any_cascade(path: str | None = None, backend: str | None = None, stills: bool = False, **options):
    """A Cascade over a checkpoint (the torch backend) or an engine bundle (`engines.backends.load_cascade`)."""
    if path is None or not is_checkpoint(path):
        return load_cascade(path, backend, stills=stills, **options)
    if backend not in (None, "torch"):
        raise BundleError(f"{path} is a checkpoint: build a {backend} engine from it with "
                          f"`pose-track build-engine --backend {backend}`, or run it with the torch backend")
    runner = load_torch_backend(path, **backend_options("torch", options))
    return Cascade(runner, runner.config)


class TorchBackend:
    """`run(stage, batch) -> (coords, spread[, presence, inside])` with the torch modules.

    device: cpu | cuda[:k]; half: fp16 weights and activations on CUDA; cuda_graphs: capture one CUDA graph
    per (stage, batch size) on first use and replay it afterwards (static input buffer, no per-call kernel
    launch overhead), on CUDA only.
    """

    name = "torch"

    def __init__(self, model, device: str = "cpu", half: bool = False, cuda_graphs: bool = False):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        on_cuda = self.device.type == "cuda"
        if on_cuda and not torch.cuda.is_available():
            raise BundleError(f"CUDA is not available to torch {torch.__version__} here (a CPU build, or no GPU): "
                              "run on the CPU, or install a CUDA build of torch")
        self.half = half and on_cuda
        self.cuda_graphs = cuda_graphs and on_cuda
        self.model = model.to(self.device).eval()
        if self.half:
            self.model.half()
        self.dtype = torch.float16 if self.half else torch.float32
        self._graphs = {}

    def run(self, stage: int, batch: np.ndarray):
        torch = self.torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
            if self.cuda_graphs:
                outputs = self._replay(stage, x)
            else:
                x = x.to(self.device, non_blocking=True).to(self.dtype)
                outputs = self.model[stage](x)
            return tuple(o.float().cpu().numpy() for o in outputs)

    def _replay(self, stage: int, x):
        torch = self.torch
        key = (stage, tuple(x.shape))
        if key not in self._graphs:
            net = self.model[stage]
            static_in = torch.zeros(x.shape, dtype=self.dtype, device=self.device)
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):                       # warm up (cuDNN autotuning) outside the capture
                    net(static_in)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = net(static_in)
            self._graphs[key] = (graph, static_in, static_out)
        graph, static_in, static_out = self._graphs[key]
        static_in.copy_(x.to(self.device, non_blocking=True))
        graph.replay()
        return static_out
