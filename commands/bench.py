"""The `bench` and `bench-tracking` commands: engine speed side by side, and tracking on clips of LSP test
people with known joints."""
from __future__ import annotations

import json
import os

import click

from pose_track.engines.backends import DEFAULT_BUNDLE
from pose_track.engines.outputs import (OWN_OUTPUTS, check_outputs, note_own_output, refuse_replacing_others,
                                        remove_if_empty, write_text)

from .engines import _errors
from .model import MAX_THREADS, engine_option, load_estimator, make_output_folder, require_writable

MAX_FRAMES = 3000       # frames of a benchmark clip: 100 s at 30 frames/s
MAX_CLIPS = 1000        # LSP test's people


@click.command("bench")
@click.option("--engine", "engines", multiple=True, type=click.Path(exists=True),
              help="Engine bundle folder, or a checkpoint (torch backend). Repeat to compare side by side. "
                   "Default: the shipped ONNX Runtime bundle.")
@click.option("--backend", type=click.Choice(["onnxruntime", "tensorrt", "torch"]), default=None,
              help="Default: the bundle's own backend (torch for a checkpoint).")
@click.option("--device", default=None, help="onnxruntime: cpu|cuda|tensorrt provider; torch: cpu|cuda.")
@click.option("--half", is_flag=True, help="torch on CUDA: fp16.")
@click.option("--cuda-graphs", is_flag=True, help="torch on CUDA: replay CUDA graphs.")
@click.option("--threads", type=click.IntRange(min=1, max=MAX_THREADS), default=None,
              help="CPU threads (default: all cores).")
@click.option("--data", default="../shared/data", show_default=True, type=click.Path(),
              help="Folder holding lsp/ (or an lsp folder): LSP's first test image is the person timed, and "
                   "the test images give PCK@0.2.")
@click.option("--images", default=100, show_default=True, type=click.IntRange(min=0),
              help="LSP test images for PCK@0.2 (0 = skip).")
@click.option("--runs", default=50, show_default=True, type=click.IntRange(min=1), help="Timed runs per measurement.")
@click.option("--frames", default=300, show_default=True, type=click.IntRange(min=2, max=MAX_FRAMES),
              help="Frames of the tracked 1280x720 clip.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Also write the numbers here.")
def bench(engines, backend, device, half, cuda_graphs, threads, data, images, runs, frames, json_out):
    """Per-stage latency, single-image and tracking fps with the time of each part, peak memory and PCK@0.2,
    one column per engine."""
    from pose_track.benchmarks.engine_speed import bench_engine, format_table
    from pose_track.training.datasets import DatasetError, resolve_data_root

    options = {"threads": threads}
    if device:
        options["device"] = device
    if half:
        options["half"] = True
    if cuda_graphs:
        options["cuda_graphs"] = True
    check_outputs([("--json", json_out)], inputs=engines)
    require_writable(json=json_out)
    try:
        resolve_data_root(data)         # before any engine loads: the person timed is LSP's
    except DatasetError as exc:
        raise click.ClickException(str(exc))
    results = []
    try:
        for engine in (engines or (None,)):
            click.echo(f"benchmarking {engine or DEFAULT_BUNDLE} ...", err=True)
            results.append(bench_engine(engine, backend=backend, data=data, images=images, runs=runs,
                                        frames=frames, **options))
    except (*_errors(), DatasetError) as exc:
        raise click.ClickException(str(exc))
    click.echo(format_table(results))
    if json_out:
        write_text(json_out, json.dumps(results, indent=1))


@click.command("bench-tracking")
@click.option("--data", default="../shared/data/lsp", show_default=True, type=click.Path(),
              help="LSP folder: clips are made from its test images (known joints).")
@click.option("--clips", type=click.IntRange(min=1, max=MAX_CLIPS), default=None,
              help="Number of clips (different test images). Default: 10; --hard: 12 (at most a third of "
                   f"{MAX_CLIPS}: three people a clip).")
@click.option("--frames", default=300, show_default=True, type=click.IntRange(min=30, max=MAX_FRAMES),
              help="Frames per clip (at least 30: the lag is measured over a second).")
@click.option("--workdir", default="runs/bench_tracking", show_default=True, type=click.Path())
@click.option("--json", "json_out", type=click.Path(), default=None, help="Also write the numbers here.")
@click.option("--hard", is_flag=True,
              help="Clips that look like real video (benchmarks/hard_clips.py): motion blur, noise, compression, "
                   "roll, whip pans, hard cuts, a person walking out and back, stretches with nobody; 640x480.")
@click.option("--empty-scene", default="../shared/data/real/sports2d_demo.mp4", show_default=True,
              type=click.Path(), help="--hard: the video whose last frame gives the person-free scene ('': none, "
                                      "the empty shots then film a person's backdrop).")
@engine_option
@click.pass_context
def bench_tracking(ctx, data, clips, frames, workdir, json_out, hard, empty_scene, engine):
    """Tracking benchmark on clips made from LSP test images: PCK, smoothness, lag, throughput."""
    import numpy as np

    from pose_track.benchmarks.tracking import clip_means, clip_rows
    from pose_track.training.cache import read_image
    from pose_track.training.datasets import DatasetError, dataset_folders, lsp_test, resolve_data_root

    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise click.ClickException(f"--workdir {workdir} is a file: give a folder for the clips")
    clips = clips or (12 if hard else 10)
    if hard and 3 * clips > MAX_CLIPS:
        raise click.BadParameter(f"--hard takes at most {MAX_CLIPS // 3} clips (three LSP test people a clip)",
                                 param_hint="--clips")
    written = _clip_files(workdir, clips, hard)
    check_outputs([("--workdir", os.path.join(workdir, "")), *[("--workdir", p) for p in written],
                   ("--json", json_out)], inputs=[engine, *dataset_folders(data)])
    before_lists = _clips_from_before_lists(workdir) if hard else []
    refuse_replacing_others([("--workdir", p) for p in written if p not in before_lists])
    require_writable(json=json_out)
    try:
        lsp_root, _ = resolve_data_root(data)
        test = lsp_test(lsp_root)
        if not len(test):
            raise DatasetError(f"no LSP test images (im1001-im2000) in {lsp_root}")
    except DatasetError as exc:
        raise click.ClickException(str(exc))
    explicit_scene = ctx.get_parameter_source("empty_scene") != click.core.ParameterSource.DEFAULT
    if hard:
        return _bench_hard(lsp_root, clips, frames, workdir, json_out, engine, empty_scene, before_lists,
                           explicit_scene)
    picks = [int(i) for i in (len(test) * (0.5 + np.arange(clips)) / clips)]
    try:
        stills = [(read_image(test.paths[i]), test.joints[i]) for i in picks]
    except DatasetError as exc:         # a picture missing or unreadable
        raise click.ClickException(str(exc))
    estimator = load_estimator(engine)
    made = make_output_folder(workdir, "--workdir")
    rows = _measure(clip_rows(estimator, stills, workdir, n_frames=frames), clips, made,
                    lambda k: f"tracking clip {k + 1} of {clips} ({os.path.basename(test.paths[picks[k]])})")
    means = clip_means(rows)
    titles = {"pck_single": "single", "pck_tracking": "tracking", "pck_kalman": "kalman", "pck_lookahead": "lookahead",
              "pck_rts": "rts", "accel_raw": "accel raw", "accel_reduction_kalman": "acc-red kal",
              "accel_reduction_lookahead": "acc-red ahd", "accel_reduction_rts": "acc-red rts", "lag_kalman": "lag kal",
              "lag_lookahead": "lag ahd", "lag_rts": "lag rts", "reacquisitions": "reacq", "tracking_fps": "track fps",
              "model_fps": "model fps", "decode_ms_per_frame": "decode ms"}      # the columns, in order
    keys = list(titles)
    click.echo("clip  " + " ".join(f"{titles[k]:>12.12s}" for k in keys))
    for i, row in zip(picks, rows):
        click.echo(f"{os.path.basename(test.paths[i]):6.6s}" + " ".join(f"{row[k]:12.4g}" for k in keys))
    click.echo("mean  " + " ".join(f"{means[k]:12.4g}" for k in keys))
    if json_out:
        write_text(json_out, json.dumps({"clips": [os.path.basename(test.paths[i]) for i in picks[:len(rows)]],
                                         "rows": rows, "mean": means}, indent=1))
    _interrupted_after(rows)


class _Interrupted(list):
    """The rows measured before Ctrl-C or a fault (`cause`, raised again once they are printed and written)."""

    def __init__(self, rows, cause: BaseException):
        super().__init__(rows)
        self.cause = cause


def _measure(rows, total: int, made: list, what) -> list:
    """The rows of a clip-by-clip benchmark, with a line on stderr before each clip (`what(k)`). On Ctrl-C or a
    fault after a clip or more, the rows measured so far, as `_Interrupted`: they are printed and written like a
    whole run's, then the run ends as the interruption or the fault ends it."""
    measured = []
    try:
        for k in range(total):
            click.echo(f"{what(k)} ...", err=True)
            row = next(rows, None)
            if row is None:
                break
            measured.append(row)
    except BaseException as exc:
        remove_if_empty(made)
        if not measured or isinstance(exc, (SystemExit, GeneratorExit)):
            raise
        how = "stopped by an error" if isinstance(exc, Exception) else "interrupted"
        click.echo(f"{how} after {len(measured)} of {total} clips: the figures below are theirs", err=True)
        return _Interrupted(measured, exc)
    return measured


def _interrupted_after(rows) -> None:
    if not isinstance(rows, _Interrupted):
        return
    if isinstance(rows.cause, OSError):
        raise click.ClickException(f"{rows.cause.filename or 'writing a clip'}: {rows.cause.strerror or rows.cause}")
    raise rows.cause


def _clip_files(workdir, clips: int, hard: bool) -> list:
    """The files the benchmark writes into `workdir` (and reads back): clip_N.mp4, or with --hard each clip's
    hard_NN.mp4, hard_NN.npz and hard_NN_tracked.npz."""
    if hard:
        from pose_track.benchmarks.hard_tracking import clip_files

        return [p for k in range(clips) for p in clip_files(workdir, k)]
    from pose_track.benchmarks.tracking import clip_path

    return [str(clip_path(workdir, i)) for i in range(clips)]


def _clips_from_before_lists(workdir) -> list:
    """In a --hard workdir without a list of pose-track's outputs (one an older pose-track wrote), the hard set's
    files that their names and contents show (hard_tracking.reads_as_clip_file); [] elsewhere."""
    if not os.path.isdir(workdir) or os.path.exists(os.path.join(workdir, OWN_OUTPUTS)):
        return []
    from pose_track.benchmarks.hard_tracking import reads_as_clip_file

    paths = (os.path.join(workdir, name) for name in sorted(os.listdir(workdir)))
    return [p for p in paths if reads_as_clip_file(p)]


def _bench_hard(lsp_root, clips, frames, workdir, json_out, engine, empty_scene, before_lists, explicit_scene):
    from pose_track.benchmarks.hard_tracking import (format_table, hard_clip_rows, hard_summary, make_hard_set,
                                                     street_scene)
    from pose_track.training.datasets import DatasetError

    scene = street_scene(empty_scene) if empty_scene and os.path.isfile(empty_scene) else None
    estimator = load_estimator(engine)
    if scene is None and explicit_scene and empty_scene:
        raise click.ClickException(f"--empty-scene {empty_scene}: not a video or picture that can be read")
    if scene is None:
        if empty_scene:
            click.echo(f"no person-free scene from {empty_scene}: the empty shots film a person's backdrop", err=True)
    elif estimator(scene).found:
        raise click.ClickException(f"--empty-scene {empty_scene}: the model finds a person in the scene it gives "
                                   "(the left 65 % of its last frame); give one with nobody in it")
    # The list this run starts holds the older clips too: a later run with more clips may replace them.
    for path in before_lists:
        note_own_output(path)
    made = make_output_folder(workdir, "--workdir")
    try:
        videos = make_hard_set(lsp_root, workdir, clips, frames, empty_scene=scene,
                               progress=lambda video: click.echo(f"making {video} ...", err=True))
    except KeyboardInterrupt:
        remove_if_empty(made)
        raise
    except DatasetError as exc:         # a picture missing or unreadable: the clips made so far stay
        remove_if_empty(made)
        raise click.ClickException(str(exc))
    names = [os.path.basename(video) for video, _ in videos]
    rows = _measure(hard_clip_rows(estimator, videos, save_to=workdir), len(videos), made,
                    lambda k: f"tracking {names[k]} ({k + 1} of {len(videos)})")
    summary = hard_summary(rows)
    click.echo(format_table(rows, summary))
    if json_out:
        write_text(json_out, json.dumps({"rows": rows, "summary": summary}, indent=1))
    _interrupted_after(rows)
