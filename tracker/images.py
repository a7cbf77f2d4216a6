"""Single-image pose estimation over a folder: the whole image is the first person box (then engines.recrop's
passes), one CSV row per image.

The CSV is written like tracker.sinks' (under a partial name, moved onto its name at the end, also after an
error or Ctrl-C): everything processed before a fault is kept; a run that processed nothing leaves no file.
Each annotated image appears whole or not at all."""
from __future__ import annotations

import csv
import math
import os
import time

from pose_track.engines.geometry import whole_image_box
from pose_track.engines.outputs import check_outputs, partial_path
from pose_track.engines.recrop import MAX_PASSES, predict_recropped
from .capture import ImageFolderSource
from .render import draw_pose
from .sinks import OutputFile, SinkError, csv_header, csv_row


def refuse_overwriting_inputs(folder, csv_path, render_dir=None, model=None) -> None:
    """engines.outputs.check_outputs for `pose-track images`: neither --csv nor an annotated copy in --render
    may land on an image of `folder` (or on the model, `model`), nor --render be that folder."""
    files = ImageFolderSource(folder).files
    outputs = [("--csv", csv_path)]
    if render_dir:
        outputs.append(("--render", os.path.join(render_dir, "")))
        outputs += [("--render", render_path(render_dir, f.name)) for f in files]
    check_outputs(outputs, inputs=[*files, model], input_folders=[folder])


def process_images(folder, cascade, csv_path, render_dir=None, progress=None, recrop: bool = True) -> dict:
    """Returns {'images': n, 'skipped': [names], 'model_s': seconds in the cascade, 'passes': cascade runs}.
    Rows flush per image. `recrop`: run again on the box around the answer (engines.recrop), else one pass."""
    source = ImageFolderSource(folder)
    if render_dir:
        try:
            os.makedirs(render_dir, exist_ok=True)
        except OSError as exc:
            raise SinkError(f"cannot write renders to {render_dir}: {exc.strerror or exc}") from None
    table = OutputFile(csv_path, "CSV")
    writer = csv.writer(table.stream, lineterminator="\n")
    writer.writerow(csv_header())
    model_s, count, rows, passes = 0.0, 0, 0, 0
    try:
        for frame in source.frames():
            box = whole_image_box(*frame.image.shape[:2])
            t0 = time.perf_counter()
            result, _, n = predict_recropped(cascade, frame.image, box, max_passes=MAX_PASSES if recrop else 1)
            model_s += time.perf_counter() - t0
            passes += n
            joints, conf = (a[0] for a in result.reported())      # empty cells: not in the picture, nobody
            writer.writerow(csv_row(frame.source_name, frame.index, math.nan, joints, conf))
            table.stream.flush()
            rows += 1
            if render_dir:
                drawn = draw_pose(frame.image, joints, conf)
                cv2_write(render_path(render_dir, frame.source_name), drawn)
            count += 1
            if progress:
                progress(1)
    finally:
        table.close(keep=rows > 0)
    return {"images": count, "skipped": list(source.skipped), "model_s": model_s, "total": len(source.files),
            "passes": passes}


def render_path(render_dir, image_name: str) -> str:
    """Where the annotated copy of an image goes."""
    return os.path.join(render_dir, os.path.splitext(image_name)[0] + ".jpg")


def cv2_write(path, image):
    import cv2

    tmp = partial_path(path)
    try:
        if not cv2.imwrite(tmp, image):
            raise SinkError(f"cannot write {path}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
