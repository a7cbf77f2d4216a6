"""Progress reporting of a training run: `progress(n)` counts work done; one with a `start(label, total)` method
(the command line's bars) is also told when each piece of work begins and how long it is."""
from __future__ import annotations


def start_bar(progress, label: str, total: int):
    if progress is not None and hasattr(progress, "start"):
        progress.start(label, total)
