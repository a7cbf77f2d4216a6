"""Where the joints go: CSV, NDJSON (file or stdout), UDP JSON datagrams. (Video and window: render.py.)

Every sink has `write(frame, result)` (a capture.Frame and a loop.TrackResult) and `close()`. A file sink
writes under a partial name beside its output (`out.partial-<pid>.csv`, engines.outputs.partial_path),
flushes every frame there, and `close()` moves it onto its name, also after Ctrl-C or an error: everything
processed before a fault is kept; a run that processed nothing leaves no file (an older file of that name
stays as it was). Only a hard kill leaves the partial file behind, holding every frame flushed before it. An
output that is a device or a named pipe (/dev/null, a FIFO another program reads) is written in place.

CSV (the README's Outputs): one row per frame, header `source,frame,time_s,` then `<joint>_x,<joint>_y,<joint>_conf`
for the 14 joints in `engines.joints.JOINT_NAMES` order; pixel coordinates of the original frame; an empty
cell where a joint was not found (NaN). `CsvSink(path)` writes the smoothed joints, `CsvSink(path,
which="raw")` the cascade's unsmoothed ones in the same schema (`--raw-csv`). Confidence is the cascade's.

NDJSON / UDP: one JSON object per frame:
    {"source": str, "frame": int, "time_s": float, "box": [cx, cy, side, angle], "reacquired": bool,
     "joints": {"r_ankle": [x, y, conf] | null, ...}}           (+ "raw": {...} with include_raw=True)
one line per frame for NDJSON, one datagram per frame for UDP.

Output paths that cannot be written raise `SinkError` (one line) when the sink is created (stdout too, when it is
closed); a write that fails (a full disk) raises it then, and the file keeps the lines written before, under its
name, without a last line the failure cut short. A reader that closes the pipe (`--csv - | head`) raises
StopRequested: the run ends cleanly.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import socket
import sys
from pathlib import Path

import numpy as np

from pose_track.engines.joints import JOINT_NAMES
from pose_track.engines.outputs import is_special_file, is_stdout, partial_path


class SinkError(Exception):
    """An output cannot be written. `str(err)` is a single line meant for the user."""


class StopRequested(Exception):
    """Raised by a sink to end the run cleanly: the --show window's q or Esc, or the reader of stdout gone.
    `str(exc)` says which, for the run's summary line."""

    def __init__(self, why: str = "stop requested"):
        super().__init__(why)


def csv_header() -> list[str]:
    cols = ["source", "frame", "time_s"]
    for name in JOINT_NAMES:
        cols += [f"{name}_x", f"{name}_y", f"{name}_conf"]
    return cols


def _num(v: float, fmt: str) -> str:
    return "" if v is None or not math.isfinite(v) else format(v, fmt)


def csv_row(source: str, frame: int, time_s: float, joints, conf) -> list[str]:
    joints = np.asarray(joints, np.float64).reshape(-1, 2)
    conf = np.asarray(conf, np.float64).reshape(-1)
    row = [source, str(int(frame)), _num(float(time_s), ".6f")]
    for (x, y), c in zip(joints, conf):
        if math.isfinite(x) and math.isfinite(y):
            row += [format(x, ".3f"), format(y, ".3f"), _num(float(c), ".4f")]
        else:
            row += ["", "", ""]
    return row


def missing_folder(path) -> str | None:
    """Why the folder that would hold `path` cannot: it does not exist, or it is a file. None when it is a folder."""
    parent = Path(path).resolve().parent
    if parent.is_dir():
        return None
    return f"{parent} is a file, not a folder" if parent.exists() else f"folder {parent} does not exist"


def check_writable(path: str, what: str = "output") -> None:
    """SinkError (one line) unless `path` can be written: not a folder, its folder exists, not read-only, and a
    file can be made beside it (where it will be written first; /proc, a read-only mount refuse it). '-' is
    stdout, refused when it is closed (`>&-`)."""
    if str(path) == "-" or is_stdout(str(path)):
        if sys.stdout is None or sys.stdout.closed:
            raise SinkError(f"cannot write {what} to stdout ('-'): stdout is closed")
        return
    if Path(path).is_dir() or str(path).endswith(("/", os.sep)):
        raise SinkError(f"cannot write {what} {path}: it is a folder (give a file name)")
    why = missing_folder(path)
    if why:
        raise SinkError(f"cannot write {path}: {why}")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise SinkError(f"cannot write {what} {path}: permission denied")
    if is_special_file(path):
        return
    probe = partial_path(os.path.realpath(path))
    if os.path.exists(probe):
        return
    try:
        open(probe, "w").close()
        os.remove(probe)
    except OSError as e:
        raise SinkError(f"cannot write {what} {path}: {e.strerror or e}") from None


class OutputFile:
    """A text output, '-' for stdout. A file is written under partial_path(path) beside it (`partial`) and
    `close(keep=True)` moves it onto `path`; `close(keep=False)` removes it, leaving `path` as it was.
    `write(text)` writes and flushes: SinkError when that fails (`failed` is then set), StopRequested when the
    reader of a pipe has gone."""

    def __init__(self, path, what: str = "output"):
        self.path = str(path)
        self.partial = None
        self.failed = False
        check_writable(self.path, what)
        if self.path == "-" or is_stdout(self.path):    # /dev/stdout redirected to a file (`>> log`): appended to
            self.stream = sys.stdout
            return
        self.target = os.path.realpath(self.path)  # a link: replace the file it points to, not the link
        if is_special_file(self.path):              # /dev/null, a pipe: written as it goes, never replaced
            try:
                self.stream = open(self.path, "w", newline="", encoding="utf-8", errors="surrogateescape")
            except OSError as e:
                raise SinkError(f"cannot write {what} {self.path}: {e.strerror or e}") from None
            return
        self.partial = partial_path(self.target)
        try:
            self.stream = open(self.partial, "w", newline="", encoding="utf-8", errors="surrogateescape")
        except OSError as e:
            raise SinkError(f"cannot write {what} {self.path}: {e.strerror or e}") from None

    def write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except OSError as e:
            self.failed = True
            name = "stdout" if self.path == "-" else self.path
            if isinstance(e, BrokenPipeError):      # `--csv - | head`: the reader has what it wanted
                raise StopRequested(f"the reader of {name} closed it") from None
            raise SinkError(f"writing {name} failed: {e.strerror or e}") from None

    def close(self, keep: bool = True) -> None:
        """Raises SinkError when what was left to write cannot be written, unless `write` already said so."""
        if self.stream is sys.stdout or self.stream.closed:
            return
        error = None
        try:
            self.stream.close()         # closes the file even when its last flush fails
        except OSError as e:
            error = e
        if self.partial is not None:
            if keep:
                if error is not None or self.failed:
                    _drop_cut_line(self.partial)
                os.replace(self.partial, self.target)
            else:
                os.remove(self.partial)
        if error is not None and not self.failed:
            self.failed = True
            raise SinkError(f"writing {self.path} failed: {error.strerror or error}")


def _drop_cut_line(path) -> None:
    """Remove the unfinished last line a failed write left at the end of the file `path`."""
    with open(path, "rb+") as f:
        end = pos = f.seek(0, os.SEEK_END)
        while pos > 0:
            start = max(0, pos - 4096)
            f.seek(start)
            chunk = f.read(pos - start)
            if pos == end and chunk.endswith(b"\n"):
                return
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                f.truncate(start + cut + 1)
                return
            pos = start
        f.truncate(0)


class CsvSink:
    """The wide CSV (the README's Outputs); `which` = 'smoothed' (default) or 'raw'. A file appears when the
    sink closes after at least one row (see the module docstring); a device or a pipe is written as it goes.
    The header is written when the first source opens (`begin`) or with the first row: an input that cannot be
    opened puts nothing on stdout."""

    needs_image = False

    def __init__(self, path, which: str = "smoothed"):
        if which not in ("smoothed", "raw"):
            raise ValueError("which must be 'smoothed' or 'raw'")
        self.path = str(path)
        self.which = which
        self.rows = 0
        self._out = OutputFile(path, "CSV")
        self._line = io.StringIO()
        self._w = csv.writer(self._line, lineterminator="\n")
        self._header = False

    def _format(self, row) -> str:
        self._line.seek(0)
        self._line.truncate()
        self._w.writerow(row)
        return self._line.getvalue()

    def begin(self, source=None) -> None:
        if not self._header:
            self._out.write(self._format(csv_header()))
            self._header = True

    def write_row(self, row) -> None:
        """One row of csv_row's form."""
        self.begin()
        self._out.write(self._format(row))
        self.rows += 1

    def write(self, frame, result) -> None:
        joints = result.raw if self.which == "raw" else result.smoothed
        self.write_row(csv_row(result.source, result.index, result.time_s, joints, result.confidence))

    def close(self) -> None:
        self._out.close(keep=self.rows > 0)


def write_pose_csv(path, source: str, frames, times, joints, conf) -> None:
    """Write a whole sequence (T, 14, 2) / (T, 14) in the CSV schema (used for ground truth); all or nothing."""
    write_pose_rows(path, ((source, i, t, j, c) for i, t, j, c in zip(frames, times, joints, conf)))


def write_pose_rows(path, rows) -> None:
    """Write rows (source, frame, time_s, joints (14, 2), conf (14,)) in the CSV schema; all or nothing. Through
    `OutputFile.write`: SinkError when writing fails, StopRequested when the reader of stdout has gone."""
    out = OutputFile(path, "CSV")
    done = False
    try:
        text = io.StringIO()
        w = csv.writer(text, lineterminator="\n")
        w.writerow(csv_header())
        for source, i, t, j, c in rows:
            w.writerow(csv_row(source, i, t, j, c))
        out.write(text.getvalue())
        done = True
    finally:
        out.close(keep=done)


def read_pose_csv(path) -> dict:
    """Read a CSV of this schema: {source: {"frame": (T,), "time_s": (T,), "joints": (T,14,2), "conf": (T,14)}}
    with NaN for empty cells, sources in order of first appearance."""
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != csv_header():
        raise ValueError(f"{path}: not a pose-track CSV (unexpected header)")
    per: dict = {}
    for r in rows[1:]:
        vals = np.array([float(v) if v != "" else np.nan for v in r[3:]], np.float64).reshape(-1, 3)
        d = per.setdefault(r[0], {"frame": [], "time_s": [], "joints": [], "conf": []})
        d["frame"].append(int(r[1]))
        d["time_s"].append(float(r[2]) if r[2] != "" else np.nan)
        d["joints"].append(vals[:, :2])
        d["conf"].append(vals[:, 2])
    return {s: {"frame": np.array(d["frame"]), "time_s": np.array(d["time_s"]),
                "joints": np.array(d["joints"], np.float32).reshape(-1, len(JOINT_NAMES), 2),
                "conf": np.array(d["conf"], np.float32).reshape(-1, len(JOINT_NAMES))}
            for s, d in per.items()}


def _joint_dict(joints, conf) -> dict:
    out = {}
    joints = np.asarray(joints, np.float64)
    conf = np.asarray(conf, np.float64)
    for name, (x, y), c in zip(JOINT_NAMES, joints, conf):
        if math.isfinite(x) and math.isfinite(y):
            out[name] = [round(x, 2), round(y, 2), round(c, 4) if math.isfinite(c) else None]
        else:
            out[name] = None
    return out


def record_dict(result, include_raw: bool = False) -> dict:
    """The JSON object for one frame (NDJSON line / UDP datagram)."""
    box = [round(float(v), 2) for v in result.box]
    d = {"source": result.source, "frame": int(result.index), "time_s": round(float(result.time_s), 6),
         "box": box, "reacquired": bool(result.reacquired),
         "joints": _joint_dict(result.smoothed, result.confidence)}
    if include_raw:
        d["raw"] = _joint_dict(result.raw, result.confidence)
    return d


class NdjsonSink:
    """One JSON object per line, to a file or stdout ('-'). A file appears when the sink closes after at least
    one line (see the module docstring)."""

    needs_image = False

    def __init__(self, path, include_raw: bool = False):
        self.path = str(path)
        self.include_raw = include_raw
        self.rows = 0
        self._out = OutputFile(path, "NDJSON")

    def write(self, frame, result) -> None:
        line = json.dumps(record_dict(result, self.include_raw), separators=(",", ":"), allow_nan=False)
        self._out.write(line + "\n")
        self.rows += 1

    def close(self) -> None:
        self._out.close(keep=self.rows > 0)


def parse_host_port(spec: str):
    """'HOST:PORT' or '[v6]:PORT' -> (host, port); SinkError on a bad spec."""
    s = str(spec).strip()
    if s.startswith("["):
        host, sep, rest = s[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, sep, port = s.rpartition(":")
    if not host or not port.isdigit() or not (0 < int(port) < 65536):
        raise SinkError(f"bad UDP address {spec!r}: expected HOST:PORT, e.g. 127.0.0.1:9000")
    return host, int(port)


class UdpSink:
    """One JSON datagram per frame to HOST:PORT. Best effort: a datagram that cannot be sent is counted in
    `errors`, and `warning()` says so once, at the end."""

    needs_image = False

    def __init__(self, spec: str, include_raw: bool = False):
        host, port = parse_host_port(spec)
        try:
            info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except socket.gaierror as e:
            raise SinkError(f"cannot resolve UDP host {host}: {e.strerror}") from None
        family, _, _, _, addr = info[0]
        self.spec = str(spec).strip()
        self.addr = addr
        self.include_raw = include_raw
        self.sent = 0
        self.errors = 0
        self.last_error = None
        self._sock = socket.socket(family, socket.SOCK_DGRAM)

    def write(self, frame, result) -> None:
        data = json.dumps(record_dict(result, self.include_raw), separators=(",", ":"), allow_nan=False)
        try:
            self._sock.sendto(data.encode("utf-8"), self.addr)
            self.sent += 1
        except OSError as e:
            self.errors += 1
            self.last_error = e.strerror or str(e)

    def warning(self) -> str | None:
        """A line for the user when datagrams could not be sent, else None."""
        if not self.errors:
            return None
        return (f"udp {self.spec}: {self.sent} of {self.sent + self.errors} datagrams sent "
                f"({self.last_error})")

    def close(self) -> None:
        self._sock.close()


def close_all(sinks) -> list[str]:
    """Close every sink; returns the one-line messages of those that failed (never raises)."""
    problems = []
    for s in sinks:
        try:
            s.close()
        except SinkError as e:
            problems.append(str(e))
        except Exception as e:  # noqa: BLE001 - closing must not hide the original error
            problems.append(f"{type(s).__name__}: {e}")
    return problems


__all__ = ["SinkError", "StopRequested", "OutputFile", "check_writable", "CsvSink", "NdjsonSink", "UdpSink",
           "csv_header", "csv_row", "write_pose_csv", "read_pose_csv", "record_dict", "parse_host_port", "close_all"]
