"""tracker.capture: video files, image folders, live latest-frame-wins, and the one-line errors."""
import threading
import time

import cv2
import numpy as np
import pytest

from pose_track.tracker.capture import (CaptureError, ImageFolderSource, LiveSource, VideoFileSource, expand_inputs,
                             open_source)

W, H, N, FPS = 64, 48, 20, 25.0


def _write_video(path, n=N, fps=FPS):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (W, H))
    assert w.isOpened()
    for i in range(n):
        img = np.zeros((H, W, 3), np.uint8)
        cv2.rectangle(img, (2 * i, 10), (2 * i + 10, 30), (255, 255, 255), -1)
        w.write(img)
    w.release()
    return path


@pytest.fixture
def video(tmp_path):
    return _write_video(tmp_path / "clip.mp4")


def test_video_file_frames_timestamps_no_drops(video):
    src = open_source(str(video))
    assert isinstance(src, VideoFileSource) and not src.live and src.fps == pytest.approx(FPS)
    frames = list(src)
    assert [f.index for f in frames] == list(range(N))
    assert np.allclose([f.time_s for f in frames], np.arange(N) / FPS, atol=1e-3)
    assert all(f.image.shape == (H, W, 3) and f.source_name == str(video) for f in frames)
    assert src.dropped == 0 and not src.truncated


def test_a_timestamp_that_repeats_or_goes_back_never_turns_the_time_back():
    """Frames 40 ms apart in a file whose header says 30 frames/s: one timestamp repeats, one goes back."""
    from types import SimpleNamespace

    source = SimpleNamespace(fps=30.0)
    stamps_ms = [40 * i for i in range(60)]
    stamps_ms[50] = stamps_ms[49]                  # repeated: frame 50 at 50/30 s would lie 0.3 s in the past
    stamps_ms[55] = stamps_ms[53]                  # gone back
    times, prev = [], None
    for index, ms in enumerate(stamps_ms):
        prev = VideoFileSource._time(source, index, ms, prev)
        times.append(prev)
    assert all(b > a for a, b in zip(times, times[1:])), times
    assert times[49] == 1.96 and times[51] == 2.04 and times[59] == 2.36     # the container's where it moves on
    no_stamps = [VideoFileSource._time(source, i, 0.0, i and (i - 1) / 30.0) for i in range(4)]
    assert no_stamps == pytest.approx([0.0, 1 / 30, 2 / 30, 3 / 30])        # none at all: the declared rate


def test_video_file_reopen_reads_again(video):
    src = open_source(str(video))
    assert sum(1 for _ in src) == N
    assert sum(1 for _ in src.reopen()) == N


def test_image_folder_sorted_names_indices(tmp_path):
    for i in (1, 2, 10):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((H, W, 3), i, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.jpg").write_bytes(b"garbage")
    src = open_source(str(tmp_path))
    assert isinstance(src, ImageFolderSource) and src.independent
    frames = list(src)
    # natural order: broken.jpg, f1, f2, f10 -> broken is skipped, indices keep their position
    assert [f.source_name for f in frames] == ["f1.png", "f2.png", "f10.png"]
    assert [f.index for f in frames] == [1, 2, 3]
    assert [f.time_s for f in frames] == pytest.approx([1 / 30, 2 / 30, 3 / 30])
    assert src.skipped == ["broken.jpg"] and src.dropped == 0


def test_missing_file(tmp_path):
    with pytest.raises(CaptureError, match="not found"):
        open_source(str(tmp_path / "nope.mp4"))
    with pytest.raises(CaptureError, match="not found"):
        VideoFileSource(tmp_path / "nope.mp4")


def test_corrupt_file(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CaptureError, match="cannot open video") as e:
        open_source(str(bad))
    assert "\n" not in str(e.value)


def test_truncated_and_empty_file(tmp_path, video):
    data = video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CaptureError, match="corrupt, truncated"):
        open_source(str(cut))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(CaptureError, match="empty"):
        open_source(str(empty))


def test_empty_folder(tmp_path):
    with pytest.raises(CaptureError, match="no images in folder"):
        open_source(str(tmp_path))
    with pytest.raises(CaptureError, match="no videos or images"):
        expand_inputs([str(tmp_path)])


def test_camera_that_does_not_open():
    with pytest.raises(CaptureError, match="camera 99") as e:
        open_source(99)
    assert "\n" not in str(e.value)
    with pytest.raises(CaptureError, match="camera 99"):
        open_source("99")


def test_expand_inputs_folder_of_videos(tmp_path):
    _write_video(tmp_path / "b10.mp4", n=3)
    _write_video(tmp_path / "b2.mp4", n=3)
    assert expand_inputs([str(tmp_path)]) == [str(tmp_path / "b2.mp4"), str(tmp_path / "b10.mp4")]
    cv2.imwrite(str(tmp_path / "photo.jpg"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "more").mkdir()
    notes = []
    assert expand_inputs([str(tmp_path)], notes) == [str(tmp_path / "b2.mp4"), str(tmp_path / "b10.mp4")]
    assert notes == [f"{tmp_path}: 1 picture and 1 subfolder not read (a folder of videos gives its videos; give a "
                     "folder of pictures on its own)"]


def test_hidden_files_of_a_folder_are_no_inputs(tmp_path):
    videos, pictures = tmp_path / "videos", tmp_path / "pictures"
    videos.mkdir(), pictures.mkdir()
    _write_video(videos / "CLIP.MP4", n=3)
    (videos / "._CLIP.MP4").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    assert expand_inputs([str(videos)]) == [str(videos / "CLIP.MP4")]
    cv2.imwrite(str(pictures / "a.jpg"), np.zeros((8, 8, 3), np.uint8))
    (pictures / "._a.jpg").write_bytes(b"\x00\x05\x16\x07")
    assert [f.name for f in ImageFolderSource(str(pictures)).files] == ["a.jpg"]


def test_a_file_named_like_a_camera_is_that_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_video(tmp_path / "clip.mp4", n=3).rename(tmp_path / "0")
    (spec,) = expand_inputs(["0"])
    assert spec == "./0"
    src = open_source(spec)
    assert len(list(src.frames())) == 3
    assert expand_inputs(["1"]) == ["1"]          # no such file: camera 1


def test_a_folder_named_like_a_camera_is_that_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "0").mkdir()
    for k in range(2):
        cv2.imwrite(str(tmp_path / "0" / f"p{k}.png"), np.full((32, 48, 3), 40 * k, np.uint8))
    (spec,) = expand_inputs(["0"])
    assert spec == "./0"
    assert [f.source_name for f in open_source(spec).frames()] == ["p0.png", "p1.png"]


class FastCamera:
    """A fake camera delivering a frame every 2 ms."""

    def __init__(self, limit=None):
        self.n = 0
        self.limit = limit
        self.released = False

    def read(self):
        if self.limit is not None and self.n >= self.limit:
            return False, None
        time.sleep(0.002)
        self.n += 1
        return True, np.full((4, 4, 3), self.n % 256, np.uint8)

    def release(self):
        self.released = True


def test_live_latest_frame_wins_counts_drops():
    cam = FastCamera()
    src = LiveSource(cam, "fake")
    got = []
    for f in src.frames():
        got.append(f)
        time.sleep(0.02)  # a slow consumer
        if len(got) == 6:
            break
    indices = [f.index for f in got]
    assert indices == sorted(indices) and len(set(indices)) == 6
    assert src.dropped > 0
    assert indices[-1] - indices[0] > 5  # we skipped to the newest frames
    times = [f.time_s for f in got]
    assert all(b > a for a, b in zip(times, times[1:]))
    assert cam.released and not src._thread.is_alive()


def test_live_stop_event_and_end_of_stream():
    src = LiveSource(FastCamera(limit=5), "fake", max_failures=2)
    got = []
    with pytest.raises(CaptureError, match=r"fake ended after 5 frames \(the stream closed or the camera stopped\)"):
        for frame in src.frames():       # a camera or stream that stops delivering is said, after its frames
            got.append(frame)
    assert 1 <= len(got) <= 5
    stop = threading.Event()
    stop.set()
    src2 = LiveSource(FastCamera(), "fake")
    assert len(list(src2.frames(stop))) <= 1


def test_a_live_source_that_ends_says_how_many_of_its_frames_the_tracker_dropped():
    src = LiveSource(FastCamera(limit=40), "fake", max_failures=2)
    got = []
    with pytest.raises(CaptureError) as ended:
        for frame in src.frames():
            got.append(frame)
            time.sleep(0.02)                 # a tracker slower than the camera
    assert src.dropped > 0 and len(got) + src.dropped == 40
    assert str(ended.value) == (f"fake ended after 40 frames (the stream closed or the camera stopped); {src.dropped} "
                                "of them came while the tracker was busy and were dropped (a live source gives its "
                                "newest frame)")


def test_live_no_frame_is_an_error():
    src = LiveSource(FastCamera(limit=0), "fake", max_failures=1)
    with pytest.raises(CaptureError, match="delivered no frame"):
        list(src.frames())


def test_a_file_url_is_read_as_the_file(tmp_path):
    _write_video(tmp_path / "a clip.mp4", n=3)
    (spec,) = expand_inputs([(tmp_path / "a clip.mp4").as_uri()])
    assert spec == str(tmp_path / "a clip.mp4")
    assert not open_source(spec).live
    for url in ("file://a clip.mp4", "file://elsewhere/a.mp4"):
        with pytest.raises(CaptureError, match="file:///path"):
            expand_inputs([url])


def test_a_jpeg_cut_short_is_unreadable_but_not_one_with_bytes_after_its_end_or_a_png_named_jpg(tmp_path):
    image = np.zeros((40, 60, 3), np.uint8)
    image[10:30, 20:40] = (30, 160, 220)
    whole = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    (tmp_path / "a_whole.jpg").write_bytes(whole)
    (tmp_path / "b_motion_photo.jpg").write_bytes(whole + b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    (tmp_path / "c_png_named.jpg").write_bytes(cv2.imencode(".png", image)[1].tobytes())
    (tmp_path / "d_cut.jpg").write_bytes(whole[:len(whole) * 2 // 3])
    app0_end = 4 + int.from_bytes(whole[4:6], "big")          # stray bytes after a segment: libjpeg skips them
    (tmp_path / "b2_stray.jpg").write_bytes(whole[:app0_end] + b"\x00\x00" + whole[app0_end:])
    cv2.imwrite(str(tmp_path / "e.gif"), image)
    source = ImageFolderSource(str(tmp_path))
    assert [f.source_name for f in source.frames()] == ["a_whole.jpg", "b2_stray.jpg", "b_motion_photo.jpg",
                                                        "c_png_named.jpg", "e.gif"]
    assert source.skipped == ["d_cut.jpg"]


def test_a_png_cut_short_is_unreadable_without_a_word_from_libpng(tmp_path, capfd):
    png = cv2.imencode(".png", np.full((40, 60, 3), 90, np.uint8))[1].tobytes()
    (tmp_path / "a_whole.png").write_bytes(png)
    (tmp_path / "b_trailing.png").write_bytes(png + b"bytes after the end")
    (tmp_path / "c_cut.png").write_bytes(png[:len(png) // 2])
    (tmp_path / "d_cut_in_iend.png").write_bytes(png[:-2])
    source = ImageFolderSource(str(tmp_path))
    assert [f.source_name for f in source.frames()] == ["a_whole.png", "b_trailing.png"]
    assert source.skipped == ["c_cut.png", "d_cut_in_iend.png"]
    assert "libpng" not in capfd.readouterr().err


class _BlockedCamera:
    """A stream that stalls inside read() until told to go on; release() under that read() would crash OpenCV."""

    def __init__(self):
        self.go_on, self.reading, self.released_during_read = threading.Event(), threading.Event(), False
        self.released = False

    def read(self):
        self.reading.set()
        self.go_on.wait(5)
        return False, None

    def release(self):
        self.released_during_read = self.reading.is_set() and not self.go_on.is_set()
        self.released = True


def test_a_stalled_read_is_never_released_under_and_is_released_once_it_returns():
    cam = _BlockedCamera()
    src = LiveSource(cam, "stalled", max_failures=1)
    assert cam.reading.wait(2)
    t0 = time.monotonic()
    src.close()
    assert time.monotonic() - t0 < 3 and not cam.released
    cam.go_on.set()
    src._thread.join(2)
    assert cam.released and not cam.released_during_read


def test_camera_indexes_out_of_range_and_empty_names_are_one_line():
    with pytest.raises(CaptureError, match="no such camera index"):
        open_source("99999999999999999999")
    with pytest.raises(CaptureError, match=r"a camera index is 0 or more"):
        open_source("-1")
    with pytest.raises(CaptureError, match="an empty input name"):
        open_source("")
    with pytest.raises(CaptureError, match="input not found: ²"):
        open_source("²")                # a digit to str.isdigit, not a camera index


def test_credentials_never_reach_a_message():
    from pose_track.tracker.capture import _redact

    assert _redact("http://user:s3cr3t@127.0.0.1:99999/v.mjpg") == "http://127.0.0.1:99999/v.mjpg"
    assert _redact("rtsp://u:p@[127.0.0.1/x") == "rtsp://[127.0.0.1/x"
    assert _redact("rtsp://admin:pa/ss@host/live") == "rtsp://host/live"
    assert _redact("http://example.com/v.mjpg") == "http://example.com/v.mjpg"


def test_a_stream_that_never_answers_is_given_up(monkeypatch):
    import pose_track.tracker.capture as capture

    class NeverOpens:
        def __init__(self, *args):
            time.sleep(8)

        def release(self):
            pass

    monkeypatch.setattr(capture.cv2, "VideoCapture", NeverOpens)
    t0 = time.monotonic()
    with pytest.raises(CaptureError, match="did not open within 0 s"):
        capture._open_capture("http://127.0.0.1:9/v.mjpg", "s", "stream s", timeout=0.2)
    assert time.monotonic() - t0 < 6


def test_a_stream_whose_opening_raises_could_not_be_opened(monkeypatch):
    import pose_track.tracker.capture as capture

    def raising(*args):
        raise capture.cv2.error("bad URL")

    monkeypatch.setattr(capture.cv2, "VideoCapture", raising)
    with pytest.raises(CaptureError, match="^stream s could not be opened$"):
        capture._open_capture("http://127.0.0.1:9/v.mjpg", "s", "stream s", timeout=5)


def _mjpg_with_damaged_frames(path, damaged, n=12):
    """An MJPG .avi of n frames whose JPEGs at the indices `damaged` are zeroed between their start and end
    markers (the container intact), as a damaged frame of a camera's MJPEG recording."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (W, H))
    assert w.isOpened()
    rng = np.random.default_rng(0)
    for i in range(n):
        w.write(rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
    w.release()
    data = bytearray(path.read_bytes())
    starts = [k for k in range(len(data) - 2) if data[k:k + 3] == b"\xff\xd8\xff"]
    assert len(starts) == n
    for i in damaged:
        end = data.index(b"\xff\xd9", starts[i])
        data[starts[i] + 2:end] = bytes(end - starts[i] - 2)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("damaged", [[5], [0, 7, 8]])
def test_frames_the_decoder_cannot_read_are_skipped_and_listed(tmp_path, damaged):
    from pose_track.tracker.run import process_source
    from fakes import NobodyThere

    video = _mjpg_with_damaged_frames(tmp_path / "cam.avi", damaged)
    src = open_source(str(video))
    frames = list(src)
    kept = [i for i in range(12) if i not in damaged]
    assert [f.index for f in frames] == kept                     # each row keeps its frame's number in the file
    assert np.allclose([f.time_s for f in frames], np.array(kept) / FPS, atol=1e-3)
    assert src.undecodable == damaged and not src.truncated
    stats = process_source(str(video), NobodyThere(np.zeros((12, 14, 2))), [], finder=None)
    assert stats.frames == len(kept)
    listed = "frame 5 could not be decoded and was skipped" if damaged == [5] else \
        "frames 0, 7 and 8 could not be decoded and were skipped"
    assert [line for line in stats.incomplete if "decoded" in line] == [f"{video}: {listed} (no row)"]


def test_an_animated_gif_is_read_as_a_video_and_a_still_gif_as_a_picture(tmp_path):
    Image = pytest.importorskip("PIL.Image")

    pictures = [Image.fromarray(np.full((H, W, 3), 40 * i, np.uint8)) for i in range(4)]
    pictures[0].save(tmp_path / "anim.gif", save_all=True, append_images=pictures[1:], duration=100, loop=0)
    pictures[0].save(tmp_path / "still.gif")
    anim = open_source(str(tmp_path / "anim.gif"))
    assert isinstance(anim, VideoFileSource) and not anim.independent
    assert [f.index for f in anim] == [0, 1, 2, 3]
    still = open_source(str(tmp_path / "still.gif"))
    assert isinstance(still, ImageFolderSource) and [f.index for f in still] == [0]


def _png(width, height, rows=50):
    """A PNG whose header says width x height, with only its first rows of pixels (a decoder that refuses the size
    reads none of them)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    packer = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * (width * 3)
    pixels = b"".join(packer.compress(row) for _ in range(rows)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def test_a_picture_over_opencvs_size_limit_is_named_so(tmp_path):
    from pose_track.tracker.capture import picture_size

    ok, jpeg = cv2.imencode(".jpg", np.zeros((30, 70, 3), np.uint8))
    assert picture_size(jpeg.tobytes()) == (70, 30) and picture_size(_png(40000, 30000)) == (40000, 30000)
    assert picture_size(b"GIF89a....") is None
    (tmp_path / "pano.png").write_bytes(_png(40000, 30000))          # 1.2 gigapixels: a stitched panorama
    with pytest.raises(CaptureError, match=r"pano.png: 40000 x 30000 pixels, over the 1073741824 OpenCV reads"):
        list(ImageFolderSource(str(tmp_path / "pano.png")).frames())
    cv2.imwrite(str(tmp_path / "small.png"), np.zeros((20, 20, 3), np.uint8))
    source = ImageFolderSource(str(tmp_path))
    assert len(list(source.frames())) == 1 and source.skipped[0].startswith("pano.png (40000 x 30000 pixels")
