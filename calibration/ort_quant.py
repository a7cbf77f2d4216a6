"""ONNX Runtime static INT8 quantisation of one stage (QDQ format, per-channel weights) for the CPU.

The soft-argmax tail (the heatmap convolution, softmax and the expectation sums) stays in fp32 by default:
it is a few hundred FLOPs per joint, and quantising the probabilities or the coordinate grid would put the
quantisation step straight into the joint coordinates. Tensor ranges are cached in a JSON file and reused
on rebuild (ONNX Runtime's `calibration_cache_path`).
"""
from __future__ import annotations

import contextlib
import os
import tempfile

import numpy as np

from .reader import batches

METHODS = ("minmax", "entropy", "percentile")


def _ancestors(graph, outputs) -> set:
    producer = {out: node for node in graph.node for out in node.output}
    seen, stack = set(), [producer[o] for o in outputs if o in producer]
    while stack:
        node = stack.pop()
        if node.name in seen:
            continue
        seen.add(node.name)
        stack.extend(producer[i] for i in node.input if i in producer)
    return seen


def person_head_nodes(model) -> list:
    """Names of the nodes only the presence and in-picture outputs need (the person head after the backbone).
    Kept in fp32: calibration crops that all hold a person give its logits a range without the negative side,
    and every person-free crop would then read presence 0.5."""
    graph = model.graph
    names = {o.name for o in graph.output}
    if not {"presence", "inside"} <= names:
        return []
    return sorted(_ancestors(graph, ["presence", "inside"]) - _ancestors(graph, ["coords", "spread"]))


def tail_nodes(model) -> list:
    """Names of the nodes from the last convolution before the Softmax to the outputs (the soft-argmax tail)."""
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    softmax = [n for n in graph.node if n.op_type == "Softmax"]
    if not softmax:
        return []
    # Walk up from the softmax to the nearest Conv (the heatmap layer).
    node, start = softmax[0], None
    while node is not None:
        if node.op_type == "Conv":
            start = node
            break
        data_inputs = [i for i in node.input if i in producer]
        node = producer[data_inputs[0]] if data_inputs else None
    start = start or softmax[0]
    keep, stack = {}, [start]
    while stack:
        node = stack.pop()
        if node.name in keep:
            continue
        keep[node.name] = node
        for out in node.output:
            stack.extend(consumers.get(out, []))
    return [n for n in keep if n]


class _Reader:
    """onnxruntime.quantization.CalibrationDataReader over one stage's crops."""

    def __init__(self, input_name: str, crops: np.ndarray, batch_size: int):
        self.input_name, self.crops, self.batch_size = input_name, crops, batch_size
        self.rewind()

    def get_next(self):
        batch = next(self._it, None)
        return None if batch is None else {self.input_name: batch}

    def rewind(self):
        self._it = batches(self.crops, self.batch_size)

    def __len__(self):
        return (len(self.crops) + self.batch_size - 1) // self.batch_size


@contextlib.contextmanager
def _calibrator_sessions_on_the_shared_pool():
    """Once this process has the shared ONNX Runtime thread pool (engines.onnxruntime_backend), ONNX Runtime
    refuses a session with threads of its own, which is what its model pre-processing and calibrator make: their
    sessions are made on the shared pool while quantising."""
    from pose_track.engines.onnxruntime_backend import _shared_pool

    import onnxruntime

    if not _shared_pool["made"]:
        yield
        return
    plain = onnxruntime.SessionOptions

    def on_the_shared_pool():
        options = plain()
        options.use_per_session_threads = False
        return options

    onnxruntime.SessionOptions = on_the_shared_pool
    try:
        yield
    finally:
        onnxruntime.SessionOptions = plain


def quantize_stage(fp32_path: str, out_path: str, crops: np.ndarray | None, cache_path: str | None = None,
                   batch_size: int = 16, per_channel: bool = True, keep_fp32_tail: bool = True,
                   method: str = "minmax", preprocess: bool = True) -> dict:
    """Write the INT8 (QDQ) model of one stage to out_path; returns what was done, for the manifest."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    if method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r} ({', '.join(METHODS)})")
    calib_method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                    "percentile": CalibrationMethod.Percentile}[method]
    with tempfile.TemporaryDirectory(prefix="pose-track-quant.") as tmp, _calibrator_sessions_on_the_shared_pool():
        src = fp32_path
        if preprocess:
            from onnxruntime.quantization.shape_inference import quant_pre_process
            src = os.path.join(tmp, "pre.onnx")
            quant_pre_process(fp32_path, src, skip_symbolic_shape=True)
        model = onnx.load(src)
        input_name = model.graph.input[0].name
        exclude = (tail_nodes(model) if keep_fp32_tail else []) + person_head_nodes(model)

        reader = None
        if crops is not None:
            class Reader(_Reader, CalibrationDataReader):
                pass
            reader = Reader(input_name, crops, batch_size)
        # ONNX Runtime's calibrator flushes every k batches and then fails with "No data is collected" when
        # the batch count is a multiple of k: pick a k that leaves a remainder.
        flush_every = 8
        while reader is not None and len(reader) % flush_every == 0:
            flush_every += 1
        quantize_static(src, out_path, reader, quant_format=QuantFormat.QDQ, per_channel=per_channel,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=exclude, calibrate_method=calib_method,
                        calibration_cache_path=cache_path,
                        extra_options={"CalibMaxIntermediateOutputs": flush_every})
    return {"method": method, "per_channel": per_channel, "format": "QDQ", "activations": "uint8",
            "weights": "int8", "fp32_nodes": len(exclude), "calibration_crops": 0 if crops is None else len(crops)}
