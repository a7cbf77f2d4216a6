"""`pose-track bench`: what an engine costs and what it is worth, side by side for one or more engines.

Per engine: per-stage latency (median, p90; stage 1 at batch 1, each refiner at batch 14 = one person's
joints), the refiner stages of one tracked person together, single-image and tracking-mode frames per second
(the whole `Cascade.predict`, crops included), peak resident memory of the process, and PCK@0.2 on the first
N images of LSP test. No torch is imported unless a checkpoint is benchmarked on the torch backend.
"""
from __future__ import annotations

import os
import platform
import resource
import time

import cv2
import numpy as np

from pose_track.engines.torch_backend import load_any_cascade
from pose_track.engines.geometry import box_from_joints, whole_image_box
from pose_track.engines.joints import NUM_JOINTS

TRACK_FRAME = (720, 1280)          # tracking-mode frame (height, width)
TRACK_BOX_SCALE = 1.25


def _timed(fn, runs: int, warmup: int) -> np.ndarray:
    for _ in range(warmup):
        fn()
    times = np.empty(runs)
    for i in range(runs):
        t0 = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - t0
    return times * 1000.0


def _summary(ms: np.ndarray) -> dict:
    return {"median_ms": float(np.median(ms)), "p90_ms": float(np.percentile(ms, 90)), "runs": int(len(ms))}


def stage_latency(backend, stage: int, batch: int, size: int, runs: int = 50, warmup: int = 5, seed: int = 0) -> dict:
    x = np.random.default_rng(seed).integers(0, 256, (batch, 3, size, size)).astype(np.float32)
    out = _summary(_timed(lambda: backend.run(stage, x), runs, warmup))
    out["batch"] = batch
    return out


def peak_memory_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if platform.system() == "Darwin" else rss / 1024.0


def single_image_fps(cascade, image: np.ndarray, runs: int = 50, warmup: int = 5) -> dict:
    """The full cascade on one person, the whole image as the box (an image folder)."""
    box = np.array([whole_image_box(*image.shape[:2])], np.float32)
    out = _summary(_timed(lambda: cascade.predict(image, box), runs, warmup))
    out["fps"] = 1000.0 / out["median_ms"]
    return out


def tracking_fps(cascade, image: np.ndarray, runs: int = 50, warmup: int = 5) -> dict:
    """The full cascade on a frame-sized image, seeded by the previous frame's joints (the tracking loop)."""
    frame = np.zeros((*TRACK_FRAME, 3), np.uint8)
    h, w = image.shape[:2]
    k = min(TRACK_FRAME[0] / h, TRACK_FRAME[1] / w)
    small = cv2.resize(image, (int(w * k), int(h * k)))
    y0, x0 = (TRACK_FRAME[0] - small.shape[0]) // 2, (TRACK_FRAME[1] - small.shape[1]) // 2
    frame[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    state = {"box": np.array([whole_image_box(*frame.shape[:2])], np.float32)}
    min_side = 0.3 * TRACK_FRAME[0]

    def step():
        result = cascade.predict(frame, state["box"])
        cx, cy, side = box_from_joints(result.joints[0], TRACK_BOX_SCALE)
        state["box"] = np.array([[cx, cy, max(side, min_side)]], np.float32)

    out = _summary(_timed(step, runs, warmup))
    out["fps"] = 1000.0 / out["median_ms"]
    return out


def lsp_accuracy(cascade, data: str, images: int) -> dict | None:
    """PCK@0.2 of the final stage (and of each stage) on the first `images` LSP test images."""
    from pose_track.training.datasets import DatasetError, lsp_test, resolve_data_root
    from pose_track.training.evaluate import predict_set
    from pose_track.training.metrics import pck

    try:
        root, _ = resolve_data_root(data)
        test = lsp_test(root)
    except DatasetError:
        return None
    test = test.subset(np.arange(min(images, len(test))))
    if len(test) == 0:
        return None
    preds = predict_set(cascade, test)
    per_stage = [float(pck(p, test.joints, test.valid)) for p in preds]
    return {"pck": per_stage[-1], "pck_per_stage": per_stage, "images": len(test)}


def _sample_image(data: str | None) -> np.ndarray:
    if data:
        try:
            from pose_track.training.datasets import lsp_test, resolve_data_root
            root, _ = resolve_data_root(data)
            image = cv2.imread(lsp_test(root).paths[0], cv2.IMREAD_COLOR)
            if image is not None:
                return image
        except Exception:
            pass
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (240, 160, 3), dtype=np.uint8)


def bench_engine(engine: str | None = None, backend: str | None = None, data: str | None = None, images: int = 100,
                 runs: int = 50, warmup: int = 5, label: str | None = None, **options) -> dict:
    """Everything `pose-track bench` prints for one engine (a bundle folder, or a checkpoint on torch)."""
    from pose_track.engines.backends import DEFAULT_BUNDLE

    t0 = time.perf_counter()
    cascade = load_any_cascade(engine, backend=backend, **options)
    load_s = time.perf_counter() - t0
    runner, cfg = cascade.backend, cascade.config
    manifest = runner.manifest or {}
    result = {
        "engine": label or os.path.basename(os.path.normpath(engine or DEFAULT_BUNDLE)),
        "path": engine or DEFAULT_BUNDLE,
        "backend": getattr(runner, "name", backend),
        "precision": manifest.get("precision", "fp16" if getattr(runner, "half", False) else "fp32"),
        "device": _device_name(runner, manifest),
        "threads": options.get("threads"),
        "load_s": load_s,
        "stages": [],
    }
    for s in range(cascade.num_stages):
        size = cfg.architecture.stage1_input if s == 0 else cfg.architecture.refiner_input
        result["stages"].append(stage_latency(runner, s, 1 if s == 0 else NUM_JOINTS, size, runs, warmup))
    result["refiners_ms"] = float(sum(st["median_ms"] for st in result["stages"][1:]))
    image = _sample_image(data)
    result["single_image"] = single_image_fps(cascade, image, runs, warmup)
    result["tracking"] = tracking_fps(cascade, image, runs, warmup)
    result["accuracy"] = lsp_accuracy(cascade, data, images) if data and images > 0 else None
    result["peak_rss_mb"] = peak_memory_mb()
    return result


def _device_name(runner, manifest) -> str:
    if getattr(runner, "name", "") == "torch":
        dev = getattr(runner, "device", None)
        if dev is not None and dev.type == "cuda":
            import torch
            return torch.cuda.get_device_name(dev)
        from pose_track.engines.bundle import cpu_name
        return cpu_name()
    if getattr(runner, "name", "") == "onnxruntime":
        from pose_track.engines.bundle import cpu_name
        providers = getattr(runner, "providers", ["CPUExecutionProvider"])
        return cpu_name() if providers[0] == "CPUExecutionProvider" else providers[0]
    return (manifest.get("device") or {}).get("name", "?")


def format_table(results: list) -> str:
    """Metrics as rows, engines as columns."""
    if isinstance(results, dict):
        results = [results]
    n_stages = max(len(r["stages"]) for r in results)
    rows = [("engine", [r["engine"] for r in results]),
            ("backend", [f"{r['backend']} {r['precision']}" for r in results]),
            ("device", [str(r["device"]) for r in results]),
            ("threads", [str(r["threads"] or "all") for r in results])]
    for s in range(n_stages):
        label = "stage 1 (batch 1)" if s == 0 else f"stage {s + 1} (batch 14)"
        rows.append((f"{label} ms med/p90", [
            f"{r['stages'][s]['median_ms']:.2f} / {r['stages'][s]['p90_ms']:.2f}" if s < len(r["stages"]) else "-"
            for r in results]))
    rows.append(("refiners, one person ms", [f"{r['refiners_ms']:.2f}" for r in results]))
    rows.append(("single image fps (ms)", [f"{r['single_image']['fps']:.0f} ({r['single_image']['median_ms']:.2f})"
                                          for r in results]))
    rows.append(("tracking fps (ms)", [f"{r['tracking']['fps']:.0f} ({r['tracking']['median_ms']:.2f})"
                                      for r in results]))
    rows.append(("peak RSS MB (process)", [f"{r['peak_rss_mb']:.0f}" for r in results]))
    rows.append(("PCK@0.2 LSP test", [
        f"{r['accuracy']['pck']:.3f} ({r['accuracy']['images']} img)" if r.get("accuracy") else "-" for r in results]))
    w0 = max(len(k) for k, _ in rows)
    widths = [max(len(v[i]) for _, v in rows) for i in range(len(results))]
    lines = []
    for k, vals in rows:
        lines.append(f"{k:<{w0}}  " + "  ".join(f"{v:>{widths[i]}}" for i, v in enumerate(vals)))
        if k == "threads":
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)
