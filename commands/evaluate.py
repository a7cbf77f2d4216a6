"""The `eval` and `eval-framing` commands: accuracy on LSP test, and the framing checks (pictures with nobody
in them, waist-up people), every picture through the PoseEstimator as `images` runs it."""
from __future__ import annotations

import os

import click

from pose_track.engines.outputs import check_outputs, note_own_output, refuse_replacing_others, write_text

from .model import (FiniteFloatRange, checkpoint_option, decoding, device_options, gpu_options, load_estimator,
                    one_model, recrop_option, require_writable, stills_engine_option)
from .progress import progress_bar

MAX_PAD = 10.0      # an LSP picture on a canvas 10 times its size: about 6000 px a side, 100 MB


@click.command("eval")
@click.option("--data", default="../shared/data/lsp", show_default=True, type=click.Path(),
              help="The LSP folder (images/ + joints.mat); the test split im1001-im2000 is used.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N test images.")
@recrop_option
@click.option("--pad", default=1.0, show_default=True, type=FiniteFloatRange(min=1.0, max=MAX_PAD),
              help="Centre each image on a black canvas this many times its size (a smaller person).")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False), default=None,
              help="Also write each image's joints here, in the CSV schema of `images`.")
@stills_engine_option
@checkpoint_option
@gpu_options
def evaluate(data, limit, recrop, pad, csv_out, engine, checkpoint, cuda, half, cuda_graphs):
    """PCK@0.2, strict/loose PCP@0.5 and PDJ@0.2 per stage on LSP test, with the paper's rows."""
    options = device_options(cuda, half, cuda_graphs)
    from pose_track.engines.joints import JOINT_NAMES
    from pose_track.training.datasets import DatasetError, lsp_test, resolve_data_root
    from pose_track.training.evaluate import predict_set
    from pose_track.training.metrics import evaluate as metrics, format_report

    check_outputs([("--csv", csv_out)], inputs=[data, checkpoint, engine])
    require_writable(csv=csv_out)
    from pose_track.engines.outputs import is_stdout
    from pose_track.tracker.sinks import SinkError, StopRequested, check_writable, write_pose_rows

    table_to_stderr = csv_out is not None and (csv_out == "-" or is_stdout(csv_out))    # stdout holds the CSV
    try:
        if table_to_stderr:
            check_writable("-", "CSV")          # stdout closed (`>&-`): said before any work
        lsp_root, _ = resolve_data_root(data)
        test = lsp_test(lsp_root)
        estimator = load_estimator(one_model(engine, checkpoint), stills=True, recrop=recrop, **options)
        if not len(test):
            raise DatasetError(f"{lsp_root} holds none of LSP's test images (im1001-im2000)")
        if limit:
            test = test.subset(range(min(limit, len(test))))
        with progress_bar(len(test), "LSP test") as bar:
            passes, poses = [], []
            per_stage = predict_set(estimator, test, progress=bar.update, pad=pad, passes=passes, poses=poses)
    except (DatasetError, SinkError) as exc:
        raise click.ClickException(str(exc))
    results = [metrics(p, test.joints, test.valid) for p in per_stage]
    click.echo(f"LSP test, {len(test)} images, whole image as the first person box"
               + (f" (padded {pad:g}x)" if pad > 1 else "") + decoding(estimator.config)
               + (f", recropped ({sum(passes) / max(len(passes), 1):.2f} passes per image)" if recrop
                  else ", one pass"), err=table_to_stderr)
    click.echo(format_report(results, JOINT_NAMES), err=table_to_stderr)
    if csv_out:
        try:
            write_pose_rows(csv_out, [(os.path.basename(path), i, float("nan"), joints, conf)
                                      for i, (path, (joints, conf)) in enumerate(zip(test.paths, poses))])
        except StopRequested:               # `--csv - | head`: the reader has what it wanted
            pass
        except SinkError as exc:
            raise click.ClickException(str(exc))


# Sports2D's demo: the left part of its last frames, after the walker has left (checked by eye).
VIDEO_PERSON_FREE = ("real/sports2d_demo.mp4", range(212, 230, 2), (120, 60, 760))


@click.command("eval-framing")
@click.option("--data", default="../shared/data", show_default=True, type=click.Path(),
              help="Folder holding lsp/, lspet/ and real/.")
@click.option("--holdout", type=click.IntRange(min=1), default=500, show_default=True,
              help="The held-out LSP-extended images (train's --holdout).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N LSP test images.")
@click.option("--sets", "sets_dir", type=click.Path(file_okay=False), default=None,
              help="Also write the person-free, waist-up and chest-up pictures here, to look at.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Also write the numbers here.")
@stills_engine_option
@checkpoint_option
@gpu_options
def eval_framing(data, holdout, limit, sets_dir, json_out, engine, checkpoint, cuda, half, cuda_graphs):
    """Pictures with nobody in them, LSP test people, LSP test people cut below the hips (waist-up) and framed
    from the chest up."""
    import json

    options = device_options(cuda, half, cuda_graphs)
    check_outputs([("--json", json_out), ("--sets", sets_dir and os.path.join(sets_dir, ""))],
                  inputs=[data, checkpoint, engine])
    require_writable(json=json_out)
    from pose_track.training.datasets import DatasetError, load_folder, lsp_test, resolve_data_root
    from pose_track.training.framing_eval import (chest_up, evaluate_framing, person_free_regions, video_regions,
                                                  waist_up)

    try:
        lsp_root, lspet_root = resolve_data_root(data)
        if lspet_root is None:
            raise DatasetError(f"{data} has no lspet/ folder (the held-out images)")
        extended = load_folder(lspet_root)
        if holdout > len(extended):
            raise DatasetError(f"--holdout {holdout}: LSP-extended has {len(extended)} images")
        held_out = extended.subset(range(len(extended) - holdout, len(extended)))
        test = lsp_test(lsp_root)
        if limit:
            test = test.subset(range(min(limit, len(test))))
        video, frames, box = VIDEO_PERSON_FREE
        free = person_free_regions(held_out)
        if os.path.isfile(os.path.join(data, video)):
            free += video_regions(os.path.join(data, video), frames, box)
        cut, chest = waist_up(test), chest_up(test)
    except DatasetError as exc:         # a picture missing or unreadable: one line
        raise click.ClickException(str(exc))
    sets = {"person_free": free, "waist_up": [(f"{i:04d}", c[0]) for i, c in enumerate(cut)],
            "chest_up": [(f"{i:04d}", c[0]) for i, c in enumerate(chest)]}
    truths = {folder: json.dumps([{"name": f"{i:04d}", "joints": c[1].tolist(), "inside": c[2].tolist()}
                                  for i, c in enumerate(people)])
              for folder, people in (("waist_up", cut), ("chest_up", chest))}
    if sets_dir:
        refuse_replacing_others([("--sets", os.path.join(sets_dir, folder, f"{name}.jpg"))
                                 for folder, items in sets.items() for name, _ in items]
                                + [("--sets", os.path.join(sets_dir, folder, "truth.json")) for folder in truths])
    estimator = load_estimator(one_model(engine, checkpoint), stills=True, **options)
    if sets_dir:
        _write_sets(sets_dir, sets, truths)
    with progress_bar(len(free) + len(test) + len(cut) + len(chest), "framing") as bar:
        try:
            r = evaluate_framing(estimator, free, test.paths, cut, progress=bar.update, chest_up_set=chest)
        except DatasetError as exc:
            raise click.ClickException(str(exc))
    click.echo(f"person-free pictures: a pose reported on {r['person_free_pose_reported']} of "
               f"{r['person_free_images']} ({r['person_free_pose_reported'] / max(r['person_free_images'], 1):.1%})")
    click.echo(f"LSP test: a person found on {r['lsp_test_person_found']} of {r['lsp_test_images']} "
               f"({r['lsp_test_person_found'] / max(r['lsp_test_images'], 1):.1%})")
    if r["waist_up_images"]:
        people = "person" if r["waist_up_images"] == 1 else "people"
        click.echo(f"waist-up ({r['waist_up_images']} LSP test {people} cut below the hips): PCK@0.2 of the in-picture "
                   f"joints {r['waist_up_pck']:.3f}, knees and ankles reported inside the picture "
                   f"{r['waist_up_legs_reported_inside']:.1%}")
    else:
        click.echo("waist-up: none of these LSP test people can be cut below the hips (a larger --limit has some)")
    if r["chest_up_images"]:
        people = "person" if r["chest_up_images"] == 1 else "people"
        click.echo(f"chest-up ({r['chest_up_images']} LSP test {people} framed from above the head to mid-torso, "
                   f"4:3): a person found on {r['chest_up_person_found']}, PCK@0.2 of the in-picture joints "
                   f"{r['chest_up_pck']:.3f}, hips reported inside the picture "
                   f"{r['chest_up_hips_reported_inside']:.1%}")
    else:
        click.echo("chest-up: none of these LSP test people can be framed from the chest up (a larger --limit "
                   "has some)")
    if json_out:
        write_text(json_out, json.dumps(r, indent=1))


def _write_sets(sets_dir, sets: dict, truths: dict) -> None:
    """SETS/<set>/<name>.jpg and SETS/<set>/truth.json for the sets in `truths`, each listed as pose-track's own
    once written."""
    from pose_track.tracker.sinks import SinkError

    from .images import cv2_write

    try:
        for folder, items in sets.items():
            os.makedirs(os.path.join(sets_dir, folder), exist_ok=True)
            for name, image in items:
                path = os.path.join(sets_dir, folder, f"{name}.jpg")
                cv2_write(path, image)
                note_own_output(path)
        for folder, truth in truths.items():
            path = os.path.join(sets_dir, folder, "truth.json")
            write_text(path, truth)
            note_own_output(path)
    except SinkError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write --sets {sets_dir}: {exc.strerror or exc}") from None

