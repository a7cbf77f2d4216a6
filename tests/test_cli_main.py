"""The `pose-track` entry point (cli.main): Ctrl-C exits 130 without a traceback, from the first import on;
commands that need the train extra say which one to install when torch is missing. No torch needed here."""
import os
import signal
import subprocess
import time
import sys

import click
import pytest
from click.testing import CliRunner

from pose_track import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _main(monkeypatch, *args):
    monkeypatch.setattr(sys, "argv", ["pose-track", *args])
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with pytest.raises(SystemExit) as exit_:
            cli.main()
    finally:                # main() installs its termination handlers: not for the rest of this process
        for s, handler in handlers.items():
            signal.signal(s, handler)
    return exit_.value.code


def _command_raising(monkeypatch, exc):
    def boom():
        raise exc
    monkeypatch.setitem(cli.cli.commands, "boom", click.Command("boom", callback=boom))


def test_ctrl_c_in_a_command_exits_130_quietly(monkeypatch, capsys):
    _command_raising(monkeypatch, KeyboardInterrupt())
    assert _main(monkeypatch, "boom") == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err


def test_main_keeps_clicks_exit_codes(monkeypatch, capsys):
    _command_raising(monkeypatch, click.ClickException("no such file"))
    assert _main(monkeypatch, "boom") == 1
    assert capsys.readouterr().err.strip() == "Error: no such file"
    assert _main(monkeypatch, "--help") == 0
    assert _main(monkeypatch, "no-such-command") == 2


def test_ctrl_c_during_the_imports_exits_130_quietly():
    # A SIGINT delivered while `import cli` runs its imports (here: just before click's).
    code = ("import builtins, os, signal\n"
            "signal.signal(signal.SIGINT, signal.default_int_handler)\n"   # as in a terminal
            "real = builtins.__import__\n"
            "def imp(name, *a, **k):\n"
            "    if name == 'click':\n"
            "        os.kill(os.getpid(), signal.SIGINT)\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = imp\n"
            "from pose_track import cli\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 130 and "Traceback" not in run.stderr, run.stderr


def test_importing_cli_leaves_the_sigint_handler_alone():
    assert signal.getsignal(signal.SIGINT) is not cli._quiet_exit


@pytest.fixture
def no_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)


def _says_install_the_train_extra(res):
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    assert "pip install 'pose-track[train]'" in res.output and len(res.output.strip().splitlines()) == 1


def test_train_without_torch_names_the_extra(no_torch, tmp_path):
    res = CliRunner().invoke(cli.cli, ["train", "--tiny", "--data", str(tmp_path), "--out", str(tmp_path / "run"),
                                       "--no-export"])
    _says_install_the_train_extra(res)
    assert not (tmp_path / "run").exists()


def test_build_engine_without_torch_names_the_extra(no_torch, tmp_path):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"weights")
    res = CliRunner().invoke(cli.cli, ["build-engine", str(ckpt), "-o", str(tmp_path / "bundle")])
    _says_install_the_train_extra(res)
    assert not (tmp_path / "bundle").exists()


def test_a_checkpoint_without_torch_names_the_extra(no_torch, tmp_path):
    from pose_track.benchmarks.clipmaker import synthetic_person
    import cv2

    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"weights")
    cv2.imwrite(str(tmp_path / "p.jpg"), synthetic_person()[0])
    res = CliRunner().invoke(cli.cli, ["images", str(tmp_path / "p.jpg"), "--csv", str(tmp_path / "o.csv"),
                                       "--checkpoint", str(ckpt)])
    _says_install_the_train_extra(res)
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_termination_mid_run_keeps_the_outputs_under_their_names(tmp_path, signum):
    # `timeout`, `kill`, a closed terminal: the run ends as on Ctrl-C, and exits 128 + the signal.
    from pose_track.benchmarks.clipmaker import make_clip, synthetic_person

    image, joints = synthetic_person(160, 120)
    clip = make_clip(image, joints, str(tmp_path / "clip.avi"), n_frames=3000).video_path
    csv, render = tmp_path / "poses.csv", tmp_path / "poses.avi"
    proc = subprocess.Popen([sys.executable, "-m", "pose_track.cli", "video", clip, "--csv", str(csv),
                             "--render", str(render), "--smooth", "kalman"],
                            cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        for _ in range(600):        # until some frames are on disk (under the partial name)
            partial = [p for p in tmp_path.iterdir() if ".partial-" in p.name and p.suffix == ".csv"]
            if partial and partial[0].stat().st_size > 2000:
                break
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
        proc.send_signal(signum)
        err = proc.communicate(timeout=60)[1]
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err and f"terminated ({signal.Signals(signum).name})" in err
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    rows = csv.read_text().splitlines()
    assert len(rows) > 10
    import cv2
    video = cv2.VideoCapture(str(render))
    assert video.isOpened() and int(video.get(cv2.CAP_PROP_FRAME_COUNT)) >= len(rows) - 2
