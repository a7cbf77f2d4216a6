"""capture -> tracker -> smoothing -> sinks, for one source. Used by the `video` and `webcam` commands.

    stats = process_source("clip.mp4", PoseEstimator(stills=False), [CsvSink("out.csv")], smooth="kalman")

- `kalman` / `none`: each frame goes to every sink as soon as it is tracked (sinks flush per frame, so an
  exception or Ctrl-C mid-file leaves every earlier frame on disk).
- `lookahead`: each frame goes to the sinks when the next one has been tracked, smoothed once more with it
  (smoothing.Lookahead); the last frame, and the frame held when the run stops or fails, are written as filtered.
- `rts` (files only): frames are tracked (the online filter still seeds the crops) and buffered without their
  images; at the end the RTS smoother replaces the smoothed joints and everything is written. Sinks that need
  the image (annotated video, window) get it from a second decoding pass. If the run fails or is interrupted
  midway, what was buffered is smoothed and written before the error propagates.
- Image folders (independent stills) are not tracked: every image is the PoseEstimator's answer (the whole image,
  then its closer passes), not smoothed (pass track=True to treat the folder as a frame sequence).

Stopping: `stop` (a threading.Event, e.g. set by a SIGINT handler) or a sink raising StopRequested (the
window's q / Esc) end the run cleanly; `stats.stopped` says why.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np

from pose_track.engines.timing import NO_TIMES

from .capture import CaptureError, Source, open_source, unreadable_images
from .loop import Tracker
from .sinks import StopRequested
from .smoothing import DEFAULT_PARAMS, MODES, KalmanParams, Lookahead, make_smoother, rts_smooth, where_measured


@dataclass
class RunStats:
    source: str
    frames: int = 0
    dropped: int = 0
    reacquired: int = 0
    lost: int = 0
    with_person: int = 0    # frames with at least one joint reported
    decode_s: float = 0.0   # waiting for the next frame: decoding (files), waiting for the camera (live)
    model_s: float = 0.0    # inside cascade.predict
    total_s: float = 0.0
    stopped: str | None = None
    stop_reason: str | None = None   # what a sink said when it asked to stop (`stopped` is then "stop requested")
    warnings: list = field(default_factory=list)
    incomplete: list = field(default_factory=list)   # what of the input could not be read (its rows are kept)

    @property
    def fps(self) -> float:
        return self.frames / self.total_s if self.total_s > 0 else 0.0

    @property
    def model_fps(self) -> float:
        """Tracking-mode throughput excluding decode (frames per second of cascade time)."""
        return self.frames / self.model_s if self.model_s > 0 else 0.0

    def summary(self) -> str:
        frames = f"{self.frames} frame{'' if self.frames == 1 else 's'}"
        s = (f"{self.source}: {frames} in {self.total_s:.2f} s ({self.fps:.1f} frames/s; "
             f"decode {self.decode_s:.2f} s, model {self.model_s:.2f} s = {self.model_fps:.1f} frames/s), "
             f"{self.reacquired} re-acquisition(s)")
        if self.dropped:
            s += f", {self.dropped} dropped"
        if self.stopped:
            s += f", stopped: {self.stop_reason or self.stopped}"
        return s


def timed_frames(frames):
    """Yields (frame, seconds spent decoding it) from a frame iterator."""
    while True:
        t0 = time.perf_counter()
        try:
            frame = next(frames)
        except StopIteration:
            return
        yield frame, time.perf_counter() - t0


def _write(sinks, frame, result) -> None:
    for s in sinks:
        s.write(frame, result)


def _flush_rts(src: Source, results: list, sinks, params: KalmanParams) -> None:
    raw = np.stack([r.raw for r in results])
    conf = np.stack([r.confidence for r in results])
    times = np.array([r.time_s for r in results])
    scales = np.array([r.box[2] for r in results])
    resets = np.array([r.reacquired for r in results])
    camera = np.array([r.camera for r in results], np.float64)
    sm = where_measured(rts_smooth(raw, conf, times, scales, resets, params, camera), raw)
    results = [replace(r, smoothed=sm[i]) for i, r in enumerate(results)]
    data_sinks = [s for s in sinks if not getattr(s, "needs_image", False)]
    image_sinks = [s for s in sinks if getattr(s, "needs_image", False)]
    for r in results:
        _write(data_sinks, None, r)
    if image_sinks:
        by_index = {r.index: r for r in results}
        last = results[-1].index
        again = src.reopen()
        for frame in again.frames():
            r = by_index.get(frame.index)
            if r is not None:
                _write(image_sinks, frame, r)
            if frame.index >= last:
                break
        again.close()


def process_source(source, cascade, sinks, smooth: str = "kalman", progress=None,
                   stop: threading.Event | None = None, max_frames: int | None = None,
                   params: KalmanParams = DEFAULT_PARAMS, track: bool | None = None, fps: float | None = None,
                   tracker: Tracker | None = None, times=None, **tracker_kwargs) -> RunStats:
    """Track one source into `sinks` (which stay open: the caller closes them).

    source: a Source or anything `open_source` takes. progress: called with the RunStats after every frame.
    times: an engines.timing.PartTimes that gets decode, sinks and the tracker's parts.
    Raises CaptureError (source problems), SinkError (output problems), ValueError (bad mode)."""
    if smooth not in MODES:
        raise ValueError(f"unknown smoothing {smooth!r}; choose one of {', '.join(MODES)}")
    src = open_source(source, fps=fps)
    stats = RunStats(source=src.name)
    if smooth == "rts" and src.live:
        src.close()
        raise CaptureError(f"{src.name}: --smooth rts needs a whole file, not a live source")
    if track is None:
        track = not src.independent
    if tracker is None:
        tracker = Tracker(cascade, smoother=make_smoother(smooth, params), track=track, **tracker_kwargs)
    if times is not None:
        tracker.time_parts(times)
    else:
        times = NO_TIMES
    model0 = tracker.model_s
    buffered: list = []
    lookahead = (Lookahead(tracker.smoother) if smooth == "lookahead" and tracker.track
                 and hasattr(tracker.smoother, "revise_previous") else None)

    def release(pair) -> None:
        if pair is not None:
            with times("sinks"):
                _write(sinks, *pair)

    def release_held_quietly() -> None:
        """The held frame, when the run ends early; what ended it wins over an error raised here."""
        if lookahead is not None:
            try:
                release(lookahead.flush())
            except Exception:
                pass

    t_start = time.perf_counter()
    frames = src.frames(stop)
    try:
        for s in sinks:     # the source is open: a CSV's header goes out now, not for an input that cannot be read
            if hasattr(s, "begin"):
                s.begin(src)
        for frame, decode_s in timed_frames(frames):
            stats.decode_s += decode_s
            times.add("decode", decode_s)
            result = tracker.step(frame)
            stats.frames += 1
            stats.reacquired += int(result.reacquired)
            stats.lost += int(result.lost is not None)
            stats.with_person += int(bool(np.isfinite(result.raw).all(-1).any()))
            if smooth == "rts" and tracker.track:     # stills are not smoothed: each is written as it comes
                buffered.append(result)
            elif lookahead is not None:     # write the previous frame first: a sink that stops or fails
                release(lookahead.take())     # on it leaves this one unwritten everywhere, as in `kalman`
                lookahead.hold(frame, result)
            else:
                with times("sinks"):
                    _write(sinks, frame, result)
            stats.model_s = tracker.model_s - model0
            stats.total_s = time.perf_counter() - t_start
            if progress is not None:
                progress(stats)
            if max_frames is not None and stats.frames >= max_frames:
                stats.stopped = f"max {max_frames} frames"
                break
            if stop is not None and stop.is_set():
                stats.stopped = "interrupted"
                break
        if lookahead is not None:
            release(lookahead.flush())
    except StopRequested as exc:
        stats.stopped, stats.stop_reason = "stop requested", str(exc)
        release_held_quietly()
    except BaseException:
        release_held_quietly()
        if buffered:  # keep what was processed; the original error wins over one raised here
            try:
                _flush_rts(src, buffered, sinks, params)
            except Exception:
                pass
            buffered = []
        raise
    finally:
        frames.close()
        src.close()
        stats.dropped = int(getattr(src, "dropped", 0))
        stats.model_s = tracker.model_s - model0
        stats.total_s = time.perf_counter() - t_start
    if buffered:
        try:
            _flush_rts(src, buffered, sinks, params)
        except StopRequested as exc:
            stats.stopped, stats.stop_reason = "stop requested", str(exc)
        stats.total_s = time.perf_counter() - t_start
    if getattr(src, "undecodable", None):
        stats.incomplete.append(f"{src.name}: {_frames_listed(src.undecodable)} could not be decoded and "
                                f"{'was' if len(src.undecodable) == 1 else 'were'} skipped (no row)")
    if getattr(src, "truncated", False):
        stats.incomplete.append(f"{src.name}: decoding stopped after {src.frames_read} of {src.frame_count} "
                                "frames (truncated file?)")
    if stop is not None and stop.is_set() and stats.stopped is None:
        stats.stopped = "interrupted"
    # A run cut short (the reader of stdout left, Ctrl-C, the window closed) says nothing about who is in the rest.
    cut_short = stats.stopped in ("stop requested", "interrupted")
    if stats.frames and not stats.with_person and not cut_short:
        stats.warnings.append(f"{src.name}: nobody was found in any of its {stats.frames} frames (every row is "
                              "empty)")
    if getattr(src, "skipped", None):
        stats.incomplete.append(f"{src.name}: {unreadable_images(src.skipped)}")
    return stats


def _frames_listed(indices, shown: int = 5) -> str:
    """"frame 7", "frames 7, 9 and 12", "12 frames (3, 4, 5, 6, 7, ...)"."""
    if len(indices) == 1:
        return f"frame {indices[0]}"
    if len(indices) <= shown:
        return f"frames {', '.join(map(str, indices[:-1]))} and {indices[-1]}"
    return f"{len(indices)} frames ({', '.join(map(str, indices[:shown]))}, ...)"
