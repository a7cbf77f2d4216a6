"""`pose-track images`: the PoseEstimator's answer for each image of a folder, one CSV row per image.

The CSV is a tracker.sinks.CsvSink (under a partial name, moved onto its name at the end, also after an error,
a full disk or Ctrl-C): everything processed before a fault is kept; a run that processed nothing leaves no
file; a reader of stdout that leaves (`--csv - | head`) ends the run quietly. Each annotated image appears whole
or not at all."""
from __future__ import annotations

import math
import os
import time

import click

from pose_track.engines.opencv_files import write_picture
from pose_track.engines.outputs import (OutputConflict, check_outputs, folders_to_make, is_stdout, note_own_output,
                                        partial_path, refuse_replacing_others, remove_if_empty)
from pose_track.tracker.capture import VIDEO_EXTS, CaptureError, ImageFolderSource, unreadable_images
from pose_track.tracker.render import draw_pose
from pose_track.tracker.sinks import CsvSink, SinkError, StopRequested, check_writable, csv_row

from .model import (checkpoint_option, device_options, gpu_options, load_estimator, one_model, recrop_option,
                    require_writable, stills_engine_option)
from .progress import progress_bar


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(), metavar="FOLDER|IMAGE...")
@click.option("--csv", "csv_out", required=True, type=click.Path(), help="Output CSV ('-' for stdout).")
@click.option("--render", "render_dir", type=click.Path(), default=None, metavar="DIR",
              help="A folder for the annotated images (JPEGs named after the images).")
@recrop_option
@stills_engine_option
@checkpoint_option
@gpu_options
def images(inputs, csv_out, render_dir, recrop, engine, checkpoint, cuda, half, cuda_graphs):
    """Pose of the person in each image of FOLDER (or in each IMAGE; the whole image is the first box) to the CSV
    schema, one file for all of them, in the order given (a folder's images sorted by name)."""
    options = device_options(cuda, half, cuda_graphs)
    model = one_model(engine, checkpoint)
    try:
        folder, folders = picture_inputs(inputs)
        total = len(ImageFolderSource(folder).files)
        refuse_overwriting_inputs(folder, csv_out, render_dir, model, folders)
        require_writable(csv=csv_out)
        if csv_out == "-":
            check_writable(csv_out, "CSV")      # stdout closed (`>&-`): said before any work
        estimator = load_estimator(model, stills=True, recrop=recrop, **options)
        with progress_bar(total, "images") as bar:
            stats = process_images(folder, estimator, csv_out, render_dir, progress=bar.update)
    except (CaptureError, SinkError) as exc:
        raise click.ClickException(str(exc))
    ms = 1000 * stats["model_s"] / max(stats["looked"], 1)
    passes = stats["passes"] / max(stats["looked"], 1)
    stopped = ", stopped: the reader of the CSV closed it" if stats["stopped"] else ""
    n = stats["images"]
    click.echo(f"{n} image{'' if n == 1 else 's'}, {ms:.1f} ms per image in the model ({passes:.2f} passes per image)"
               f"{stopped}", err=True)
    if stats["skipped"]:
        raise click.ClickException(unreadable_images(stats["skipped"]))


def picture_inputs(inputs) -> tuple:
    """(what ImageFolderSource reads, the folders among the inputs): one input as given; several as the list of
    their pictures, in the order given, a folder's sorted by name."""
    if any(not str(given).strip() for given in inputs):
        raise CaptureError('an empty input name (""): give a picture or a folder of pictures')
    if len(inputs) == 1:
        return inputs[0], [inputs[0]] if os.path.isdir(inputs[0]) else []
    files, folders = [], []
    for given in inputs:
        if not os.path.exists(given):
            raise CaptureError(f"input not found: {given}")
        if os.path.isdir(given):
            folders.append(given)
        files += ImageFolderSource(given).files
    return files, folders


def refuse_overwriting_inputs(folder, csv_path, render_dir=None, model=None, folders=None) -> None:
    """engines.outputs.check_outputs for `pose-track images`: neither --csv nor an annotated copy in --render
    may land on an image of `folder` (a folder, an image, or a list of images; or on the model, `model`), nor
    --render be that folder or one of `folders` (default: `folder`)."""
    files = ImageFolderSource(folder).files
    if render_dir and os.path.splitext(str(render_dir))[1].lower() in VIDEO_EXTS:
        raise OutputConflict(f"--render {render_dir}: images are rendered as pictures into a folder; give a "
                               "folder (for a video of a folder of images: pose-track video FOLDER --render OUT.mp4)")
    if render_dir == "-" or (render_dir and is_stdout(str(render_dir))):
        raise OutputConflict(f"--render {render_dir}: the annotated images go into a folder; give a folder")
    if render_dir and os.path.islink(str(render_dir).rstrip("/")) and not os.path.exists(render_dir):
        raise OutputConflict(f"--render {render_dir} is a link to nothing: give a folder")
    if render_dir and os.path.exists(render_dir) and not os.path.isdir(render_dir):
        raise OutputConflict(f"--render {render_dir} is a file: give a folder for the annotated images")
    outputs = [("--csv", csv_path)]
    renders = [("--render", render_path(render_dir, f.name)) for f in files] if render_dir else []
    if render_dir:
        outputs.append(("--render", os.path.join(render_dir, "")))
    check_outputs(outputs + renders, inputs=[*files, model], input_folders=[folder] if folders is None else folders)
    refuse_replacing_others(renders)


def process_images(folder, estimator, csv_path, render_dir=None, progress=None) -> dict:
    """Returns {'images': rows written, 'skipped': [names], 'model_s': seconds in the estimator, 'looked': pictures
    the estimator ran on, 'passes': their answers' passes (`Pose.passes`: the first box and the closer ones; the
    second opinions and a search's windows are not counted), 'stopped': whether the reader of the CSV (stdout, a pipe)
    left before the end}. Rows flush per image."""
    source = ImageFolderSource(folder)
    made = folders_to_make(render_dir) if render_dir else []
    if render_dir:
        try:
            os.makedirs(render_dir, exist_ok=True)
        except OSError as exc:
            raise SinkError(f"cannot write renders to {render_dir}: {exc.strerror or exc}") from None
    table = CsvSink(csv_path)
    model_s, count, looked, passes, stopped = 0.0, 0, 0, 0, False
    try:
        for frame in source.frames():
            t0 = time.perf_counter()
            pose = estimator(frame.image)
            model_s += time.perf_counter() - t0
            passes += pose.passes
            looked += 1
            joints, conf = pose.joints, pose.confidence     # NaN, an empty cell: not in the picture, or nobody
            try:
                table.write_row(csv_row(frame.source_name, frame.index, math.nan, joints, conf))
            except StopRequested:       # `--csv - | head`: the reader has what it wanted
                stopped = True
                break
            if render_dir:
                drawn = draw_pose(frame.image, joints, conf)
                target = render_path(render_dir, frame.source_name)
                cv2_write(target, drawn)
                note_own_output(target)
            count += 1
            if progress:
                progress(1)
    finally:
        try:
            table.close()                       # the rows written keep the CSV's name, also after a fault
        finally:
            remove_if_empty(made)               # no image was read: no folder left behind
    return {"images": count, "skipped": list(source.skipped), "model_s": model_s, "total": len(source.files),
            "looked": looked, "passes": passes, "stopped": stopped}


def render_path(render_dir, image_name: str) -> str:
    """Where the annotated copy of an image goes: a JPEG named after the image, `.jpg` added to any other
    format's name (a.png -> a.png.jpg), so that a.jpg and a.png of one folder get a copy each."""
    name = os.path.basename(image_name)
    return os.path.join(render_dir, name if name.lower().endswith((".jpg", ".jpeg")) else name + ".jpg")


def cv2_write(path, image):
    tmp = partial_path(path)
    try:
        if not write_picture(tmp, image):
            raise SinkError(f"cannot write {path}")
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise SinkError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
