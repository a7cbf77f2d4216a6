"""The model a command runs: a PoseEstimator over a bundle, a checkpoint, or the shipped default; any failure to
load it is one line for the user."""
from __future__ import annotations

import click

# The most CPU threads an option takes: more than any machine's cores is a typo, not a choice (100000 threads
# took 16 GB and ran for minutes before a frame).
MAX_THREADS = 1024


class FiniteFloatRange(click.FloatRange):
    """click.FloatRange that also refuses NaN (which passes every comparison of a plain range)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


def load_estimator(engine=None, stills: bool = False, recrop: bool = True, pictures: bool | None = None, **options):
    """engine: a bundle folder or a checkpoint file; None: the shipped bundle (`stills`: its mirror-view build,
    the default of every command on still pictures). `pictures` (default: `stills`): the estimator answers still
    pictures, whatever the bundle: it searches the picture's windows where the whole picture reads as nobody and
    looks past a crop that cut the legs (engines.estimator). recrop False: one pass on the first box."""
    pictures = stills if pictures is None else pictures
    try:
        from pose_track.engines.estimator import MAX_PASSES, PoseEstimator
    except ImportError as e:
        raise click.ClickException(f"the model runtime is not available ({e})") from None
    try:
        from pose_track.engines.torch_backend import load_any_cascade

        cascade = load_any_cascade(engine, stills=stills, **options)
    except Exception as e:  # noqa: BLE001 - any load failure becomes one line for the user
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise click.ClickException(f"cannot load the model: {msg}") from None
    _say_untrained_stages(cascade)
    if not cascade.config.architecture.person_head:
        click.echo("this model has no presence output: every box is taken to hold a person and every joint "
                   "inside the image to be in the picture (a model trained with --person-head says both)", err=True)
    search = None
    if pictures and cascade.config.architecture.person_head:
        from functools import partial

        from pose_track.tracker.person_finder import search_picture

        search = partial(search_picture, cascade)
    return PoseEstimator(cascade=cascade, max_passes=MAX_PASSES if recrop else 1, search=search, look_past_crop=pictures)


def _say_untrained_stages(cascade) -> None:
    """One line on stderr where the run that wrote the model stopped before training all the stages it runs."""
    backend = getattr(cascade, "backend", None)
    trained = getattr(backend, "trained_stages", None)
    if trained is None and getattr(backend, "manifest", None):
        trained = backend.manifest.get("trained_stages")
    stages = getattr(cascade, "num_stages", None)
    if trained is not None and stages is not None and int(trained) < stages:
        click.echo(f"this model's training stopped after stage {int(trained)} of {stages}: stages {int(trained) + 1}-"
                   f"{stages} hold the weights its run started from (resume the run with `pose-track train` to train "
                   "them)", err=True)


engine_option = click.option("--engine", type=click.Path(), default=None,
                             help="A built engine bundle (default: the shipped model on ONNX Runtime, CPU).")
stills_engine_option = click.option(
    "--engine", type=click.Path(), default=None,
    help="A built engine bundle (default: the shipped model's mirror-view build, models/deeppose_lsp/onnx_mirror, "
         "on ONNX Runtime, CPU).")
checkpoint_option = click.option("--checkpoint", type=click.Path(), default=None,
                                 help="Run a torch checkpoint directly (needs the train extra).")


def one_model(engine, checkpoint):
    """The model of a command taking --engine and --checkpoint: one of them (or neither: the shipped one)."""
    if engine and checkpoint:
        raise click.UsageError("--engine and --checkpoint: give one model")
    return checkpoint or engine
_gpu_options = [
    click.option("--cuda", is_flag=True,
                 help="Run the model on the GPU: a torch checkpoint (--engine FILE.pt) on CUDA, or an ONNX Runtime "
                      "bundle on its CUDA provider (needs onnxruntime-gpu). A TensorRT bundle always runs on the GPU."),
    click.option("--half", is_flag=True, help="With --cuda: a torch checkpoint in fp16."),
    click.option("--cuda-graphs", is_flag=True,
                 help="With --cuda: a torch checkpoint's stages replayed as CUDA graphs (the fastest torch path)."),
]


def gpu_options(f):
    """--cuda, --half, --cuda-graphs; the command passes them to `device_options`."""
    for opt in reversed(_gpu_options):
        f = opt(f)
    return f


def device_options(cuda: bool, half: bool = False, cuda_graphs: bool = False) -> dict:
    """The backend options of --cuda, --half and --cuda-graphs (none: the CPU)."""
    if (half or cuda_graphs) and not cuda:
        raise click.ClickException("--half and --cuda-graphs run the model on the GPU: add --cuda")
    if not cuda:
        return {}
    return {"device": "cuda", **({"half": True} if half else {}), **({"cuda_graphs": True} if cuda_graphs else {})}


recrop_option = click.option("--recrop/--no-recrop", default=True, show_default=True,
                             help="Run again on the box around the answer while it moves (up to 3 passes): a person "
                                  "who fills only part of the picture is found at a useful size.")


def decoding(cfg) -> str:
    """How the model decodes its heatmaps, for report headers."""
    d = cfg.decoding
    parts = [name for name, on in (("stage 1 flip-averaged", d.stage1_flip),
                                   ("refiners flip-averaged", d.refiner_flip),
                                   (f"peak window {d.decode_window}", d.decode_window)) if on]
    return "".join(f", {p}" for p in parts)


def make_output_folder(folder, option: str) -> list:
    """Make `folder` and its missing parents, or say in one line naming `option` why it cannot be made (leaving
    none of them). The folders made, deepest first, for `remove_if_empty`."""
    import os

    from pose_track.engines.outputs import folders_to_make, remove_if_empty

    made = folders_to_make(folder)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        remove_if_empty(made)
        raise click.ClickException(f"cannot make {option} {folder}: {exc.strerror or exc}") from None
    return made


def require_writable(**outputs) -> None:
    """Before any work: each given output (option name -> path) can be written, else one line naming it."""
    from pose_track.tracker.sinks import SinkError, check_writable

    for option, path in outputs.items():
        if path and path != "-":
            try:
                check_writable(str(path), f"--{option.replace('_', '-')}")
            except SinkError as exc:
                raise click.ClickException(str(exc)) from None
