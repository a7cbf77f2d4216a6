"""Progress of long work on stderr: click's bar on a terminal; elsewhere (a log file, a pipe, `nohup`) a line
every LINE_EVERY_S seconds, where a bar would show only its label until the end."""
from __future__ import annotations

import sys
import time

import click

LINE_EVERY_S = 10.0


def progress_bar(length: int, label: str, **bar_options):
    """click.progressbar(length, label, file=sys.stderr, **bar_options) on a terminal, else ProgressLines."""
    if _on_terminal():
        return click.progressbar(length=length, label=label, file=sys.stderr, **bar_options)
    return ProgressLines(length, label, bar_options.get("item_show_func"), every_s=LINE_EVERY_S)


def tell(line: str) -> bool:
    """A line on stderr, dropped where whoever read stderr has left (`2>&1 | head`, a terminal gone after a hangup:
    EIO): the work goes on. Whether it was said."""
    try:
        click.echo(line, err=True)
    except OSError:
        return False
    return True


def _on_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):        # closed, or replaced by an object without a file
        return False


class ProgressLines:
    """The bar's interface (a context manager; `update(n, current_item)`, `render_finish()`) as lines: the label
    when work starts, then `label: 120 of 230 (52 %), <item>` at most every `every_s` seconds."""

    def __init__(self, length: int, label: str, item_show_func=None, every_s: float = LINE_EVERY_S,
                 clock=time.monotonic):
        self.length, self.label, self.item_show_func = length, label, item_show_func
        self.every_s, self.clock = every_s, clock
        self.pos = 0
        self._last = None

    def __enter__(self):
        self._start()
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def _start(self) -> None:
        if self._last is None:
            self._last = self.clock()
            self._say(self.label)

    def _say(self, line: str) -> None:
        if not tell(line):          # whoever read stderr left: the work goes on, unreported
            self.every_s = float("inf")

    def update(self, n: int, current_item=None) -> None:
        self._start()
        self.pos += n
        now = self.clock()
        if now - self._last < self.every_s:
            return
        self._last = now
        done = f"{self.pos} of {self.length} ({100 * self.pos // self.length} %)" if self.length else str(self.pos)
        item = self.item_show_func(current_item) if self.item_show_func and current_item is not None else None
        self._say(f"{self.label}: {done}" + (f", {item}" if item else ""))

    def render_finish(self) -> None:
        pass
