"""`pose-track bench`: what an engine costs and what it is worth, side by side for one or more engines.

Per engine: per-stage latency (median, p90; stage 1 at batch 1, each refiner at batch 14 = one person's
joints), the refiner stages of one tracked person together, single-image frames per second (the PoseEstimator
as `images` runs it), tracking frames per second (`pose-track video`'s loop on a 1280x720 clip: the Tracker, a
CSV sink, re-acquisitions included; with and without decoding) and where its time goes (decode, crops, stage 1,
refiners, re-acquisition, camera motion, smoothing, sinks, the rest), peak resident memory of the process, and
PCK@0.2 on the first N images of LSP test (as `eval` runs). No torch is imported unless a checkpoint runs on torch.
"""
from __future__ import annotations

import os
import platform
import resource
import tempfile
import time

import cv2
import numpy as np

from pose_track.engines.estimator import PoseEstimator
from pose_track.engines.joints import NUM_JOINTS
from pose_track.engines.opencv_files import read_picture
from pose_track.engines.timing import NO_TIMES, PartTimes
from pose_track.engines.torch_backend import load_any_cascade

from .clipmaker import make_clip

TRACK_FRAME = (720, 1280)          # tracking-mode frame (height, width)
PERSON_HEIGHT = 0.6                # the tracked still's height over the frame's
PART_ORDER = ["decode", "crops", "stage 1", "refiners", "re-acquisition", "camera motion", "smoothing", "sinks",
              "other"]


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


def single_image_fps(estimator, image: np.ndarray, runs: int = 50, warmup: int = 5) -> dict:
    """The PoseEstimator on one picture, as `pose-track images` runs it (the whole image, then closer passes)."""
    out = _summary(_timed(lambda: estimator(image), runs, warmup))
    out["fps"] = 1000.0 / out["median_ms"]
    return out


def tracking_fps(estimator, image: np.ndarray, joints=None, frames: int = 300) -> dict:
    """`pose-track video` on a 1280x720 clip of `image` filmed by a moving camera (benchmarks.clipmaker): the real
    Tracker, its default smoothing (`lookahead`) and a CSV sink, re-acquisitions included, with the time of each part per frame."""
    from pose_track.tracker.loop import Tracker
    from pose_track.tracker.run import process_source
    from pose_track.tracker.sinks import CsvSink

    if joints is None:          # no labels: the person where the model places them
        joints = estimator(image).placed
    k = PERSON_HEIGHT * TRACK_FRAME[0] / image.shape[0]      # the still fills this share of the frame's height
    image = cv2.resize(image, None, fx=k, fy=k, interpolation=cv2.INTER_LINEAR)
    joints = np.asarray(joints, np.float32) * k
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(image, joints, os.path.join(tmp, "clip.mp4"), n_frames=frames,
                         size=(TRACK_FRAME[1], TRACK_FRAME[0]))
        times = PartTimes()
        sink = CsvSink(os.path.join(tmp, "out.csv"))
        tracker = Tracker(estimator)
        stats = process_source(clip.video_path, None, [sink], tracker=tracker, times=times, smooth="lookahead")
        tracker.time_parts(NO_TIMES)
        sink.close()
    n = max(stats.frames, 1)
    ms = times.ms_per(n)
    tracked_s = stats.total_s - stats.decode_s
    ms["other"] = 1000.0 * stats.total_s / n - sum(ms.values())
    stage1_calls = times.calls.get("stage 1", 0)
    return {"frames": stats.frames, "fps": n / tracked_s, "fps_end_to_end": n / stats.total_s,
            "ms_per_frame": 1000.0 * tracked_s / n, "parts_ms": ms, "reacquisitions": stats.reacquired,
            "stage1_calls": stage1_calls,
            "stage1_ms_per_call": 1000.0 * times.seconds.get("stage 1", 0.0) / max(stage1_calls, 1)}


def lsp_accuracy(estimator, data: str, images: int) -> dict | None:
    """PCK@0.2 of the final stage (and of each stage) on the first `images` LSP test images, as `eval` runs."""
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
    preds = predict_set(estimator, test)
    per_stage = [float(pck(p, test.joints, test.valid)) for p in preds]
    return {"pck": per_stage[-1], "pck_per_stage": per_stage, "images": len(test)}


def _sample_person(data: str | None):
    """(image, joints) of the first LSP test image: the person every figure of the bench is measured on. Raises
    DatasetError without the data (a picture with nobody would time a search on every frame instead)."""
    from pose_track.training.datasets import DatasetError, lsp_test, resolve_data_root

    if not data:
        raise DatasetError("the bench measures a person from LSP test: give --data (the folder holding lsp/)")
    root = resolve_data_root(data)[0]
    test = lsp_test(root)
    if not len(test):
        raise DatasetError(f"no LSP test images (im1001-im2000) in {root}")
    image = read_picture(test.paths[0])
    if image is None:
        raise DatasetError(f"cannot read {test.paths[0]}")
    return image, test.joints[0]


def bench_engine(engine: str | None = None, backend: str | None = None, data: str | None = None, images: int = 100,
                 runs: int = 50, warmup: int = 5, label: str | None = None, frames: int = 300, **options) -> dict:
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
    estimator = PoseEstimator(cascade=cascade)
    image, joints = _sample_person(data)
    result["single_image"] = single_image_fps(estimator, image, runs, warmup)
    result["tracking"] = tracking_fps(estimator, image, joints, frames)
    # Again after the loop: this machine's speed can change within a minute (docs/experiments.md, "Speed, CPU"),
    # and the loop's stage-1 time compares only with a latency taken next to it.
    result["stage1_after"] = stage_latency(runner, 0, 1, cfg.architecture.stage1_input, runs, warmup)
    result["accuracy"] = lsp_accuracy(estimator, data, images) if data and images > 0 else None
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
    rows.append(("tracking fps (ms), 1280x720 clip", [f"{r['tracking']['fps']:.0f} ({r['tracking']['ms_per_frame']:.2f})"
                                                      for r in results]))
    rows.append(("  with decoding, fps", [f"{r['tracking']['fps_end_to_end']:.0f}" for r in results]))
    parts = sorted({p for r in results for p in r["tracking"]["parts_ms"]}, key=PART_ORDER.index)
    for part in parts:
        rows.append((f"  {part} ms/frame", [f"{r['tracking']['parts_ms'].get(part, 0.0):.2f}" for r in results]))
    rows.append(("  stage 1 calls/frame, ms/call", [
        f"{r['tracking']['stage1_calls'] / max(r['tracking']['frames'], 1):.2f}, "
        f"{r['tracking']['stage1_ms_per_call']:.2f}" for r in results]))
    rows.append(("  stage 1 (batch 1) after, ms med", [f"{r['stage1_after']['median_ms']:.2f}" for r in results]))
    rows.append(("  re-acquisitions", [f"{r['tracking']['reacquisitions']} of {r['tracking']['frames']}"
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
