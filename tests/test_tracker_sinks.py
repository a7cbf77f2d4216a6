"""tracker.sinks and tracker.render: CSV schema, NaN cells, flush per frame, NDJSON, real UDP datagrams,
unwritable outputs, a full disk, annotated video, headless --show."""
import errno
import json
import os
import socket
import sys

import cv2
import numpy as np
import pytest

from pose_track.engines.joints import JOINT_NAMES
import pose_track.tracker.render as render
import pose_track.tracker.sinks as sinks
from pose_track.tracker.loop import TrackResult
from pose_track.tracker.render import VideoSink, WindowSink, confidence_color, draw_pose
from pose_track.tracker.sinks import (CsvSink, NdjsonSink, SinkError, StopRequested, UdpSink, csv_header,
                                      parse_host_port, read_pose_csv, record_dict, write_pose_csv)

from fakes import open_failing_after, writer_the_disk_cuts_short


def _result(i, nan_joint=None):
    rng = np.random.default_rng(i)
    raw = rng.uniform(5, 40, size=(14, 2)).astype(np.float32)
    sm = raw + 0.5
    if nan_joint is not None:
        sm[nan_joint] = np.nan
    return TrackResult(source="clip.mp4", index=i, time_s=i / 30, raw=raw, smoothed=sm,
                       confidence=np.linspace(0.1, 1.0, 14, dtype=np.float32), box=(20.0, 20.0, 30.0),
                       reacquired=(i == 0))


def test_csv_header_schema():
    h = csv_header()
    assert h[:3] == ["source", "frame", "time_s"] and len(h) == 3 + 3 * 14
    assert h[3:6] == ["r_ankle_x", "r_ankle_y", "r_ankle_conf"]
    assert h[-3:] == ["head_top_x", "head_top_y", "head_top_conf"]
    assert [c[:-2] for c in h[3::3]] == list(JOINT_NAMES)


def test_csv_rows_nan_is_empty_and_raw_option(tmp_path):
    path, raw_path = tmp_path / "out.csv", tmp_path / "raw.csv"
    sink, raw_sink = CsvSink(path), CsvSink(raw_path, which="raw")
    results = [_result(i, nan_joint=2 if i == 1 else None) for i in range(3)]
    for r in results:
        sink.write(None, r)
        raw_sink.write(None, r)
    sink.close()
    raw_sink.close()
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(csv_header()) and len(lines) == 4
    cells = lines[2].split(",")
    assert cells[:3] == ["clip.mp4", "1", "0.033333"]
    assert cells[3 + 3 * 2: 3 + 3 * 3] == ["", "", ""]  # r_hip not found -> empty cells
    data = read_pose_csv(path)["clip.mp4"]
    assert list(data["frame"]) == [0, 1, 2] and np.isnan(data["joints"][1, 2]).all()
    assert np.allclose(data["joints"][0], results[0].smoothed, atol=1e-3)
    assert np.allclose(data["conf"][0], results[0].confidence, atol=1e-4)
    raw = read_pose_csv(raw_path)["clip.mp4"]
    assert np.allclose(raw["joints"][1], results[1].raw, atol=1e-3)


def _partials(folder):
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


def test_csv_flushes_every_frame_to_a_partial_file(tmp_path):
    path = tmp_path / "out.csv"
    sink = CsvSink(path)
    for i in range(3):
        sink.write(None, _result(i))
        (partial,) = _partials(tmp_path)
        assert len((tmp_path / partial).read_text().splitlines()) == 2 + i  # on disk before close
        assert not path.exists()
    sink.close()
    assert len(path.read_text().splitlines()) == 4 and _partials(tmp_path) == []


@pytest.mark.parametrize("make", [CsvSink, NdjsonSink])
def test_a_sink_that_got_no_frame_leaves_no_file_and_an_older_one_whole(tmp_path, make):
    path = tmp_path / "out.txt"
    make(path).close()
    assert not path.exists() and _partials(tmp_path) == []
    path.write_text("an earlier run\n")
    make(path).close()
    assert path.read_text() == "an earlier run\n" and _partials(tmp_path) == []


def test_a_fault_keeps_the_frames_processed_before_it(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("an earlier run\n")
    sink = CsvSink(path)
    try:
        for i in range(3):
            sink.write(None, _result(i))
        raise RuntimeError("the model failed")
    except RuntimeError:
        pass
    finally:
        sink.close()
    assert list(read_pose_csv(path)["clip.mp4"]["frame"]) == [0, 1, 2] and _partials(tmp_path) == []


@pytest.mark.parametrize("make", [CsvSink, NdjsonSink])
def test_a_full_disk_keeps_the_lines_written_under_the_name_without_the_cut_one(tmp_path, monkeypatch, make):
    path = tmp_path / "out.txt"
    path.write_text("an earlier run\n")
    first_two = make(tmp_path / "measure.txt")
    for i in range(2):
        first_two.write(None, _result(i))
    first_two.close()
    room = len((tmp_path / "measure.txt").read_text()) + 40        # two lines and 40 characters of the third
    monkeypatch.setattr(sinks, "open", open_failing_after(room), raising=False)
    sink = make(path)
    sink.write(None, _result(0))
    sink.write(None, _result(1))
    with pytest.raises(SinkError, match=f"writing {path} failed: No space left on device$"):
        sink.write(None, _result(2))
    sink.close()                        # said once, by the write: closing keeps the lines and says nothing more
    assert path.read_text() == (tmp_path / "measure.txt").read_text() and _partials(tmp_path) == []


def test_a_full_device_is_one_error_and_a_closed_pipe_a_stop(tmp_path, monkeypatch):
    sink = CsvSink("/dev/full")
    with pytest.raises(SinkError, match="writing /dev/full failed: No space left on device"):
        sink.write(None, _result(0))
    sink.close()
    monkeypatch.setattr(sinks, "open", open_failing_after(10, errno.EPIPE), raising=False)
    sink = CsvSink(tmp_path / "pipe.csv")
    with pytest.raises(StopRequested):
        sink.write(None, _result(0))
    sink.close()


def test_closed_stdout_is_refused_when_the_sink_is_made(monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    for make in (CsvSink, NdjsonSink):
        with pytest.raises(SinkError, match=r"stdout \('-'\): stdout is closed"):
            make("-")


def test_the_csv_header_waits_for_an_open_source_or_the_first_row(capsys):
    sink = CsvSink("-")
    assert capsys.readouterr().out == ""            # an input that cannot be opened: nothing on stdout
    sink.begin(None)
    sink.begin(None)
    assert capsys.readouterr().out.splitlines() == [",".join(csv_header())]
    sink.write(None, _result(0))
    assert len(capsys.readouterr().out.splitlines()) == 1
    sink = CsvSink("-")
    sink.write(None, _result(0))
    assert capsys.readouterr().out.splitlines()[0] == ",".join(csv_header())


def test_write_pose_csv_is_all_or_nothing(tmp_path):
    path = tmp_path / "gt.csv"
    path.write_text("old\n")
    with pytest.raises(ValueError):
        write_pose_csv(path, "clip", [0, 1], [0.0, 0.1], [np.zeros((14, 2)), "bad"], np.ones((2, 14)))
    assert path.read_text() == "old\n" and _partials(tmp_path) == []


def test_ndjson_file_and_stdout(tmp_path, capsys):
    path = tmp_path / "out.ndjson"
    sink = NdjsonSink(path, include_raw=True)
    sink.write(None, _result(0, nan_joint=5))
    (partial,) = _partials(tmp_path)
    assert len((tmp_path / partial).read_text().splitlines()) == 1  # flushed
    sink.close()
    rec = json.loads(path.read_text().splitlines()[0])
    assert rec["frame"] == 0 and rec["source"] == "clip.mp4" and rec["reacquired"] is True
    assert rec["joints"]["l_ankle"] is None and len(rec["joints"]["r_ankle"]) == 3 and "raw" in rec
    out = NdjsonSink("-")
    out.write(None, _result(1))
    out.close()
    assert json.loads(capsys.readouterr().out)["frame"] == 1


def test_udp_sink_real_datagrams():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(2.0)
    port = rx.getsockname()[1]
    sink = UdpSink(f"127.0.0.1:{port}")
    try:
        for i in range(3):
            sink.write(None, _result(i))
        got = [json.loads(rx.recv(65536)) for _ in range(3)]
    finally:
        sink.close()
        rx.close()
    assert [g["frame"] for g in got] == [0, 1, 2] and sink.sent == 3
    assert got[0] == json.loads(json.dumps(record_dict(_result(0))))


class _Refused:
    def sendto(self, data, addr):
        raise PermissionError(errno.EACCES, "Permission denied")

    def close(self):
        pass


def test_udp_datagrams_that_could_not_be_sent_are_said_once():
    sink = UdpSink("127.0.0.1:9")
    assert sink.warning() is None
    sink._sock.close()
    sink._sock = _Refused()
    for i in range(3):
        sink.write(None, _result(i))
    sink.close()
    assert sink.warning() == "udp 127.0.0.1:9: 0 of 3 datagrams sent (Permission denied)"


def test_bad_udp_address():
    assert parse_host_port("[::1]:9000") == ("::1", 9000)
    for bad in ("localhost", "host:port", "1.2.3.4:70000", ":9000"):
        with pytest.raises(SinkError, match="HOST:PORT"):
            UdpSink(bad)


def test_unwritable_outputs(tmp_path):
    for make in (CsvSink, NdjsonSink, VideoSink):
        with pytest.raises(SinkError, match="does not exist") as e:
            make(tmp_path / "no" / "such" / "out.x")
        assert "\n" not in str(e.value)
        with pytest.raises(SinkError, match="folder"):
            make(tmp_path)  # a folder, not a file
        (tmp_path / "a_file").write_text("")
        with pytest.raises(SinkError, match="a_file is a file, not a folder"):
            make(tmp_path / "a_file" / "out.mp4")


def test_a_turned_box_is_drawn_where_its_crop_lies():
    """A box with an angle (body-aligned crops): its outline is the turned crop's edge, mapped back to the picture."""
    from pose_track.engines.geometry import apply_affine, crop_matrix, invert_affine

    img = np.zeros((200, 240, 3), np.uint8)
    box, size = (120.0, 100.0, 110.0, 25.0), 192
    out = draw_pose(img, np.full((14, 2), np.nan), box=box)
    back = invert_affine(crop_matrix(box[:3], size, box[3]))
    along = np.linspace(10, size - 10, 7)
    edge = np.array([[t, -0.5] for t in along] + [[size - 0.5, t] for t in along], np.float32)
    for x, y in np.round(apply_affine(back, edge)).astype(int):        # the crop's top and right edges
        assert out[y - 1:y + 2, x - 1:x + 2].max() > 0, (x, y)


def test_an_output_the_user_may_not_write_is_refused_in_one_line(tmp_path, monkeypatch):
    """Whatever the privileges the tests run with (root writes into a read-only folder): the system's refusal
    to make the file, and a file the user may not write, are each one line, and nothing is left or changed."""
    import pose_track.tracker.sinks as sinks

    def refused(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.setattr(sinks, "open", refused, raising=False)
    for make in (CsvSink, NdjsonSink):
        with pytest.raises(SinkError, match="cannot write .*Permission denied") as e:
            make(folder / "poses.x")
        assert "\n" not in str(e.value) and os.listdir(folder) == []
    mine = folder / "mine.csv"
    mine.write_text("keep me")
    monkeypatch.setattr(sinks.os, "access", lambda path, mode: False)
    with pytest.raises(SinkError, match="mine.csv: permission denied"):
        CsvSink(mine)
    monkeypatch.undo()
    assert mine.read_text() == "keep me" and os.listdir(folder) == ["mine.csv"]


def test_draw_pose_and_colours():
    img = np.zeros((320, 320, 3), np.uint8)
    # A figure on whole pixels whose limbs run straight across or down (their middles are exact pixels).
    joints = np.array([[120, 290], [120, 230], [120, 170], [200, 170], [200, 230], [200, 290],   # legs, hips
                       [40, 60], [80, 60], [120, 60], [200, 60], [240, 60], [280, 60],       # arms
                       [160, 60], [160, 20]], np.float64)
    joints[3] = np.nan                                                   # the left hip: not in the picture
    conf = np.linspace(0, 1, 14)
    out = draw_pose(img, joints, conf)
    assert img.sum() == 0                                               # drew on a copy
    for j in np.flatnonzero(np.isfinite(joints).all(1)):
        x, y = joints[j].astype(int)
        assert tuple(int(v) for v in out[y, x]) == confidence_color(conf[j])     # each joint, in its colour
    assert (out[200, 120] >= 200).all() and (out[60, 100] >= 200).all()    # white limbs (right thigh, upper arm)
    assert (out[170, 200] == 0).all() and (out[170, 160] == 0).all()      # nothing at or towards the missing hip
    assert (out[230, 200] != 0).any()                                   # the knee below it is still drawn
    boxed = draw_pose(img, joints, conf, box=(160, 160, 300))
    edge = boxed[10, 160].astype(int)                                   # the crop's box, on its top edge: cyan
    assert edge[0] >= 200 and edge[1] >= 200 and edge[2] == 0 and (out[10, 160] == 0).all()
    assert confidence_color(0.0) == (0, 0, 255) and confidence_color(1.0) == (0, 255, 0)
    assert confidence_color(0.5) == (0, 255, 255) and confidence_color(float("nan")) == (160, 160, 160)


def test_video_sink_writes_readable_mp4(tmp_path):
    path = tmp_path / "out.mp4"
    sink = VideoSink(path, fps=10)
    frame = type("F", (), {"image": np.zeros((48, 64, 3), np.uint8)})()
    for i in range(5):
        sink.write(frame, _result(i))
    sink.close()
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 5 and _partials(tmp_path) == []


@pytest.mark.parametrize("name, kept", [("out.mp4", False), ("out.avi", True)])
def test_a_render_the_disk_cut_short_is_an_error(tmp_path, monkeypatch, name, kept):
    path = tmp_path / name
    path.write_bytes(b"an earlier render")
    monkeypatch.setattr(render.cv2, "VideoWriter", writer_the_disk_cuts_short(0.5))
    sink = VideoSink(path, fps=10)
    rng = np.random.default_rng(0)
    for i in range(10):
        frame = type("F", (), {"image": rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)})()
        sink.write(frame, _result(i))
    with pytest.raises(SinkError, match=f"^writing video {path} failed: ") as e:
        sink.close()
    assert "\n" not in str(e.value) and _partials(tmp_path) == []
    if kept:        # its first frames play: kept under its name, as the CSV keeps its rows
        assert "holds only part of the 10 frames" in str(e.value)
        assert cv2.VideoCapture(str(path)).read()[0]
    else:           # nothing plays: removed, and the older file stays
        assert "removed" in str(e.value) and path.read_bytes() == b"an earlier render"


def test_video_sink_without_a_frame_leaves_nothing_and_needs_a_video_suffix(tmp_path):
    VideoSink(tmp_path / "out.mp4").close()
    assert list(tmp_path.iterdir()) == []
    for name in ("out", "out.webm", "out.csv"):
        with pytest.raises(SinkError, match=r"\.mp4.*\.avi.*folder ending with '/'") as e:
            VideoSink(tmp_path / name)
        assert "\n" not in str(e.value)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY check is for Linux")
def test_show_headless_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(SinkError, match="needs a display") as e:
        WindowSink()
    assert "\n" not in str(e.value)


def test_pictures_of_other_sizes_keep_their_shape_in_a_rendered_video():
    from pose_track.tracker.render import letterbox

    wide = np.full((100, 400, 3), 200, np.uint8)         # 4:1 into a 4:3 frame: black above and below
    out = letterbox(wide, (640, 480))
    assert out.shape == (480, 640, 3)
    rows = np.flatnonzero(out[:, 320, 0] > 100)
    assert rows[0] == 160 and rows[-1] == 319           # 160 rows of picture, centred
    assert (out[:, :, 0] > 100).all(0).sum() == 0 and (out[240] > 100).all()
    tall = np.full((300, 100, 3), 200, np.uint8)
    cols = np.flatnonzero(letterbox(tall, (640, 480))[240, :, 0] > 100)
    assert cols[0] == 240 and cols[-1] == 399


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X displays on Linux")
def test_an_x_display_that_does_not_answer_is_said_not_aborted_on(monkeypatch):
    import socket

    from pose_track.tracker.render import display_available, x_display_answers

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as local, socket.socket() as remote:
        local.bind("\0/tmp/.X11-unix/X%d" % 4242)
        local.listen(1)
        remote.bind(("127.0.0.1", 0))
        remote.listen(1)
        number = remote.getsockname()[1] - 6000
        assert x_display_answers(":4242") and x_display_answers(f"127.0.0.1:{number}.0")
    assert not x_display_answers(":4242") and not x_display_answers(f"127.0.0.1:{number}")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":4242")
    assert display_available() == (False, "--show: the display :4242 does not answer; use --render OUT.mp4")


def test_a_live_render_plays_at_the_rate_its_frames_came(tmp_path):
    live = type("Live", (), {"live": True, "fps": 25.0})()     # what FFmpeg declares for any MJPEG stream
    for n in (40, 6):                                           # longer than the measuring, and shorter
        path = tmp_path / f"live{n}.avi"
        sink = VideoSink(path)
        sink.begin(live)
        for i in range(n):
            frame = type("F", (), {"image": np.zeros((48, 64, 3), np.uint8), "time_s": 3.0 + i / 12.0})()
            sink.write(frame, _result(i))
        sink.close()
        cap = cv2.VideoCapture(str(path))
        assert abs(cap.get(cv2.CAP_PROP_FPS) - 12.0) < 0.5 and cap.get(cv2.CAP_PROP_FRAME_COUNT) == n
    still = type("File", (), {"live": False, "fps": 25.0})()
    sink = VideoSink(tmp_path / "file.avi")
    sink.begin(still)
    sink.write(type("F", (), {"image": np.zeros((48, 64, 3), np.uint8), "time_s": 0.0})(), _result(0))
    sink.close()
    assert abs(cv2.VideoCapture(str(tmp_path / "file.avi")).get(cv2.CAP_PROP_FPS) - 25.0) < 0.5


@pytest.mark.parametrize("name", ["slow.mp4", "slow.avi"])
def test_a_file_with_a_nearly_zero_frame_rate_is_rendered_at_one_frame_a_second(tmp_path, name):
    damaged = type("File", (), {"live": False, "fps": 0.001})()     # a damaged header's rate, refused by OpenCV
    sink = VideoSink(tmp_path / name)
    sink.begin(damaged)
    for i in range(3):
        sink.write(type("F", (), {"image": np.zeros((48, 64, 3), np.uint8), "time_s": i * 1000.0})(), _result(i))
    sink.close()
    cap = cv2.VideoCapture(str(tmp_path / name))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 3 and abs(cap.get(cv2.CAP_PROP_FPS) - 1.0) < 0.1


def test_a_size_the_video_writer_refuses_is_named_in_one_line(tmp_path):
    sink = VideoSink(tmp_path / "dot.mp4", fps=30)
    with pytest.raises(SinkError, match=r"dot\.mp4: OpenCV's video writer refused mp4v at 1x1, 30 frames/s$"):
        sink.write(type("F", (), {"image": np.zeros((1, 1, 3), np.uint8)})(), _result(0))
    assert list(tmp_path.iterdir()) == []
