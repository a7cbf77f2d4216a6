"""commands.video: `video` and `webcam` end to end with a fake cascade (no model), and their one-line errors."""
import csv
import json
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

import pose_track.commands.video as commands
from pose_track.engines.outputs import OWN_OUTPUTS
from pose_track.benchmarks.clipmaker import make_clip, synthetic_person
from fakes import FakeCascade, estimator_of
from pose_track.tracker.sinks import read_pose_csv
from conftest import refused_in_one_line


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    out = []
    for seed in (0, 1):
        img, joints = synthetic_person(64, 48, seed)
        out.append(make_clip(img, joints, d / f"c{seed}.mp4", n_frames=20, fps=25, seed=seed, translate=0.08))
    return d, out


@pytest.fixture
def fake_model(monkeypatch, clips):
    _, infos = clips
    gt = np.concatenate([i.joints for i in infos])  # the fake walks through both clips' frames in order
    monkeypatch.setattr(commands, "load_estimator", estimator_of(FakeCascade(gt, noise=0.01)))


def _run(*args):
    return CliRunner().invoke(commands.video, [str(a) for a in args], catch_exceptions=False)


def test_video_single_csv_for_a_folder_of_videos(tmp_path, clips, fake_model):
    d, infos = clips
    out = tmp_path / "all.csv"
    res = _run(d, "--csv", out, "--raw-csv", tmp_path / "raw.csv", "--ndjson", "-")
    assert res.exit_code == 0, res.output
    data = read_pose_csv(out)
    assert list(data) == [str(d / "c0.mp4"), str(d / "c1.mp4")]
    assert all(len(v["frame"]) == 20 for v in data.values())
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    assert len(lines) == 40 and json.loads(lines[0])["frame"] == 0
    assert "frames/s" in res.stderr


def test_video_csv_folder_per_input_and_rts(tmp_path, clips, fake_model):
    d, _ = clips
    res = _run(d / "c0.mp4", d / "c1.mp4", "--csv", f"{tmp_path}/csvs/", "--smooth", "rts",
               "--render", f"{tmp_path}/renders/")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "csvs").iterdir()) == [OWN_OUTPUTS, "c0.csv", "c1.csv"]
    assert sorted(p.name for p in (tmp_path / "renders").iterdir()) == [OWN_OUTPUTS, "c0.mp4", "c1.mp4"]


def test_video_errors_are_one_line(tmp_path, clips, fake_model):
    d, _ = clips
    assert "not found" in refused_in_one_line(_run(tmp_path / "missing.mp4", "--csv", tmp_path / "o.csv"))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(2048))
    assert "cannot open video" in refused_in_one_line(_run(bad, "--csv", tmp_path / "o.csv"))
    assert "does not exist" in refused_in_one_line(_run(d / "c0.mp4", "--csv", tmp_path / "nope" / "o.csv"))
    assert "nothing to write" in refused_in_one_line(_run(d / "c0.mp4"), exit_code=2)
    two_into_one = _run(d / "c0.mp4", d / "c1.mp4", "--render", tmp_path / "one.mp4")
    assert "folder" in refused_in_one_line(two_into_one, exit_code=2)
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "one.mp4").exists()


def test_video_bad_input_among_several_keeps_going(tmp_path, clips, fake_model):
    d, _ = clips
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 100)
    out = tmp_path / "o.csv"
    res = _run(bad, d / "c0.mp4", "--csv", out)
    assert res.exit_code == 1 and "1 of 2 inputs failed" in res.output
    assert list(read_pose_csv(out)) == [str(d / "c0.mp4")]


def test_webcam_that_does_not_open(tmp_path, fake_model):
    res = CliRunner().invoke(commands.webcam, ["--device", "99", "--csv", str(tmp_path / "w.csv")])
    assert res.exit_code == 1 and "camera 99" in res.output and len(res.output.strip().splitlines()) == 1


def test_webcam_on_a_file_stops_at_max_frames(tmp_path, clips, fake_model):
    d, _ = clips
    out = tmp_path / "w.csv"
    res = CliRunner().invoke(commands.webcam, ["--device", str(d / "c0.mp4"), "--csv", str(out),
                                               "--max-frames", "5"])
    assert res.exit_code == 0, res.output
    assert len(out.read_text().splitlines()) == 6


def test_webcam_reads_a_file_url_as_the_file(tmp_path, clips, fake_model):
    d, _ = clips
    out = tmp_path / "w.csv"
    res = CliRunner().invoke(commands.webcam, ["--device", (d / "c0.mp4").as_uri(), "--csv", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert [int(r["frame"]) for r in rows] == list(range(len(rows))) and len(rows) > 5
    assert {r["source"] for r in rows} == {str(d / "c0.mp4")}
    mine = (d / "c0.mp4").as_uri()
    res = CliRunner().invoke(commands.webcam, ["--device", mine, "--csv", str(d / "c0.mp4")])
    assert res.exit_code != 0 and (d / "c0.mp4").stat().st_size > 0


def test_show_without_display(monkeypatch, tmp_path, clips, fake_model):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    d, _ = clips
    res = _run(d / "c0.mp4", "--show")
    assert res.exit_code == 1 and "display" in res.output


class _Camera:
    def __init__(self):
        self.n = 0

    def read(self):
        import time
        time.sleep(0.002)
        self.n += 1
        img = np.zeros((48, 64, 3), np.uint8)
        img[0, 0] = (self.n % 256, self.n // 256, 0)
        return True, img

    def release(self):
        pass


def test_webcam_ctrl_c_stops_cleanly(monkeypatch, tmp_path):
    import os
    import signal
    import threading

    from pose_track.tracker.capture import LiveSource
    from pose_track.tracker.run import process_source

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals need the main thread")
    _, joints = synthetic_person(64, 48)
    monkeypatch.setattr(commands, "load_estimator", estimator_of(FakeCascade(joints[None].repeat(10, 0))))
    monkeypatch.setattr(commands, "open_source", lambda spec: LiveSource(_Camera(), "camera:fake"))

    def interrupting(src, cascade, sinks, progress=None, **kw):
        def pressing_ctrl_c(stats):
            if progress is not None:
                progress(stats)
            if stats.frames == 5:
                os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C
        return process_source(src, cascade, sinks, progress=pressing_ctrl_c, **kw)

    monkeypatch.setattr(commands, "process_source", interrupting)
    out = tmp_path / "w.csv"
    handler_before = signal.getsignal(signal.SIGINT)    # SIG_IGN when the suite runs as a background job
    res = CliRunner().invoke(commands.webcam, ["--csv", str(out)])
    assert res.exit_code == 0, res.output
    assert "stopped: interrupted" in res.output
    rows = out.read_text().splitlines()
    assert 6 <= len(rows) <= 8  # header + the frames processed before the stop
    assert signal.getsignal(signal.SIGINT) is handler_before


def test_gpu_options_reach_the_model_loader(monkeypatch, tmp_path, clips):
    """--cuda (with --half, --cuda-graphs) is what the backend is asked for; without --cuda they are refused."""
    d, infos = clips
    asked = []
    fake = estimator_of(FakeCascade(np.concatenate([i.joints for i in infos]), noise=0.01))
    monkeypatch.setattr(commands, "load_estimator", lambda engine, **kw: asked.append(kw) or fake(engine, **kw))
    res = _run(d / "c0.mp4", "--csv", tmp_path / "a.csv", "--cuda", "--half", "--cuda-graphs")
    assert res.exit_code == 0, res.output
    assert asked[-1] == {"stills": False, "pictures": False, "device": "cuda", "half": True, "cuda_graphs": True}
    res = _run(d / "c0.mp4", "--csv", tmp_path / "b.csv")
    assert res.exit_code == 0 and asked[-1] == {"stills": False, "pictures": False}
    res = CliRunner().invoke(commands.video, [str(d / "c0.mp4"), "--csv", str(tmp_path / "c.csv"), "--half"])
    assert res.exit_code == 1 and res.output.strip() == "Error: --half and --cuda-graphs run the model on the GPU: add --cuda"
    assert not (tmp_path / "c.csv").exists()


def test_cuda_where_there_is_none_is_one_line(tmp_path, clips):
    """The real loader: torch without CUDA, or ONNX Runtime without its CUDA provider, says so in one line."""
    from pose_track.engines.onnxruntime_backend import import_onnxruntime

    d, _ = clips
    torch = pytest.importorskip("torch")
    ort_cuda = "CUDAExecutionProvider" in import_onnxruntime().get_available_providers()
    if ort_cuda and torch.cuda.is_available():
        pytest.skip("both ONNX Runtime and torch have CUDA here")
    from pose_track.engines.backends import DEFAULT_CHECKPOINT

    cases = ([] if ort_cuda else [([], "pip install onnxruntime-gpu")]) + \
            ([] if torch.cuda.is_available() else [(["--engine", DEFAULT_CHECKPOINT], "CUDA is not available to torch")])
    for extra, says in cases:
        res = CliRunner().invoke(commands.video, [str(d / "c0.mp4"), "--csv", str(tmp_path / "o.csv"), "--cuda", *extra])
        assert res.exit_code == 1 and says in res.output
        assert len(res.output.strip().splitlines()) == 1 and res.output.startswith("Error: cannot load the model:")
        assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("command", ["video", "webcam", "images", "eval", "eval-framing"])
def test_gpu_flags_without_cuda_are_refused_before_anything_is_written(command, tmp_path, clips):
    from pose_track.cli import cli

    d, _ = clips
    out = tmp_path / "out"
    args = {"video": [str(d / "c0.mp4"), "--csv", str(out)], "webcam": ["--device", str(d / "c0.mp4"), "--csv", str(out)],
            "images": [str(d), "--csv", str(out)], "eval": ["--data", str(d), "--csv", str(out)],
            "eval-framing": ["--data", str(d), "--sets", str(out)]}[command]
    res = CliRunner().invoke(cli, [command, *args, "--cuda-graphs"])
    assert res.exit_code == 1 and res.output.strip() == "Error: --half and --cuda-graphs run the model on the GPU: add --cuda"
    assert not out.exists()


def test_cuda_says_the_model_is_being_prepared(monkeypatch, tmp_path, clips):
    d, infos = clips
    monkeypatch.setattr(commands, "load_estimator", estimator_of(FakeCascade(np.concatenate([i.joints for i in infos]))))
    res = _run(d / "c0.mp4", "--csv", tmp_path / "a.csv", "--cuda")
    assert res.exit_code == 0 and "preparing the model on the GPU" in res.stderr
    res = _run(d / "c0.mp4", "--csv", tmp_path / "b.csv")
    assert res.exit_code == 0 and "preparing" not in res.stderr


def test_a_folder_of_images_is_answered_as_still_pictures_with_any_engine(monkeypatch):
    import types

    import pose_track.commands.video as commands

    asked = []
    monkeypatch.setattr(commands, "load_estimator", lambda engine, **kw: asked.append((engine, kw)) or object())
    folder, clip = types.SimpleNamespace(independent=True), types.SimpleNamespace()
    for engine in (None, "my_bundle"):
        models = commands._Models(engine)
        models.for_source(folder)
        models.for_source(clip)
    assert [(e, kw["stills"], kw["pictures"]) for e, kw in asked] == [
        (None, True, True), (None, False, False), ("my_bundle", False, True), ("my_bundle", False, False)]


def test_udp_datagrams_that_could_not_be_sent_are_one_warning(tmp_path, clips, fake_model):
    # Best effort: the run succeeds, and says once how many of its datagrams went (a broadcast address without
    # the broadcast permission refuses every one).
    d, _ = clips
    res = _run(d / "c0.mp4", "--udp", "255.255.255.255:9999", "--csv", tmp_path / "o.csv")
    assert res.exit_code == 0, res.output
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("warning: udp")]
    sent = "warning: udp 255.255.255.255:9999: 0 of 20 datagrams sent ("
    assert len(warnings) == 1 and warnings[0].startswith(sent), res.stderr


@pytest.mark.parametrize("frame_count, files, max_frames, length", [
    (795, None, 30, 30), (795, None, None, 795), (10, None, 30, 10), (None, 8, 3, 3), (None, None, 50, 50),
    (None, None, None, 0)])
def test_the_progress_bar_counts_to_max_frames(frame_count, files, max_frames, length):
    src = SimpleNamespace(name="clips/walk.avi", frame_count=frame_count)
    if files is not None:
        src.files = list(range(files))
    assert commands._progress_bar(src, max_frames).length == length


def test_a_second_ctrl_c_while_the_outputs_close_leaves_none_under_a_partial_name(fake_model, clips, tmp_path,
                                                                                    monkeypatch):
    import os
    import signal
    import threading

    from pose_track.tracker import sinks

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals need the main thread")
    closing = sinks.CsvSink.close

    def close_pressing_ctrl_c(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)         # the user presses Ctrl-C again while the CSV closes
        return closing(self, *args, **kwargs)

    monkeypatch.setattr(sinks.CsvSink, "close", close_pressing_ctrl_c)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        res = CliRunner().invoke(commands.video, [str(clips[1][0].video_path), "--csv", str(tmp_path / "p.csv")])
    finally:
        signal.signal(signal.SIGINT, before)
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(tmp_path)) == ["p.csv"]
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 21
