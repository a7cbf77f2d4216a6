"""Single-image pose estimation over a folder: the whole image is the first person box (then engines.recrop's
passes), one CSV row per image."""
from __future__ import annotations

import csv
import math
import os
import time

from engines.geometry import whole_image_box
from engines.recrop import MAX_PASSES, predict_recropped
from .capture import ImageFolderSource
from .render import draw_pose
from .sinks import SinkError, csv_header, csv_row, open_output


def process_images(folder, cascade, csv_path, render_dir=None, progress=None, recrop: bool = True) -> dict:
    """Returns {'images': n, 'skipped': [names], 'model_s': seconds in the cascade, 'passes': cascade runs}.
    Rows flush per image. `recrop`: run again on the box around the answer (engines.recrop), else one pass."""
    source = ImageFolderSource(folder)
    if render_dir:
        try:
            os.makedirs(render_dir, exist_ok=True)
        except OSError as exc:
            raise SinkError(f"cannot write renders to {render_dir}: {exc.strerror or exc}") from None
    f, owned = open_output(csv_path, "CSV")
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(csv_header())
    model_s, count, passes = 0.0, 0, 0
    try:
        for frame in source.frames():
            box = whole_image_box(*frame.image.shape[:2])
            t0 = time.perf_counter()
            result, _, n = predict_recropped(cascade, frame.image, box, max_passes=MAX_PASSES if recrop else 1)
            model_s += time.perf_counter() - t0
            passes += n
            writer.writerow(csv_row(frame.source_name, frame.index, math.nan, result.joints[0], result.confidence[0]))
            f.flush()
            if render_dir:
                out = draw_pose(frame.image, result.joints[0], result.confidence[0])
                cv2_write(os.path.join(render_dir, os.path.splitext(frame.source_name)[0] + ".jpg"), out)
            count += 1
            if progress:
                progress(1)
    finally:
        if owned:
            f.close()
    return {"images": count, "skipped": list(source.skipped), "model_s": model_s, "total": len(source.files),
            "passes": passes}


def cv2_write(path, image):
    import cv2
    if not cv2.imwrite(path, image):
        raise SinkError(f"cannot write {path}")
