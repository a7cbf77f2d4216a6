"""pose-track: the command-line interface. Thin: parses options, builds objects, calls into the packages."""
from __future__ import annotations

import signal
import sys


def _quiet_exit(signum, frame):
    sys.exit(130)


# Ctrl-C during the imports below (a second or two) ends quietly too; main() handles it from then on.
_sigint = signal.getsignal(signal.SIGINT)
if _sigint is signal.default_int_handler:
    try:
        signal.signal(signal.SIGINT, _quiet_exit)
    except ValueError:      # imported outside the main thread
        _sigint = None

import os  # noqa: E402

import click  # noqa: E402

from pose_track.engines.outputs import check_outputs, write_text  # noqa: E402


@click.group()
@click.version_option(package_name="pose-track")
def cli():
    """DeepPose real-time pose tracking: train, evaluate, build engines, track videos and cameras."""


@cli.command()
@click.option("--data", default="../shared/data", show_default=True, type=click.Path(),
              help="Folder holding lsp/ and lspet/ (or an lsp folder).")
@click.option("--out", default="runs/main", show_default=True, help="Run folder: checkpoint.pt, curves.png.")
@click.option("--epochs", default=16.0, show_default=True, help="Stage-1 passes over the training set.")
@click.option("--refiner-epochs", default=2.0, show_default=True, help="Passes per refinement stage.")
@click.option("--batch-size", default=32, show_default=True)
@click.option("--lr", default=2e-3, show_default=True, help="Stage-1 peak learning rate (cosine schedule).")
@click.option("--refiner-lr", default=2e-3, show_default=True, help="Refiner peak learning rate.")
@click.option("--loss", type=click.Choice(["l1", "l2"]), default="l1", show_default=True)
@click.option("--heatmap-weight", default=0.0, show_default=True,
              help="Weight of the heatmap shape loss (KL to a Gaussian at the joint) for integral heads.")
@click.option("--init-from", type=click.Path(), multiple=True,
              help="Start a new run from this checkpoint's weights (those whose shapes fit); repeated: from the "
                   "mean of their weights (checkpoints of one lineage).")
@click.option("--clean-labels", type=click.Path(), default=None,
              help="An engine bundle or checkpoint whose answers repair the crowd (LSP-extended) labels: images "
                   "whose left and right are exchanged, joints placed far off (left out of the loss).")
@click.option("--clean-max-error", default=0.75, show_default=True,
              help="With --clean-labels: drop crowd-labelled joints this many torso diameters from its answer.")
@click.option("--refit", is_flag=True,
              help="A finished run: redo the fits made after training (refinement gains, confidence).")
@click.option("--head", "stage1_head", type=click.Choice(["integral", "fc", "grid"]), default="integral",
              show_default=True, help="Stage-1 head: soft-argmax heatmaps, or the paper's fully connected kind.")
@click.option("--input-size", "stage1_input", default=128, show_default=True, help="Stage-1 crop side (px).")
@click.option("--refiner-input", default=48, show_default=True, help="Refiner crop side (px).")
@click.option("--sigma", default=1.5, show_default=True, help="Refiner crop side in torso diameters.")
@click.option("--stages", "num_stages", default=3, show_default=True, help="Cascade stages S.")
@click.option("--refiner-blocks", default=8, show_default=True, help="EfficientNet-Lite0 blocks in each refiner.")
@click.option("--decode-window", default=0, show_default=True,
              help="At inference, soft-argmax over the heatmap cells within this many of the peak (0: whole map).")
@click.option("--refiner-decode-window", default=0, show_default=True, help="The same for the refiners.")
@click.option("--flip-average/--no-flip-average", "stage1_flip", default=False, show_default=True,
              help="At inference, stage 1 averages its heatmaps with the mirrored crop's (twice its cost).")
@click.option("--refiner-flip-average/--no-refiner-flip-average", "refiner_flip", default=False, show_default=True,
              help="The same for the refiners.")
@click.option("--scales", "stage1_scales", default="", show_default=True,
              help="With --flip-average: more stage-1 input sizes read at inference, e.g. '224,160'.")
@click.option("--person-head/--no-person-head", default=True, show_default=True,
              help="Stage 1 also learns whether a person is framed (presence) and which joints are in the picture.")
@click.option("--negative-share", default=0.35, show_default=True, help="Share of stage-1 crops with nobody framed.")
@click.option("--truncate-share", default=0.3, show_default=True,
              help="Share of person crops cut as cameras cut bodies (waist-up, chest-up, knees-up, a side).")
@click.option("--real-video/--no-real-video", default=True, show_default=True,
              help="Tracker-like box jitter, rotation to 45 degrees, motion blur, noise, compression.")
@click.option("--person-weight", default=0.1, show_default=True, help="Weight of the presence and in-picture loss.")
@click.option("--holdout", default=500, show_default=True,
              help="Last LSP-extended images held out of training: the validation split.")
@click.option("--cache-size", default=224, show_default=True, help="Side of the cached training crops (px).")
@click.option("--max-images", type=int, default=None, help="Train on a subset of this many images.")
@click.option("--seed", default=0, show_default=True,
              help="Seed of the batch order, the augmentation and the training images the fits are made on.")
@click.option("--tiny", is_flag=True, help="A seconds-long configuration for tests.")
@click.option("--export/--no-export", default=True, show_default=True,
              help="Write the ONNX Runtime bundle next to the checkpoint when training ends.")
@click.option("--recipe", type=click.Path(dir_okay=False), default=None,
              help="A JSON file of training settings (option names with underscores). Default: the shipped model's "
                   "recipe, recipes/deeppose_lsp.json; options given on the command line win over it.")
@click.pass_context
def train(ctx, tiny, export, recipe, **options):
    """Train the cascade (stage 1, then each refiner); resumes from OUT/checkpoint.pt.

    With no options this reproduces the shipped model (its recipe). --tiny: a seconds-long configuration for
    tests, without the recipe; options given with it still win."""
    options = _train_settings(ctx, options, recipe, tiny)
    from pose_track.engines.commands import require_train_extra

    out = options["out"]
    written = [os.path.join(out, n) for n in ("", "checkpoint.pt", "model.pt", "history.json", "curves.png")]
    check_outputs([("--out", p) for p in written + ([os.path.join(out, "onnx", "")] if export else [])],
                  inputs=[*options["init_from"], options["clean_labels"]], input_folders=[options["data"]])
    require_train_extra("train", ("torch", "onnx") if export else ("torch",))
    from pose_track.engines.checkpoint import CheckpointError
    from pose_track.engines.config import parse_sizes
    from pose_track.training.datasets import DatasetError
    from pose_track.training.train import TINY, TrainConfig, Trainer

    values = {k: v for k, v in options.items() if v is not None}
    values["init_from"] = list(options["init_from"]) or None
    if isinstance(values["stage1_scales"], str):
        try:
            values["stage1_scales"] = parse_sizes(values["stage1_scales"])
        except ValueError as exc:
            raise click.UsageError(str(exc))
    cfg = TrainConfig(**values)
    try:
        trainer = Trainer(cfg, progress=None, log=lambda m: click.echo(m, err=True))
        path = _run_with_bar(trainer)
    except (DatasetError, CheckpointError) as exc:
        raise click.ClickException(str(exc))
    click.echo(f"checkpoint: {path}")
    if export:
        from pose_track.engines.export import export_bundle
        bundle = export_bundle(path, os.path.join(cfg.out, "onnx"))
        click.echo(f"ONNX Runtime bundle: {bundle}")


DEFAULT_RECIPE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recipes", "deeppose_lsp.json")


def _train_settings(ctx, options: dict, recipe: str | None, tiny: bool) -> dict:
    """Option values by precedence: given on the command line > --tiny > the recipe > the options' defaults."""
    import json

    from click.core import ParameterSource

    given = {k for k in options if ctx.get_parameter_source(k) in (ParameterSource.COMMANDLINE,
                                                                   ParameterSource.ENVIRONMENT)}
    settings = dict(options)
    if tiny:
        from pose_track.training.train import TINY
        settings.update(TINY)
    else:
        path = recipe or (DEFAULT_RECIPE if os.path.isfile(DEFAULT_RECIPE) else None)
        if path:
            try:
                with open(path) as f:
                    from_recipe = json.load(f)
            except (OSError, ValueError) as exc:
                raise click.UsageError(f"cannot read the recipe {path}: {exc}") from None
            import dataclasses

            from pose_track.training.train import TrainConfig
            unknown = sorted(set(from_recipe) - {f.name for f in dataclasses.fields(TrainConfig)} - {"command"})
            if unknown:
                raise click.UsageError(f"{path}: unknown settings {', '.join(unknown)}")
            from_recipe.pop("command", None)
            if "init_from" in from_recipe:      # paths in a recipe are relative to the repository
                base = os.path.dirname(os.path.dirname(os.path.abspath(path)))
                from_recipe["init_from"] = [p if os.path.isabs(p) else os.path.join(base, p)
                                            for p in from_recipe["init_from"]]
            settings.update(from_recipe)
    settings.update({k: options[k] for k in given})
    settings["init_from"] = tuple(settings.get("init_from") or ())
    if isinstance(settings.get("stage1_scales"), list):
        settings["stage1_scales"] = tuple(settings["stage1_scales"])
    return settings


def _load_cascade(engine, checkpoint, stills: bool = False):
    """A built engine bundle (--engine), a torch checkpoint (--checkpoint), or the shipped default (for still
    images its mirror-view build)."""
    from pose_track.tracker.commands import load_cascade

    return load_cascade(checkpoint or engine, stills=stills)


engine_option = click.option("--engine", type=click.Path(), default=None,
                             help="A built engine bundle (default: the shipped model on ONNX Runtime, CPU).")
stills_engine_option = click.option(
    "--engine", type=click.Path(), default=None,
    help="A built engine bundle (default: the shipped model's mirror-view build, models/deeppose_lsp/onnx_mirror, "
         "on ONNX Runtime, CPU).")
checkpoint_option = click.option("--checkpoint", type=click.Path(), default=None,
                                 help="Run a torch checkpoint directly (needs the train extra).")


def _decoding(cfg) -> str:
    """How the model decodes its heatmaps, for report headers."""
    parts = [name for name, on in (("stage 1 flip-averaged", cfg.stage1_flip),
                                   ("refiners flip-averaged", cfg.refiner_flip),
                                   (f"peak window {cfg.decode_window}", cfg.decode_window)) if on]
    return "".join(f", {p}" for p in parts)


@cli.command("eval")
@click.option("--data", default="../shared/data/lsp", show_default=True, type=click.Path(),
              help="The LSP folder (images/ + joints.mat); the test split im1001-im2000 is used.")
@click.option("--limit", type=int, default=None, help="Only the first N test images.")
@click.option("--recrop/--no-recrop", default=True, show_default=True,
              help="Run again on the box around each answer while it moves, as `images` does (up to 3 passes).")
@click.option("--pad", default=1.0, show_default=True, type=click.FloatRange(min=1.0),
              help="Centre each image on a black canvas this many times its size (a smaller person).")
@stills_engine_option
@checkpoint_option
def evaluate(data, limit, recrop, pad, engine, checkpoint):
    """PCK@0.2, strict/loose PCP@0.5 and PDJ@0.2 per stage on LSP test, with the paper's rows."""
    from pose_track.engines.joints import JOINT_NAMES
    from pose_track.training.datasets import DatasetError, lsp_test, resolve_data_root
    from pose_track.training.evaluate import predict_set
    from pose_track.training.metrics import evaluate as metrics, format_report

    try:
        lsp_root, _ = resolve_data_root(data)
        test = lsp_test(lsp_root)
        if limit:
            test = test.subset(range(min(limit, len(test))))
        cascade = _load_cascade(engine, checkpoint, stills=True)
        with click.progressbar(length=len(test), label="LSP test", file=sys.stderr) as bar:
            passes = []
            per_stage = predict_set(cascade, test, progress=bar.update, recrop=recrop, pad=pad, passes=passes)
    except DatasetError as exc:
        raise click.ClickException(str(exc))
    results = [metrics(p, test.joints, test.valid) for p in per_stage]
    click.echo(f"LSP test, {len(test)} images, whole image as the first person box"
               + (f" (padded {pad:g}x)" if pad > 1 else "") + _decoding(cascade.config)
               + (f", recropped ({sum(passes) / max(len(passes), 1):.2f} passes per image)" if recrop
                  else ", one pass"))
    click.echo(format_report(results, JOINT_NAMES))


@cli.command()
@click.argument("folder", type=click.Path())
@click.option("--csv", "csv_out", required=True, type=click.Path(), help="Output CSV ('-' for stdout).")
@click.option("--render", "render_dir", type=click.Path(), default=None, help="Write annotated images here.")
@click.option("--recrop/--no-recrop", default=True, show_default=True,
              help="Run again on the box around the answer while it moves (up to 3 passes): a person who fills "
                   "only part of the image is found at a useful size.")
@stills_engine_option
@checkpoint_option
def images(folder, csv_out, render_dir, recrop, engine, checkpoint):
    """Pose of the person in each image of FOLDER (the whole image is the first box) to the CSV schema."""
    from pose_track.tracker.capture import CaptureError, ImageFolderSource
    from pose_track.tracker.images import process_images, refuse_overwriting_inputs
    from pose_track.tracker.sinks import SinkError

    try:
        total = len(ImageFolderSource(folder).files)
        refuse_overwriting_inputs(folder, csv_out, render_dir, checkpoint or engine)
        cascade = _load_cascade(engine, checkpoint, stills=True)
        with click.progressbar(length=total, label="images", file=sys.stderr) as bar:
            stats = process_images(folder, cascade, csv_out, render_dir, progress=bar.update, recrop=recrop)
    except (CaptureError, SinkError) as exc:
        raise click.ClickException(str(exc))
    ms = 1000 * stats["model_s"] / max(stats["images"], 1)
    passes = stats["passes"] / max(stats["images"], 1)
    click.echo(f"{stats['images']} images, {ms:.1f} ms per image in the cascade ({passes:.2f} passes)", err=True)
    if stats["skipped"]:
        raise click.ClickException(f"{len(stats['skipped'])} unreadable image(s) skipped: "
                                   + ", ".join(stats["skipped"][:5]) + (" ..." if len(stats["skipped"]) > 5 else ""))


class _PhaseBars:
    """One click progress bar per training phase."""

    def __init__(self):
        self.bar = None

    def start(self, label: str, total: int):
        self.finish()
        self.bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)

    def __call__(self, n: int = 1):
        if self.bar is not None:
            self.bar.update(n)

    def finish(self):
        if self.bar is not None:
            self.bar.render_finish()
            self.bar = None


def _run_with_bar(trainer):
    bars = _PhaseBars()
    trainer.progress = bars
    try:
        return trainer.run()
    finally:
        bars.finish()


@cli.command()
@click.option("--out", default="demo", show_default=True, type=click.Path(), help="Folder for the outputs.")
@click.option("--frames", default=150, show_default=True, help="Length of the sample clip.")
@engine_option
def demo(out, frames, engine):
    """Make a sample clip from a public-domain photo and track it: CSV + annotated video in OUT."""
    from pose_track.tracker.demo import DemoError, make_sample_clip

    check_outputs([("--out", os.path.join(out, n)) for n in ("", "astronaut.mp4", "astronaut.csv",
                                                             "astronaut_tracked.mp4")], inputs=[engine])
    try:
        clip = make_sample_clip(out, frames)
    except DemoError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"sample clip: {clip}", err=True)
    args = [clip, "--csv", os.path.join(out, "astronaut.csv"), "--render", os.path.join(out, "astronaut_tracked.mp4")]
    if engine:
        args += ["--engine", engine]
    from pose_track.tracker.commands import video
    video.main(args, standalone_mode=False)
    click.echo(f"wrote {os.path.join(out, 'astronaut.csv')} and {os.path.join(out, 'astronaut_tracked.mp4')}")


@cli.command("bench-tracking")
@click.option("--data", default="../shared/data/lsp", show_default=True, type=click.Path(),
              help="LSP folder: clips are made from its test images (known joints).")
@click.option("--clips", default=10, show_default=True, help="Number of clips (different test images).")
@click.option("--frames", default=300, show_default=True, help="Frames per clip.")
@click.option("--workdir", default="runs/bench_tracking", show_default=True, type=click.Path())
@click.option("--json", "json_out", type=click.Path(), default=None, help="Also write the numbers here.")
@engine_option
def bench_tracking(data, clips, frames, workdir, json_out, engine):
    """Tracking benchmark on clips made from LSP test images: PCK, smoothness, lag, throughput."""
    import json

    import cv2
    import numpy as np

    from pose_track.tracker.bench import benchmark_clips
    from pose_track.training.datasets import DatasetError, lsp_test, resolve_data_root

    check_outputs([("--workdir", os.path.join(workdir, "")), ("--json", json_out)], inputs=[engine],
                  input_folders=[data])
    try:
        lsp_root, _ = resolve_data_root(data)
        test = lsp_test(lsp_root)
    except DatasetError as exc:
        raise click.ClickException(str(exc))
    picks = [int(i) for i in (len(test) * (0.5 + np.arange(clips)) / clips)]
    stills = [(cv2.imread(test.paths[i]), test.joints[i]) for i in picks]
    cascade = _load_cascade(engine, None)
    os.makedirs(workdir, exist_ok=True)
    rows, means = benchmark_clips(cascade, stills, workdir, n_frames=frames)
    keys = ["pck_single", "pck_tracking", "pck_kalman", "pck_rts", "accel_raw", "accel_kalman", "accel_rts",
            "accel_reduction_kalman", "accel_reduction_rts", "lag_kalman", "lag_rts", "reacquisitions",
            "tracking_fps", "model_fps", "decode_ms_per_frame"]
    click.echo("clip  " + " ".join(f"{k:>12.12s}" for k in keys))
    for i, row in zip(picks, rows):
        click.echo(f"{os.path.basename(test.paths[i]):6.6s}" + " ".join(f"{row[k]:12.4g}" for k in keys))
    click.echo("mean  " + " ".join(f"{means[k]:12.4g}" for k in keys))
    if json_out:
        write_text(json_out, json.dumps({"clips": [os.path.basename(test.paths[i]) for i in picks], "rows": rows,
                                         "mean": means}, indent=1))


# Sports2D's demo: the left part of its last frames, after the walker has left (checked by eye).
VIDEO_PERSON_FREE = ("real/sports2d_demo.mp4", range(212, 230, 2), (120, 60, 760))


@cli.command("eval-framing")
@click.option("--data", default="../shared/data", show_default=True, type=click.Path(),
              help="Folder holding lsp/, lspet/ and real/.")
@click.option("--holdout", default=500, show_default=True, help="The held-out LSP-extended images (train's --holdout).")
@click.option("--limit", type=int, default=None, help="Only the first N LSP test images.")
@click.option("--sets", "sets_dir", type=click.Path(file_okay=False), default=None,
              help="Also write the person-free and waist-up pictures here, to look at.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Also write the numbers here.")
@stills_engine_option
@checkpoint_option
def eval_framing(data, holdout, limit, sets_dir, json_out, engine, checkpoint):
    """Pictures with nobody in them, LSP test people, and LSP test people cut below the hips (waist-up)."""
    import json

    import cv2

    check_outputs([("--json", json_out), ("--sets", sets_dir and os.path.join(sets_dir, ""))],
                  inputs=[checkpoint, engine], input_folders=[data])
    from pose_track.training.datasets import DatasetError, load_folder, lsp_test, resolve_data_root
    from pose_track.training.framing_eval import evaluate_framing, person_free_regions, video_regions, waist_up

    try:
        lsp_root, lspet_root = resolve_data_root(data)
        if lspet_root is None:
            raise DatasetError(f"{data} has no lspet/ folder (the held-out images)")
        extended = load_folder(lspet_root)
        held_out = extended.subset(range(len(extended) - holdout, len(extended)))
        test = lsp_test(lsp_root)
        if limit:
            test = test.subset(range(min(limit, len(test))))
    except DatasetError as exc:
        raise click.ClickException(str(exc))
    video, frames, box = VIDEO_PERSON_FREE
    free = person_free_regions(held_out)
    if os.path.isfile(os.path.join(data, video)):
        free += video_regions(os.path.join(data, video), frames, box)
    cut = waist_up(test)
    if sets_dir:
        for folder, items in (("person_free", free), ("waist_up", [(f"{i:04d}", c[0]) for i, c in enumerate(cut)])):
            os.makedirs(os.path.join(sets_dir, folder), exist_ok=True)
            for name, image in items:
                cv2.imwrite(os.path.join(sets_dir, folder, f"{name}.jpg"), image)
        with open(os.path.join(sets_dir, "waist_up", "truth.json"), "w") as f:
            json.dump([{"name": f"{i:04d}", "joints": c[1].tolist(), "inside": c[2].tolist()}
                       for i, c in enumerate(cut)], f)
    cascade = _load_cascade(engine, checkpoint, stills=True)
    with click.progressbar(length=len(free) + len(test) + len(cut), label="framing", file=sys.stderr) as bar:
        r = evaluate_framing(cascade, free, test.paths, cut, progress=bar.update)
    click.echo(f"person-free pictures: a pose reported on {r['person_free_pose_reported']} of "
               f"{r['person_free_images']} ({r['person_free_pose_reported'] / max(r['person_free_images'], 1):.1%})")
    click.echo(f"LSP test: a person found on {r['lsp_test_person_found']} of {r['lsp_test_images']} "
               f"({r['lsp_test_person_found'] / max(r['lsp_test_images'], 1):.1%})")
    click.echo(f"waist-up ({r['waist_up_images']} LSP test people cut below the hips): PCK@0.2 of the in-picture "
               f"joints {r['waist_up_pck']:.3f}, knees and ankles reported inside the picture "
               f"{r['waist_up_legs_reported_inside']:.1%}")
    if json_out:
        write_text(json_out, json.dumps(r, indent=1))


def _register_package_commands():
    from pose_track.tracker.commands import video, webcam

    cli.add_command(video)
    cli.add_command(webcam)
    try:
        from pose_track.engines.commands import bench, build_engine
    except ImportError:       # the engines commands are optional until that module lands
        return
    cli.add_command(build_engine)
    cli.add_command(bench)


try:
    _register_package_commands()
finally:
    if _sigint is signal.default_int_handler:
        signal.signal(signal.SIGINT, _sigint)


def main():
    """The `pose-track` entry point: click's, except that Ctrl-C exits 130 (128 + SIGINT), quietly."""
    try:
        code = cli.main(standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except click.Abort as exc:
        interrupted = isinstance(exc.__cause__, KeyboardInterrupt)
        click.echo("interrupted" if interrupted else "Aborted!", err=True)
        code = 130 if interrupted else 1
    except KeyboardInterrupt:
        click.echo("\ninterrupted", err=True)
        code = 130
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
