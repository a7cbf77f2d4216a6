"""pose-track: the command-line interface. Thin: parses options, builds objects, calls into the packages."""
from __future__ import annotations

import dataclasses
import os
import sys

import click

HERE = os.path.dirname(os.path.abspath(__file__))


@click.group()
@click.version_option(package_name="pose-track")
def cli():
    """DeepPose real-time pose tracking: train, evaluate, build engines, track videos and cameras."""


@cli.command()
@click.option("--data", default="../shared/data", show_default=True, type=click.Path(),
              help="Folder holding lsp/ and lspet/ (or an lsp folder).")
@click.option("--out", default="runs/main", show_default=True, help="Run folder: checkpoint.pt, curves.png.")
@click.option("--epochs", default=12.0, show_default=True, help="Stage-1 passes over the training set.")
@click.option("--refiner-epochs", default=3.0, show_default=True, help="Passes per refinement stage.")
@click.option("--batch-size", default=32, show_default=True)
@click.option("--lr", default=2e-3, show_default=True)
@click.option("--loss", type=click.Choice(["l1", "l2"]), default="l1", show_default=True)
@click.option("--head", "stage1_head", type=click.Choice(["integral", "fc", "grid"]), default="integral",
              show_default=True, help="Stage-1 head: soft-argmax heatmaps, or the paper's fully connected kind.")
@click.option("--input-size", "stage1_input", default=128, show_default=True, help="Stage-1 crop side (px).")
@click.option("--refiner-input", default=48, show_default=True, help="Refiner crop side (px).")
@click.option("--sigma", default=2.0, show_default=True, help="Refiner crop side in torso diameters.")
@click.option("--stages", "num_stages", default=3, show_default=True, help="Cascade stages S.")
@click.option("--max-images", type=int, default=None, help="Train on a subset of this many images.")
@click.option("--tiny", is_flag=True, help="A seconds-long configuration for tests.")
@click.option("--export/--no-export", default=True, show_default=True,
              help="Write the ONNX Runtime bundle next to the checkpoint when training ends.")
def train(tiny, export, **options):
    """Train the cascade (stage 1, then each refiner); resumes from OUT/checkpoint.pt."""
    from training.datasets import DatasetError
    from training.train import TINY, TrainConfig, Trainer

    values = {k: v for k, v in options.items() if v is not None}
    if tiny:
        values.update({k: v for k, v in TINY.items() if k not in ("max_images",) or options["max_images"] is None})
    cfg = TrainConfig(**values)
    try:
        trainer = Trainer(cfg, progress=None, log=lambda m: click.echo(m, err=True))
        path = _run_with_bar(trainer)
    except DatasetError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"checkpoint: {path}")
    if export:
        from engines.export import export_bundle
        bundle = export_bundle(path, os.path.join(cfg.out, "onnx"))
        click.echo(f"ONNX Runtime bundle: {bundle}")


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


def main():
    cli()


if __name__ == "__main__":
    main()
