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

from pose_track.commands.progress import tell  # noqa: E402 - a line on stderr that a gone terminal does not stop
from pose_track.engines.outputs import check_outputs, remove_if_empty  # noqa: E402


def _multiple_of(n: int, param, value):
    if value is not None and value % n:
        raise click.BadParameter(f"{value} is not a multiple of {n} (the backbone halves the crop five times)",
                                 param=param)
    return value


@click.group()
@click.version_option(package_name="pose-track")
def cli():
    """DeepPose real-time pose tracking: train, evaluate, build engines, track videos and cameras."""


@cli.command()
@click.option("--data", default="../shared/data", show_default=True, type=click.Path(),
              help="Folder holding lsp/ and lspet/ (or an lsp folder).")
@click.option("--out", default="runs/main", show_default=True, type=click.Path(file_okay=False),
              help="Run folder: checkpoint.pt (resumable), model.pt, history.json, curves.png and onnx/ (a bundle).")
@click.option("--epochs", default=16.0, show_default=True, type=click.FloatRange(min=0), help="Stage-1 passes over the training set.")
@click.option("--refiner-epochs", default=2.0, show_default=True, type=click.FloatRange(min=0), help="Passes per refinement stage.")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=2e-3, show_default=True, type=click.FloatRange(min=0, min_open=True), help="Stage-1 peak learning rate (cosine schedule).")
@click.option("--refiner-lr", default=2e-3, show_default=True, type=click.FloatRange(min=0, min_open=True), help="Refiner peak learning rate.")
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
@click.option("--teacher", type=click.Path(), default=None,
              help="A checkpoint whose stage 1 the new stage 1 also follows (with --teacher-weight): on crops of a "
                   "whole person, an L1 loss to the teacher's joints beside the labels, as a model trained without "
                   "crops with nobody or cut bodies places whole people better.")
@click.option("--teacher-weight", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="Weight of the loss to --teacher's joints (0: no teacher).")
@click.option("--person-head-only", is_flag=True,
              help="Stage 1 trains its person head (presence, in-picture) alone on the weights it starts from "
                   "(--init-from): the joints it places, and their BatchNorm statistics, do not change.")
@click.option("--refit", is_flag=True,
              help="A finished run: redo the fits made after training (refinement gains, confidence).")
@click.option("--head", "stage1_head", type=click.Choice(["integral", "fc", "grid"]), default="integral",
              show_default=True, help="Stage-1 head: soft-argmax heatmaps, or the paper's fully connected kind.")
@click.option("--input-size", "stage1_input", default=128, show_default=True, type=click.IntRange(min=32),
              callback=lambda ctx, param, v: _multiple_of(32, param, v), help="Stage-1 crop side (px, a multiple of 32).")
@click.option("--refiner-input", default=48, show_default=True, help="Refiner crop side (px).")
@click.option("--sigma", default=1.5, show_default=True, help="Refiner crop side in torso diameters.")
@click.option("--stages", "num_stages", default=3, show_default=True, type=click.IntRange(min=1), help="Cascade stages S.")
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
@click.option("--negative-share", default=0.35, show_default=True, type=click.FloatRange(0, 1), help="Share of stage-1 crops with nobody framed.")
@click.option("--truncate-share", default=0.3, show_default=True, type=click.FloatRange(0, 1),
              help="Share of person crops cut as cameras cut bodies (waist-up, chest-up, knees-up, a side).")
@click.option("--fit-gains/--no-fit-gains", default=True, show_default=True,
              help="Fit each refiner's gain (the share of its displacement applied, per joint) on training images; "
                   "without: the whole displacement.")
@click.option("--edge-share", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of the cut crops whose crop ends at the cut, as a picture's edge cuts a body.")
@click.option("--portrait-share", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of person crops framed as a desk camera frames a person: upright, cut between chest and "
                   "thighs, the upper body filling the crop.")
@click.option("--sharpness-share", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of person crops whose sharpness is changed (cut ones sharpened, whole ones softened) so that "
                   "it does not tell where a body is cut.")
@click.option("--glare-share", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of crops, with a person or nobody, veiled by glare (a light behind the person); with the "
                   "real-video augmentation only.")
@click.option("--blur-max", default=13, show_default=True, type=click.IntRange(3, 192),
              help="The longest motion blur of the real-video augmentation, in pixels of the crop (whip pans and "
                   "fast limbs smear a person over 20-40 px of a 192 px crop).")
@click.option("--cut-shares", default=None,
              help="How often each kind of cut is drawn: waist-up,chest-up,knees-up,side (e.g. 0.3,0.4,0.1,0.2). "
                   "Default: 0.4,0.2,0.15,0.25.")
@click.option("--real-video/--no-real-video", default=True, show_default=True,
              help="Tracker-like box jitter, rotation to 45 degrees, motion blur, noise, compression.")
@click.option("--person-weight", default=0.1, show_default=True, help="Weight of the presence and in-picture loss.")
@click.option("--holdout", default=500, show_default=True, type=click.IntRange(min=0),
              help="Last LSP-extended images held out of training: the validation split.")
@click.option("--cache-size", default=224, show_default=True, type=click.IntRange(min=32),
              help="Side of the cached training crops (px; kept in ./cache, reused by later runs).")
@click.option("--max-images", type=click.IntRange(min=1), default=None, help="Train on a subset of this many images.")
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
    """Train the cascade in phases: stage 1; per refiner, its error bank and its training; the fits. On an
    existing --out it resumes at the first phase not done (recorded in OUT/checkpoint.pt).

    With no options this reproduces the shipped model's last fine-tune: the settings of its recipe,
    recipes/deeppose_lsp.json, win over the defaults shown below (which hold only for what a recipe leaves out).
    --tiny: a seconds-long configuration for tests, without the recipe; options given with it still win."""
    if tiny and recipe:
        raise click.UsageError("--tiny and --recipe: --tiny trains without a recipe; give one of them")
    settings, origin = _train_settings(ctx, options, recipe, tiny)
    missing_start = settings.pop("_recipe_start_missing", None)
    cfg = _train_config(settings, origin)
    out = cfg.out
    if cfg.refit and not os.path.isfile(os.path.join(out, "checkpoint.pt")):
        raise click.UsageError(f"--refit: no finished run in {out} (its checkpoint.pt)")
    from pose_track.engines.outputs import OutputConflict, note_own_output, refuse_replacing_others
    from pose_track.training.datasets import dataset_folders
    from pose_track.training.run_folder import ONNX, made_before_lists, run_files

    written = run_files(out, cfg.architecture.num_stages, export)
    folders = [os.path.join(out, "")] + ([os.path.join(out, ONNX, "")] if export else [])
    check_outputs([("--out", p) for p in folders + written],
                  inputs=[*(cfg.init_from or ()), cfg.clean_labels, cfg.teacher, *dataset_folders(cfg.data)])
    if missing_start and not os.path.isfile(os.path.join(out, "checkpoint.pt")):    # a resume needs no start
        raise click.ClickException(missing_start)
    from pose_track.commands.engines import require_train_extra

    require_train_extra("train", ("torch", "onnx") if export else ("torch",))
    for p in written:
        if os.path.isdir(p) or os.path.isfile(os.path.dirname(p)):
            what = f"{p} is a folder" if os.path.isdir(p) else f"{os.path.dirname(p)} is a file"
            raise OutputConflict(f"--out: train writes {p}, but {what}: move it, or give another --out")
    before_lists = made_before_lists(out)
    if not before_lists:
        # By name: a run interrupted while it rewrote history.json or curves.png resumes.
        refuse_replacing_others([("--out", p) for p in written], by_name=True)
    from pose_track.commands.model import make_output_folder

    made = make_output_folder(out, "--out")
    if before_lists:        # its files, its bundle's too (a run without --export), are the run's from now on
        for p in run_files(out, cfg.architecture.num_stages):
            if os.path.isfile(p):
                note_own_output(p)
    from pose_track.engines.checkpoint import CheckpointError
    from pose_track.training.datasets import DatasetError
    from pose_track.training.train import train as run_training

    try:
        path = _run_with_bar(lambda bars: run_training(cfg, progress=bars, log=lambda m: click.echo(m, err=True)))
    except BaseException as exc:
        remove_if_empty(made)               # nothing trained: no folder left behind
        if isinstance(exc, (DatasetError, CheckpointError)):
            raise click.ClickException(str(exc)) from None
        if isinstance(exc, OSError):
            raise click.ClickException(f"training stopped: {_os_error(exc)}") from None
        raise
    click.echo(f"checkpoint: {path}")
    if export:
        from pose_track.engines.export import ExportError, export_bundle

        try:
            bundle = export_bundle(path, os.path.join(out, ONNX))
        except (ExportError, CheckpointError, OSError) as exc:
            why = _os_error(exc) if isinstance(exc, OSError) else str(exc)
            raise click.ClickException(f"the ONNX Runtime bundle was not written: {why}") from None
        finally:
            for p in written:
                if os.path.isfile(p):
                    note_own_output(p)
        click.echo(f"ONNX Runtime bundle: {bundle}")


def _os_error(exc: OSError) -> str:
    """An OSError in one line: the file and the reason, where it names them."""
    if exc.filename and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


DEFAULT_RECIPE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recipes", "deeppose_lsp.json")


def _train_settings(ctx, options: dict, recipe: str | None, tiny: bool) -> tuple:
    """(settings, origin): the option values by precedence, given on the command line > --tiny > the recipe >
    the options' defaults; and where each value given on the command line, by --tiny or in the recipe came from
    (the option, --tiny, or the recipe and its key): for messages, and to tell a None it sets from one not given."""
    import json

    from click.core import ParameterSource

    given = {k for k in options if ctx.get_parameter_source(k) in (ParameterSource.COMMANDLINE,
                                                                   ParameterSource.ENVIRONMENT)}
    settings, origin = dict(options), {}
    if tiny:
        from pose_track.training.settings import TINY
        settings.update(TINY)
        origin.update({k: "--tiny" for k in TINY})
    else:
        path = recipe or (DEFAULT_RECIPE if os.path.isfile(DEFAULT_RECIPE) else None)
        if path is None:
            click.echo(f"the shipped recipe ({DEFAULT_RECIPE}) is not installed: training with the defaults shown in "
                       "`pose-track train --help`; from a clone, `pip install -e .` trains the shipped model's recipe",
                       err=True)
        if path:
            try:
                with open(path) as f:
                    from_recipe = json.load(f)
            except (OSError, ValueError) as exc:
                raise click.UsageError(f"cannot read the recipe {path}: {exc}") from None
            if not isinstance(from_recipe, dict):
                raise click.UsageError(f"{path}: a recipe is a JSON object of settings, like {{\"epochs\": 16}}")
            from pose_track.training.settings import setting_names
            unknown = sorted(set(from_recipe) - set(setting_names()) - {"command"})
            if unknown:
                raise click.UsageError(f"{path}: unknown settings {', '.join(unknown)}")
            # A recipe says how to train, not where the run writes: one someone hands over must not choose that.
            if "out" in from_recipe:
                raise click.UsageError(f"{path}: a recipe does not say where the run writes (out): give --out")
            cache = from_recipe.get("cache_dir")
            if cache is not None and (not isinstance(cache, str) or os.path.isabs(cache)
                                      or ".." in cache.replace("\\", "/").split("/")):
                raise click.UsageError(f"{path}: a recipe's cache_dir is null or a folder under the working folder, "
                                       f"not {cache!r}")
            command = from_recipe.pop("command", None)
            starts = from_recipe.get("init_from")
            starts = [starts] if isinstance(starts, str) else starts
            base = os.path.dirname(os.path.dirname(os.path.abspath(path)))    # a recipe's paths: from the repository

            def from_repository(p: str) -> str:
                return p if os.path.isabs(p) else os.path.join(base, p)

            teacher = from_recipe.get("teacher")
            # Anything but paths is refused with the other settings' values.
            if isinstance(teacher, str) and teacher:
                from_recipe["teacher"] = from_repository(teacher)
            if isinstance(starts, list) and all(isinstance(p, str) and p for p in starts):
                from_recipe["init_from"] = [from_repository(p) for p in starts]
                missing = [p for p in from_recipe["init_from"] if not os.path.exists(p)]
                if missing and "init_from" not in given:
                    settings["_recipe_start_missing"] = (
                        f"the recipe {path} starts from {missing[0]}, which is not there yet"
                        + (f": its whole command is `{command}`" if command else ""))
            settings.update(from_recipe)
            origin.update({k: f"{path}: {k}" for k in from_recipe})
    settings.update({k: options[k] for k in given})
    options_of = {p.name: p.opts[0] for p in ctx.command.params}
    origin.update({k: options_of[k] for k in given})
    return settings, origin


def _train_config(settings: dict, origin: dict):
    """The run's TrainConfig; a value it cannot take is refused in one line naming its option or recipe key."""
    from pose_track.training.settings import SettingError, TrainConfig, shown

    try:
        # None is an option not given, except where --tiny or a recipe sets it (cache_dir: no crop cache).
        return TrainConfig.from_settings({k: v for k, v in settings.items() if v is not None or k in origin})
    except SettingError as exc:
        raise click.UsageError(f"{origin.get(exc.key, exc.key)} takes {exc.allowed}, not {shown(exc.value)}") from None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


class _PhaseBars:
    """One click progress bar per training phase."""

    def __init__(self):
        self.bar = None

    def start(self, label: str, total: int):
        from pose_track.commands.progress import progress_bar

        self.finish()
        self.bar = progress_bar(total, label, show_pos=True)

    def __call__(self, n: int = 1):
        if self.bar is not None:
            self.bar.update(n)

    def finish(self):
        if self.bar is not None:
            self.bar.render_finish()
            self.bar = None


def _run_with_bar(run):
    """run(progress) with one progress bar per training phase."""
    bars = _PhaseBars()
    try:
        return run(bars)
    finally:
        bars.finish()


def _register_package_commands():
    from pose_track.commands.video import video, webcam

    from pose_track.commands.bench import bench, bench_tracking
    from pose_track.commands.demo import demo
    from pose_track.commands.engines import build_engine
    from pose_track.commands.evaluate import eval_framing, evaluate
    from pose_track.commands.images import images

    for command in (video, webcam, images, evaluate, eval_framing, demo, build_engine, bench, bench_tracking):
        cli.add_command(command)


try:
    _register_package_commands()
finally:
    if _sigint is signal.default_int_handler:
        signal.signal(signal.SIGINT, _sigint)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (`timeout`, `kill`, a closed terminal, a container stopping): the run ends as on Ctrl-C,
    every output closed under its name with what was processed, and exits 128 + the signal's number."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_TERMINATION = ("SIGTERM", "SIGHUP")
_terminated: list = []      # the signal that ended the run, once one has


def _terminate(signum, frame):
    # Later ones are ignored: `timeout` signals the process and then its group, a shell re-sends SIGHUP, and a
    # second Terminated would cut the closing of the outputs short.
    for name in _TERMINATION:
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    _terminated.append(signum)
    raise Terminated(signum)


def _stop_on_termination() -> None:
    """SIGTERM and SIGHUP raise Terminated, where the process would otherwise die with its outputs half-written
    under their partial names. A signal the parent set to be ignored (`nohup`) stays ignored."""
    for name in _TERMINATION:
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _terminate)


def _run_cli() -> int:
    try:
        code = cli.main(standalone_mode=False)
    except click.ClickException as exc:
        if _terminated:
            return 0
        exc.show()
        code = exc.exit_code
    except click.Abort as exc:
        if _terminated:
            return 0
        interrupted = isinstance(exc.__cause__, KeyboardInterrupt)
        tell("interrupted" if interrupted else "Aborted!")
        code = 130 if interrupted else 1
    except KeyboardInterrupt:
        if _terminated:
            return 0
        tell("\ninterrupted")
        code = 130
    except OSError:
        if not _terminated:     # writing to a terminal that hung up, while the run was closing its outputs
            raise
        return 0
    return code if isinstance(code, int) else 0


def main():
    """The `pose-track` entry point: click's, except that Ctrl-C exits 130 (128 + SIGINT), and SIGTERM or SIGHUP
    128 + their number, quietly, every output kept."""
    try:
        _stop_on_termination()
    except ValueError:      # not the main thread
        pass
    # A file name that is not UTF-8 text (engines.opencv_files) goes to stdout as the bytes it is made of, as
    # `ls` writes it, whatever the locale's encoding would refuse.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="surrogateescape")
    code = _run_cli()
    if _terminated:
        signum = _terminated[0]
        tell(f"\nterminated ({signal.Signals(signum).name})")
        code = 128 + signum
    sys.exit(code)


if __name__ == "__main__":
    main()
